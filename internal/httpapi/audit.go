package httpapi

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/problem"
)

// The audit log's routes serve what an outside verifier needs, in the formats of
// Certificate Transparency and the Go checksum database: the verifier key and signed
// checkpoints as text (golang.org/x/mod/sumdb/note), entries with their exact leaf bytes,
// and RFC 6962 proofs that github.com/transparency-dev/merkle/proof checks.

var (
	auditors     = []principal.Role{principal.Auditor, principal.Admin}
	auditListing = []param{
		{"start", "integer", "the tree index of the first entry (default 0); not with subject or actor"},
		{"subject", "string", "only entries about this subject, each with its inclusion proof"},
		{"actor", "string", "only entries by this actor (key name), each with its inclusion proof"},
		{"cursor", "string", "the next value of the previous page"},
		{"limit", "integer", "page size: 1 to 1000 (default 100); with subject or actor, 1 to 100 (default 20)"},
	}
	inclusionParams   = []param{{"index", "integer", "the entry's tree index"}, {"size", "integer", "the tree size, at most the latest checkpoint's (default: it)"}}
	consistencyParams = []param{{"from", "integer", "the older tree size, at least 1"}, {"to", "integer", "the newer tree size, at most the latest checkpoint's (default: it)"}}
)

// auditEntry is an entry as served: its tree index, the exact leaf bytes the tree commits
// to, and the fields they encode.
type auditEntry struct {
	Index     int64               `json:"index"`
	Leaf      string              `json:"leaf"` // standard base64 of the leaf bytes
	Time      time.Time           `json:"time"`
	Actor     principal.Principal `json:"actor"`
	Action    string              `json:"action"`
	Subject   string              `json:"subject"`
	RequestID string              `json:"request_id"`                  // Steward's own
	ClientID  string              `json:"client_request_id,omitempty"` // the X-Request-Id the caller sent: a label only
	Fields    []string            `json:"fields"`
	Context   map[string]string   `json:"context,omitempty"` // e.g. a reveal's purpose and ticket
	Digest    string              `json:"digest"`
	Proof     *inclusion          `json:"proof,omitempty"` // in searches: inclusion in the page's checkpoint
}

type auditPage struct {
	Entries    []auditEntry `json:"entries"`
	Size       int64        `json:"size"`       // the size of the checkpoint the page was read under
	Checkpoint string       `json:"checkpoint"` // that checkpoint, signed; empty while the log is empty
	Next       string       `json:"next,omitempty"`
}

type inclusion struct {
	Index  int64    `json:"index"`
	Size   int64    `json:"size"`
	Hashes []string `json:"hashes"` // standard base64, bottom up
}

type consistency struct {
	From   int64    `json:"from"`
	To     int64    `json:"to"`
	Hashes []string `json:"hashes"`
}

func b64s(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h)
	}
	return out
}

// serveText answers text, or the problem err.
func serveText(w http.ResponseWriter, s *server, text []byte, err error) {
	if err != nil {
		problem.Write(w, problem.For(err, w.Header().Get("X-Request-Id"), s.Logger))
		return
	}
	writeBody(w, http.StatusOK, "text/plain; charset=utf-8", text)
}

func (s *server) auditVerifierKey(w http.ResponseWriter, r *http.Request) {
	vkey, err := s.Audit.VerifierKey(r.Context())
	serveText(w, s, []byte(vkey+"\n"), err)
}

func (s *server) auditCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := s.Audit.Checkpoint(r.Context())
	if err != nil {
		serveText(w, s, nil, err)
		return
	}
	serveText(w, s, cp.Note, nil)
}

// intParam returns query parameter name as an integer from lo to hi, or def when absent.
func intParam(q url.Values, name string, def, lo, hi int64) (int64, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, errs.Field(name, "must be an integer from %d to %d", lo, hi)
	}
	return n, nil
}

// Cursors: "i" and the next tree index when listing by index, "a" and the last entry's
// storage ID when searching.
func auditCursor(kind byte, n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(string(kind) + strconv.FormatInt(n, 10)))
}

func parseAuditCursor(c string, kind byte) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(b) > 1 && b[0] == kind {
		if n, err := strconv.ParseInt(string(b[1:]), 10, 64); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, errs.Field("cursor", "is not a cursor this API gave out for this listing")
}

func (s *server) auditEntries(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	f := audit.Filter{Subject: q.Get("subject"), Actor: q.Get("actor")}
	search := f.Subject != "" || f.Actor != ""
	maxLimit, defLimit := int64(1000), int64(100)
	if search {
		maxLimit, defLimit = 100, 20
	}
	limit, err := intParam(q, "limit", defLimit, 1, maxLimit)
	if err != nil {
		return 0, nil, err
	}
	f.Limit = int(limit)
	switch {
	case search && q.Has("start"):
		return 0, nil, errs.Field("start", "cannot be combined with subject or actor; page with cursor")
	case q.Has("start") && q.Has("cursor"):
		return 0, nil, errs.Field("cursor", "cannot be combined with start")
	case q.Get("cursor") != "" && search:
		f.AfterID, err = parseAuditCursor(q.Get("cursor"), 'a')
	case q.Get("cursor") != "":
		f.Start, err = parseAuditCursor(q.Get("cursor"), 'i')
	default:
		f.Start, err = intParam(q, "start", 0, 0, 1<<62)
	}
	if err != nil {
		return 0, nil, err
	}
	page, err := s.Audit.Entries(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	out := auditPageOf(page)
	switch {
	case page.NextAfter > 0:
		out.Next = auditCursor('a', page.NextAfter)
	case page.NextStart > 0:
		out.Next = auditCursor('i', page.NextStart)
	}
	return http.StatusOK, out, nil
}

// auditPageOf is page as served, without its next cursor.
func auditPageOf(page *audit.Page) auditPage {
	out := auditPage{Entries: make([]auditEntry, len(page.Items)), Size: page.Checkpoint.Size, Checkpoint: string(page.Checkpoint.Note)}
	for i, it := range page.Items {
		e := auditEntry{Index: it.Index, Leaf: base64.StdEncoding.EncodeToString(it.Leaf), Time: it.Time, Actor: it.Actor,
			Action: it.Action, Subject: it.Subject, RequestID: it.RequestID, ClientID: it.ClientRequestID, Fields: it.Fields,
			Context: it.Context, Digest: it.Digest}
		if it.Proof != nil {
			e.Proof = &inclusion{Index: it.Proof.Index, Size: it.Proof.Size, Hashes: b64s(it.Proof.Hashes)}
		}
		out.Entries[i] = e
	}
	return out
}

func (s *server) auditInclusion(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	if !q.Has("index") {
		return 0, nil, errs.Field("index", "is required")
	}
	index, err := intParam(q, "index", 0, 0, 1<<62)
	if err != nil {
		return 0, nil, err
	}
	size, err := intParam(q, "size", 0, 1, 1<<62)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.Audit.ProveInclusion(r.Context(), index, size)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, inclusion{Index: p.Index, Size: p.Size, Hashes: b64s(p.Hashes)}, nil
}

func (s *server) auditConsistency(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	if !q.Has("from") {
		return 0, nil, errs.Field("from", "is required")
	}
	from, err := intParam(q, "from", 0, 1, 1<<62)
	if err != nil {
		return 0, nil, err
	}
	to, err := intParam(q, "to", 0, 1, 1<<62)
	if err != nil {
		return 0, nil, err
	}
	p, err := s.Audit.ProveConsistency(r.Context(), from, to)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, consistency{From: p.From, To: p.To, Hashes: b64s(p.Hashes)}, nil
}
