package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/problem"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// testAPI is the real handler over a real database, wired as cmd/steward wires it, with
// one API key per role.
type testAPI struct {
	db      *sqlstore.DB
	app     *app.App
	handler http.Handler
	keys    map[principal.Role]string // the secret of each role's key
	ix      *enforce.Index            // the check API's decision index
	seq     *audit.Sequencer          // integrates the audit log when a test asks
}

// newTestAPI builds the API over db and creates one key per role.
func newTestAPI(tb testing.TB, db *sqlstore.DB) *testAPI {
	tb.Helper()
	return newTestAPIWith(tb, db, nil)
}

// newTestAPIWith is newTestAPI serving over db's stores as edit changes them; the keys
// are made through db's own.
func newTestAPIWith(tb testing.TB, db *sqlstore.DB, edit func(*app.Stores)) *testAPI {
	tb.Helper()
	return newTestAPIConfig(tb, db, edit, app.Config{})
}

// newTestAPIConfig is newTestAPIWith wired with cfg, to which it adds an audit key and
// a directory for export archives.
func newTestAPIConfig(tb testing.TB, db *sqlstore.DB, edit func(*app.Stores), cfg app.Config) *testAPI {
	tb.Helper()
	st := db.Stores()
	if edit != nil {
		edit(&st)
	}
	cfg.AuditKey = storetest.AuditKey(tb)
	if cfg.Takeout.Dir == "" {
		cfg.Takeout.Dir = tb.TempDir()
	}
	a := storetest.NewAppOver(tb, st, cfg)
	api := &testAPI{
		db: db, app: a, ix: a.Index, seq: a.Sequencer,
		handler: NewHandler(Deps{App: a, Ready: db.Ready, Version: "test"}),
		keys:    map[principal.Role]string{},
	}
	keys := a.Keys
	if edit != nil {
		keys = storetest.NewApp(tb, db, app.Config{}).Keys
	}
	for _, role := range principal.Roles {
		api.keys[role] = api.newKey(tb, keys, role)
	}
	return api
}

func (a *testAPI) newKey(tb testing.TB, keyring *auth.Keyring, role principal.Role) string {
	tb.Helper()
	secret, _, err := keyring.Create(context.Background(), role, "", 0)
	if err != nil {
		tb.Fatalf("create %s key: %v", role, err)
	}
	return secret
}

// userToken returns a new user token for account, creating the account if need be.
func (a *testAPI) userToken(tb testing.TB, account string) string {
	tb.Helper()
	if _, err := a.app.Accounts.Get(context.Background(), account); errs.CodeOf(err) == errs.NotFound {
		wantStatus(tb, a.put(tb, account, validBody), http.StatusCreated)
	}
	w := a.do(tb, request{method: "POST", target: "/v1/accounts/" + account + "/user-tokens", key: a.keys[principal.Service], body: `{"ttl": "1h"}`})
	wantStatus(tb, w, http.StatusCreated)
	return decode[userTokenReply](tb, w).Token
}

// tableRoutes returns the route table. Its handlers are never called: the table is read
// for its methods, paths and roles only.
func tableRoutes() []route {
	return (&server{registry: prometheus.NewRegistry()}).routes()
}

// request is one call to the API.
type request struct {
	method, target string
	key            string // the bearer secret; none when empty
	body           string
	header         http.Header
}

// do serves req and returns the recorded answer.
func (a *testAPI) do(tb testing.TB, req request) *httptest.ResponseRecorder {
	tb.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r := httptest.NewRequest(req.method, req.target, body)
	if req.key != "" {
		r.Header.Set("Authorization", "Bearer "+req.key)
	}
	for k, vs := range req.header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	a.handler.ServeHTTP(w, r)
	return w
}

// put sends PUT /v1/accounts/{id} with the service key.
func (a *testAPI) put(tb testing.TB, id, body string) *httptest.ResponseRecorder {
	tb.Helper()
	return a.do(tb, request{method: "PUT", target: "/v1/accounts/" + id, key: a.keys[principal.Service], body: body})
}

// get sends GET target with the agent key (any staff role may read).
func (a *testAPI) get(tb testing.TB, target string) *httptest.ResponseRecorder {
	tb.Helper()
	return a.do(tb, request{method: "GET", target: target, key: a.keys[principal.Agent]})
}

// importBody sends POST /v1/accounts:import with the service key.
func (a *testAPI) importBody(tb testing.TB, ndjson string) *httptest.ResponseRecorder {
	tb.Helper()
	return a.do(tb, request{method: "POST", target: "/v1/accounts:import", key: a.keys[principal.Service], body: ndjson})
}

// rows counts the rows every write touches.
type rows struct{ accounts, audit, idempotency int }

func (r rows) String() string {
	return fmt.Sprintf("%d accounts, %d audit entries, %d idempotency records", r.accounts, r.audit, r.idempotency)
}

func (a *testAPI) rows(tb testing.TB) rows {
	tb.Helper()
	var r rows
	for table, n := range map[string]*int{"accounts": &r.accounts, "audit_entries": &r.audit, "idempotency": &r.idempotency} {
		c, err := a.db.Count(context.Background(), table)
		if err != nil {
			tb.Fatalf("count %s: %v", table, err)
		}
		*n = c
	}
	return r
}

// wantRows fails unless the row counts are want.
func (a *testAPI) wantRows(tb testing.TB, want rows) {
	tb.Helper()
	if got := a.rows(tb); got != want {
		tb.Fatalf("rows: got %v, want %v", got, want)
	}
}

// wantStatus fails unless w answered status.
func wantStatus(tb testing.TB, w *httptest.ResponseRecorder, status int) {
	tb.Helper()
	if w.Code != status {
		tb.Fatalf("status %d, want %d; body: %s", w.Code, status, w.Body)
	}
}

// wantProblem checks that w is an RFC 9457 problem with status and, when field is not
// empty, a validation error naming field. It returns the problem.
func wantProblem(tb testing.TB, w *httptest.ResponseRecorder, status int, field string) problem.Problem {
	tb.Helper()
	wantStatus(tb, w, status)
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	var p problem.Problem
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		tb.Fatalf("problem body %s: %v", w.Body, err)
	}
	if p.Status != status || p.Title != http.StatusText(status) || p.Detail == "" ||
		!strings.HasPrefix(p.Type, "urn:steward:problem:") {
		tb.Fatalf("problem lacks type, title, status or detail: %+v", p)
	}
	if want := typesOfStatus(status); !slices.Contains(want, p.Type) {
		tb.Fatalf("problem type %q, want one of %q", p.Type, want)
	}
	if field != "" && !slices.ContainsFunc(p.Errors, func(e errs.FieldError) bool { return e.Field == field }) {
		tb.Fatalf("problem does not name field %q: %+v", field, p.Errors)
	}
	for _, e := range p.Errors {
		if e.Field == "" || e.Message == "" {
			tb.Fatalf("field error without field or message: %+v", p.Errors)
		}
	}
	return p
}

// typesOfStatus returns the problem types of the codes the status table maps to status.
func typesOfStatus(status int) []string {
	var out []string
	for code, s := range problem.Statuses {
		if s == status {
			out = append(out, problem.Type(code))
		}
	}
	return out
}

// decode decodes w's JSON body into a value of type T, failing the test on error.
func decode[T any](tb testing.TB, w *httptest.ResponseRecorder) T {
	tb.Helper()
	var v T
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("Content-Type %q, want application/json; body: %s", ct, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		tb.Fatalf("decode %s: %v", w.Body, err)
	}
	return v
}

// accountFields returns the fields of a valid PUT body.
func accountFields() map[string]any {
	return map[string]any{
		"region":     "yn",
		"verified":   true,
		"created_at": "2021-03-04T05:06:07Z",
		"locale":     "zh-CN",
		"attributes": map[string]any{"tier": "gold", "risk": 0.25, "kyc": true},
		"linked":     []any{map[string]any{"service": "game", "account": "g-1"}},
	}
}

// absent, as a value in with's changes, removes the field.
var absent = &struct{ absent bool }{}

// with returns a valid PUT body with changes applied: each key set to its value, or
// removed when the value is absent.
func with(changes map[string]any) string {
	m := accountFields()
	maps.Copy(m, changes)
	maps.DeleteFunc(m, func(_ string, v any) bool { return v == absent })
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// validBody is a valid PUT body.
var validBody = with(nil)

// ndjson returns an import body of n accounts with IDs prefix0 … prefix(n-1), in region.
func ndjson(prefix string, n int, region string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"id":"%s%d","region":%q,"verified":%t,"created_at":"2020-01-02T03:04:05Z","locale":"en","attributes":{"n":%d}}`+"\n",
			prefix, i, region, i%2 == 0, i)
	}
	return b.String()
}
