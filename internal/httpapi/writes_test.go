package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// TestEveryWriteIsAudited makes a sequence of writes and checks that each leaves exactly
// one audit entry per account it changed, and none when it changed nothing.
func TestEveryWriteIsAudited(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		service := api.keys[principal.Service]
		steps := []struct {
			name     string
			req      request
			status   int
			accounts int // accounts added
			audit    int // audit entries added
		}{
			{"put creates", request{method: "PUT", target: "/v1/accounts/a-1", body: validBody}, 201, 1, 1},
			{"put replaces", request{method: "PUT", target: "/v1/accounts/a-1", body: validBody}, 200, 0, 1},
			{"import creates", request{method: "POST", target: "/v1/accounts:import", body: ndjson("b-", 30, "r")}, 200, 30, 30},
			{"import creates and replaces", request{method: "POST", target: "/v1/accounts:import", body: ndjson("b-", 35, "s")}, 200, 5, 35},
			{"refused put", request{method: "PUT", target: "/v1/accounts/a-1", body: with(map[string]any{"locale": "fr"})}, 400, 0, 0},
			{"refused import", request{method: "POST", target: "/v1/accounts:import", body: ndjson("c-", 10, "r") + "{"}, 400, 0, 0},
			{"put with a key", request{method: "PUT", target: "/v1/accounts/a-2", body: validBody, header: withKey("k")}, 201, 1, 1},
			{"replay", request{method: "PUT", target: "/v1/accounts/a-2", body: validBody, header: withKey("k")}, 201, 0, 0},
			{"reads", request{method: "GET", target: "/v1/accounts"}, 200, 0, 0},
		}
		for _, st := range steps {
			before := api.rows(t)
			st.req.key = service
			w := api.do(t, st.req)
			if w.Code != st.status {
				t.Fatalf("%s: status %d, want %d; body: %s", st.name, w.Code, st.status, w.Body)
			}
			after := api.rows(t)
			if got, want := after.accounts-before.accounts, st.accounts; got != want {
				t.Errorf("%s: %d accounts added, want %d", st.name, got, want)
			}
			if got, want := after.audit-before.audit, st.audit; got != want {
				t.Errorf("%s: %d audit entries added, want %d", st.name, got, want)
			}
		}
	})
}

// brokenLog is an audit log that refuses every entry.
type brokenLog struct{ app.AuditStore }

func (brokenLog) Append(context.Context, []*audit.Entry) error {
	return errors.New("audit log: disk full")
}

// TestWriteFailsWithItsAudit checks that a change and its audit entry commit together:
// when the entry cannot be written, neither is the change, nor its idempotency record.
func TestWriteFailsWithItsAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPIWith(t, db, func(st *app.Stores) { st.Audit = brokenLog{st.Audit} })
		before := api.rows(t)
		for _, req := range []request{
			{method: "PUT", target: "/v1/accounts/a-1", body: validBody},
			{method: "PUT", target: "/v1/accounts/a-1", body: validBody, header: withKey("k")},
			{method: "POST", target: "/v1/accounts:import", body: ndjson("b-", 30, "r")},
			{method: "POST", target: "/v1/accounts:import", body: ndjson("b-", 30, "r"), header: withKey("k2")},
		} {
			req.key = api.keys[principal.Service]
			w := api.do(t, req)
			p := wantProblem(t, w, http.StatusInternalServerError, "")
			if strings.Contains(p.Detail, "disk full") || p.RequestID == "" || !strings.Contains(p.Detail, p.RequestID) {
				t.Errorf("an internal error shows its cause or no request ID: %+v", p)
			}
			api.wantRows(t, before)
		}
	})
}
