package web

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// TestPageRoleMatrix walks every page of the table with no session, an unknown one, a
// portal session and every staff role's: a page refuses whoever its API route refuses,
// before it reads the form or writes anything.
func TestPageRoleMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTestWeb(t, db)
		w.account(t, "acct-1", "en")
		for i, p := range w.handlerPages() {
			target := fill(p.Path)
			t.Run(p.Method+" "+p.Path, func(t *testing.T) {
				send := func(s *session) int {
					if p.Method == "GET" {
						return w.get(t, s, target).Code
					}
					return w.post(t, s, target, nil).Code
				}
				if p.Public {
					if p.Method == "GET" {
						if code := send(nil); code >= 500 {
							t.Fatalf("public page: %d", code)
						}
					}
					return
				}
				if len(p.roles()) == 0 {
					t.Fatalf("page follows %q, which apiRoles does not list: nobody may open it", p.API)
				}
				for _, s := range []*session{nil, {secret: "stc_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", csrf: "x"}} {
					before := w.rows(t)
					code := send(s)
					if p.Method == "GET" && code != http.StatusSeeOther || p.Method == "POST" && code != http.StatusUnauthorized {
						t.Fatalf("without a session: %d", code)
					}
					if got := w.rows(t); got != before {
						t.Fatalf("rows %v, want %v", got, before)
					}
				}
				portal := w.portal(t, "acct-1")
				for _, role := range principal.Roles {
					// Fresh sessions: signing out ends its own.
					s := w.staff(t, fmt.Sprintf("%s-%d@example.com", role, i), role)
					check(t, string(role), w, slices.Contains(p.roles(), role), send, s)
				}
				check(t, "portal", w, p.Portal, send, portal)
			})
		}
	})
}

func check(t *testing.T, who string, w *testWeb, allowed bool, send func(*session) int, s *session) {
	t.Helper()
	before := w.rows(t)
	code := send(s)
	if !allowed {
		if code != http.StatusForbidden {
			t.Fatalf("%s: %d, want 403", who, code)
		}
		if got := w.rows(t); got != before {
			t.Fatalf("%s: rows %v, want %v", who, got, before)
		}
		return
	}
	if code == http.StatusUnauthorized || code == http.StatusForbidden || code >= 500 {
		t.Fatalf("%s may open the page: %d", who, code)
	}
}

func (w *testWeb) handlerPages() []page { return (&server{}).pages() }

// TestPagesFollowTheAPI holds apiRoles to the API's route table (its golden file): a
// page lets in exactly the roles its API route lets in, and every page names one.
func TestPagesFollowTheAPI(t *testing.T) {
	f, err := os.Open("../httpapi/testdata/routes.golden")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	golden := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 3 {
			continue
		}
		golden[fs[0]+" "+fs[1]] = strings.Join(fs[2:], " ")
	}
	for api, roles := range apiRoles {
		want, ok := golden[api]
		if !ok {
			t.Errorf("%s is not a route of the API", api)
			continue
		}
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = string(r)
		}
		got := "[" + strings.Join(names, " ") + "]"
		if sorted(got) != sorted(want) {
			t.Errorf("%s: pages let in %s, the API %s", api, got, want)
		}
	}
	for _, p := range (&server{}).pages() {
		if !p.Public && apiRoles[p.API] == nil {
			t.Errorf("%s %s follows %q, which apiRoles does not list", p.Method, p.Path, p.API)
		}
		if p.Portal != strings.HasPrefix(p.Path, "/portal/") && !p.Public {
			t.Errorf("%s %s: portal pages are the pages under /portal/", p.Method, p.Path)
		}
		if p.Portal && !slices.Contains(apiRoles[p.API], principal.User) {
			t.Errorf("%s %s: a portal page follows a /v1/me route", p.Method, p.Path)
		}
	}
}

func sorted(s string) string {
	fs := strings.Fields(strings.Trim(s, "[]"))
	slices.Sort(fs)
	return strings.Join(fs, " ")
}
