package httpapi

import (
	"cmp"
	"net/http"
)

// DefaultReadyLag is how many audit entries may wait for the sequencer before /readyz
// says this process is not ready (Deps.ReadyLag): a sequencer that far behind is stuck
// or starved, and checkpoints a witness sees fall behind the writes.
const DefaultReadyLag = 100_000

// opsRoutes are the routes an operator's tooling polls.
func (s *server) opsRoutes() []route {
	return []route{
		{Method: "GET", Path: "/readyz", Public: true,
			Summary: "Answers 200 when this process should take traffic (database answers and takes writes, decision index loaded, audit sequencer within its bound), else 503 saying why.",
			Reply:   readiness{}, handle: s.ready},
	}
}

// readiness is the reply of GET /readyz.
type readiness struct {
	Ready    bool     `json:"ready"`
	Problems []string `json:"problems,omitempty"` // why not, when not
	// AuditPending is how many audit entries wait for the sequencer; absent without one.
	AuditPending *int64 `json:"audit_pending,omitempty"`
	Version      string `json:"version"`
}

// ready answers 200 when this process should take traffic: the database answers and
// takes writes (it was migrated when it was opened), the decision index is loaded, and
// the audit sequencer is no more than ReadyLag entries behind; 503 otherwise, saying why.
func (s *server) ready(r *http.Request) (int, any, error) {
	rd := readiness{Version: s.Version}
	if err := s.Ready(r.Context()); err != nil {
		rd.Problems = append(rd.Problems, "database: "+err.Error())
	} else if s.Sequencer != nil {
		n, err := s.Stores.Audit.CountPending(r.Context())
		if err != nil {
			rd.Problems = append(rd.Problems, "audit log: "+err.Error())
		} else {
			rd.AuditPending = &n
			if n > cmp.Or(s.ReadyLag, DefaultReadyLag) {
				rd.Problems = append(rd.Problems, "the audit sequencer is behind by more than the bound")
			}
		}
	}
	if !s.Loaded() {
		rd.Problems = append(rd.Problems, "the decision index is not loaded")
	}
	if rd.Ready = len(rd.Problems) == 0; !rd.Ready {
		return http.StatusServiceUnavailable, rd, nil
	}
	return http.StatusOK, rd, nil
}
