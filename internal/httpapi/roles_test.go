package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// wildcardValues fills the path wildcards of the route table with valid values. A route
// with a wildcard not listed here fails TestRoleMatrix until one is added.
var wildcardValues = map[string]string{
	"id":    "acct-1",
	"name":  "platform",
	"rid":   "release-1",
	"eid":   "export-1",
	"token": "not-a-token",
}

// tokenRoutes are the public routes whose path holds their credential: without a real
// one they answer 404.
var tokenRoutes = map[string]bool{"PUT /v1/export-uploads/{token}": true}

// fillPath returns rt's path with each wildcard replaced by its value.
func fillPath(tb testing.TB, path string) string {
	tb.Helper()
	return wildcard.ReplaceAllStringFunc(path, func(w string) string {
		name := strings.Trim(w, "{}")
		v, ok := wildcardValues[name]
		if !ok {
			tb.Fatalf("%s: no test value for wildcard {%s}; add one to wildcardValues", path, name)
		}
		return v
	})
}

// TestRoleMatrix walks every route of the table with no key, an unknown key, a malformed
// Authorization header, every role's key and an end user's token.
func TestRoleMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		for _, rt := range tableRoutes() {
			target := fillPath(t, rt.Path)
			t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
				if rt.Public {
					if len(rt.Roles) != 0 {
						t.Fatalf("public route lists roles %v", rt.Roles)
					}
					w := api.do(t, request{method: rt.Method, target: target})
					if tokenRoutes[rt.Method+" "+rt.Path] { // the path's token is the credential
						wantProblem(t, w, http.StatusNotFound, "")
						return
					}
					if w.Code/100 != 2 {
						t.Fatalf("public route without a key: status %d, want 2xx; body: %s", w.Code, w.Body)
					}
					return
				}
				if len(rt.Roles) == 0 {
					t.Fatal("a route that is not public lists no roles: nobody may call it")
				}
				unauthenticated := []struct {
					name string
					hdr  string
				}{
					{"no key", ""},
					{"unknown key", "Bearer stw_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
					{"unknown user token", "Bearer stu_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
					{"not a steward key", "Bearer hunter2"},
					{"basic auth", "Basic YWRtaW46YWRtaW4="},
					{"empty bearer", "Bearer "},
				}
				for _, c := range unauthenticated {
					t.Run(c.name, func(t *testing.T) {
						before := api.rows(t)
						req := request{method: rt.Method, target: target, body: validBody, header: http.Header{}}
						if c.hdr != "" {
							req.header.Set("Authorization", c.hdr)
						}
						w := api.do(t, req)
						wantProblem(t, w, http.StatusUnauthorized, "")
						if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
							t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
						}
						api.wantRows(t, before)
					})
				}
				t.Run("user token", func(t *testing.T) {
					token := api.userToken(t, "acct-1") // a fresh one: DELETE /v1/me/token ends its own
					user := slices.Contains(rt.Roles, principal.User)
					if user != (rt.Path == "/v1/me" || strings.HasPrefix(rt.Path, "/v1/me/")) {
						t.Fatalf("roles %v: user tokens must reach exactly the routes under /v1/me/", rt.Roles)
					}
					before := api.rows(t)
					w := api.do(t, request{method: rt.Method, target: target, key: token, body: validBody})
					if !user {
						wantProblem(t, w, http.StatusForbidden, "")
						api.wantRows(t, before)
						return
					}
					if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden || w.Code >= 500 {
						t.Fatalf("user token: status %d; body: %s", w.Code, w.Body)
					}
				})
				for _, role := range principal.Roles {
					t.Run(string(role), func(t *testing.T) {
						before := api.rows(t)
						// A valid body: an allowed write may succeed, which must not be
						// mistaken for a refusal.
						w := api.do(t, request{method: rt.Method, target: target, key: api.keys[role], body: validBody})
						if !slices.Contains(rt.Roles, role) {
							wantProblem(t, w, http.StatusForbidden, "")
							api.wantRows(t, before)
							return
						}
						if w.Code == http.StatusUnauthorized || w.Code == http.StatusForbidden || w.Code >= 500 {
							t.Fatalf("allowed role: status %d; body: %s", w.Code, w.Body)
						}
					})
				}
			})
		}
	})
}
