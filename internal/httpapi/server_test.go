package httpapi

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestHealthz(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		w := api.do(t, request{method: "GET", target: "/healthz"})
		wantStatus(t, w, http.StatusOK)
		if h := decode[health](t, w); h.Status != "ok" || h.Version != "test" {
			t.Fatalf("health %+v", h)
		}
		if w.Header().Get("X-Request-Id") == "" {
			t.Error("no X-Request-Id")
		}

		db.Close()
		wantProblem(t, api.do(t, request{method: "GET", target: "/healthz"}), http.StatusServiceUnavailable, "")
	})
}

// Steward names every request itself: the X-Request-Id a caller sends never becomes
// Steward's request ID (which the audit log and problem details quote); a well-formed one
// is echoed in X-Client-Request-Id and audited as a separate, labelled field.
func TestRequestID(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		tests := []struct{ sent, client string }{
			{"req-42.a:b_c", "req-42.a:b_c"},
			{"has space", ""},
			{strings.Repeat("a", 65), ""},
			{"", ""},
		}
		seen := map[string]bool{}
		for _, tt := range tests {
			w := api.do(t, request{method: "GET", target: "/v1/accounts/nobody", key: api.keys[principal.Agent], header: http.Header{"X-Request-Id": {tt.sent}}})
			got := w.Header().Get("X-Request-Id")
			p := wantProblem(t, w, http.StatusNotFound, "")
			if p.RequestID != got || got == "" || got == tt.sent || seen[got] {
				t.Errorf("sent %q: X-Request-Id %q, problem request_id %q; want a fresh ID of Steward's in both", tt.sent, got, p.RequestID)
			}
			seen[got] = true
			if c := w.Header().Get("X-Client-Request-Id"); c != tt.client {
				t.Errorf("sent %q: X-Client-Request-Id %q, want %q", tt.sent, c, tt.client)
			}
		}

		// A caller claiming another request's ID is recorded as saying so, no more.
		w := api.do(t, request{method: "PUT", target: "/v1/accounts/acct-1", key: api.keys[principal.Service], body: validBody,
			header: http.Header{"X-Request-Id": {"bulk:0190a0a0-spoofed"}}})
		wantStatus(t, w, http.StatusCreated)
		if _, _, err := api.seq.Integrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		page := decode[auditPage](t, api.do(t, request{method: "GET", target: "/v1/audit/entries?subject=acct-1", key: api.keys[principal.Auditor]}))
		if len(page.Entries) != 1 {
			t.Fatalf("%d entries about acct-1, want 1", len(page.Entries))
		}
		if e := page.Entries[0]; e.RequestID != w.Header().Get("X-Request-Id") || e.ClientID != "bulk:0190a0a0-spoofed" {
			t.Fatalf("audited request_id %q, client_request_id %q; want Steward's %q and the caller's label", e.RequestID, e.ClientID, w.Header().Get("X-Request-Id"))
		}
	})
}

func TestMetrics(t *testing.T) {
	api := newTestAPI(t, storetest.Open(t, "sqlite"))
	for range 3 {
		api.get(t, "/v1/accounts/nobody")
	}
	api.put(t, "acct-1", validBody)
	api.do(t, request{method: "GET", target: "/v1/accounts"}) // no key
	api.do(t, request{method: "GET", target: "/v1/no/such/route"})

	w := api.do(t, request{method: "GET", target: "/metrics"})
	wantStatus(t, w, http.StatusOK)
	body := w.Body.String()
	for _, line := range []string{
		`steward_http_requests_total{route="GET /v1/accounts/{id}",status="404"} 3`,
		`steward_http_requests_total{route="PUT /v1/accounts/{id}",status="201"} 1`,
		`steward_http_requests_total{route="GET /v1/accounts",status="401"} 1`,
		`steward_http_requests_total{route="unmatched",status="404"} 1`, // not one series per bad path
		`steward_http_request_duration_seconds_count{route="GET /v1/accounts/{id}"} 3`,
		`steward_retention_deleted_total{record="idempotency"} 0`, // the retention sweeper's counts
	} {
		if !strings.Contains(body, line+"\n") {
			t.Errorf("metrics lack %s", line)
		}
	}
	if strings.Contains(body, "/no/such/route") {
		t.Error("an unmatched path became a label")
	}
}

// TestOpenAPI checks the document against the route table: every route with its method,
// its roles and its path parameters, and nothing else.
func TestOpenAPI(t *testing.T) {
	api := newTestAPI(t, storetest.Open(t, "sqlite"))
	w := api.do(t, request{method: "GET", target: "/openapi.json"})
	wantStatus(t, w, http.StatusOK)
	type operation struct {
		OperationID string           `json:"operationId"`
		Summary     string           `json:"summary"`
		Roles       []string         `json:"x-roles"`
		Security    []map[string]any `json:"security"`
		Parameters  []struct {
			Name, In string
			Required bool
		} `json:"parameters"`
		Responses map[string]any `json:"responses"`
	}
	doc := decode[struct {
		OpenAPI string                          `json:"openapi"`
		Info    struct{ Title, Version string } `json:"info"`
		Paths   map[string]map[string]operation `json:"paths"`
	}](t, w)
	if doc.OpenAPI != "3.1.0" || doc.Info.Title == "" || doc.Info.Version != "test" {
		t.Fatalf("openapi %q, info %+v", doc.OpenAPI, doc.Info)
	}

	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	ids := map[string]bool{}
	for _, rt := range tableRoutes() {
		name := rt.Method + " " + rt.Path
		t.Run(name, func(t *testing.T) {
			op, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]
			if !ok {
				t.Fatal("not documented")
			}
			delete(documented, name)
			if op.Summary == "" || op.OperationID == "" || ids[op.OperationID] {
				t.Errorf("summary %q, operationId %q (must be unique)", op.Summary, op.OperationID)
			}
			ids[op.OperationID] = true
			roles := make([]string, len(rt.Roles))
			for i, r := range rt.Roles {
				roles[i] = string(r)
			}
			if !slices.Equal(op.Roles, roles) {
				t.Errorf("x-roles %v, want %v", op.Roles, roles)
			}
			if rt.Public != (op.Security == nil) {
				t.Errorf("public %v, but security %v", rt.Public, op.Security)
			}
			for _, m := range wildcard.FindAllStringSubmatch(rt.Path, -1) {
				if !slices.ContainsFunc(op.Parameters, func(p struct {
					Name, In string
					Required bool
				}) bool {
					return p.Name == m[1] && p.In == "path" && p.Required
				}) {
					t.Errorf("path parameter %s not documented", m[1])
				}
			}
			if len(op.Responses) < 2 {
				t.Errorf("responses %v: want the success and the problem", op.Responses)
			}
		})
	}
	for name := range documented {
		t.Errorf("%s is documented but not in the route table", name)
	}
}

// TestRoutesGolden pins who may call what: a change to the route table's roles shows up
// in testdata/routes.golden for review. Run with -update after a deliberate change.
func TestRoutesGolden(t *testing.T) {
	var b strings.Builder
	for _, rt := range tableRoutes() {
		who := "public"
		if !rt.Public {
			who = fmt.Sprint(rt.Roles)
		}
		fmt.Fprintf(&b, "%-6s %-30s %s\n", rt.Method, rt.Path, who)
	}
	golden := filepath.Join("testdata", "routes.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestRoutesGolden -update)", err)
	}
	if b.String() != string(want) {
		t.Errorf("the route table's roles changed; if that is meant, run go test ./internal/httpapi -run TestRoutesGolden -update and review the diff.\n got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// A path the API has with a method it does not take is a 405 naming the methods it
// takes; a path it does not have is a 404; a path not in canonical form is a 400. All
// are problem details.
func TestUnknownRoutes(t *testing.T) {
	api := newTestAPI(t, storetest.Open(t, "sqlite"))
	tests := []struct {
		method, target string
		status         int
		allow          string
	}{
		{"DELETE", "/v1/accounts/u1", http.StatusMethodNotAllowed, "PUT, GET"},
		{"POST", "/healthz", http.StatusMethodNotAllowed, "GET"},
		{"GET", "/v1/nothing", http.StatusNotFound, ""},
		// Not redirected to the cleaned path, as a ServeMux does.
		{"POST", "/v1/accounts/../check", http.StatusBadRequest, ""},
		{"GET", "/v1/accounts/./u1", http.StatusBadRequest, ""},
		{"GET", "/v1//accounts", http.StatusBadRequest, ""},
		{"GET", "/healthz/..", http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			w := httptest.NewRecorder()
			api.handler.ServeHTTP(w, r)
			if w.Code != tt.status || w.Header().Get("Allow") != tt.allow {
				t.Fatalf("%d, Allow %q; want %d, Allow %q (%s)", w.Code, w.Header().Get("Allow"), tt.status, tt.allow, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
		})
	}
}
