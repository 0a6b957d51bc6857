package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// sanction imposes a sanction on account through the API and returns its ID.
func (a *testAPI) sanction(tb testing.TB, account, kind, reason string) string {
	tb.Helper()
	body := `{"account": "` + account + `", "kind": "` + kind + `", "scope": {"services": ["chat"]}, "reason_code": "` + reason +
		`", "detail": "for ` + account + `", "authority": {"kind": "automated", "rule": "r-1"}, "source": "manual"}`
	if kind == "suspend" {
		body = strings.Replace(body, `"source"`, `"end": "2099-01-01T00:00:00Z", "source"`, 1)
	}
	w := a.do(tb, request{method: "POST", target: "/v1/sanctions", key: a.keys[principal.Reviewer], body: body})
	wantStatus(tb, w, http.StatusCreated)
	return decode[struct{ ID string }](tb, w).ID
}

// A user token reads and ends only what is its own account's: GET /v1/me shows A's
// sanctions and notices and nothing of B's, A's token reaches no route that names B, and
// ending A's token leaves B's working. A banned account still gets a token.
func TestUserTokenSeesOnlyItsAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		wantStatus(t, api.put(t, "acct-a", validBody), http.StatusCreated)
		wantStatus(t, api.put(t, "acct-b", validBody), http.StatusCreated)
		mine := api.sanction(t, "acct-a", "suspend", "spam")
		theirs := api.sanction(t, "acct-b", "ban", "fraud")
		tokA, tokB := api.userToken(t, "acct-a"), api.userToken(t, "acct-b") // B is banned, and gets one

		me := func(token string) meReply {
			t.Helper()
			w := api.do(t, request{method: "GET", target: "/v1/me", key: token})
			wantStatus(t, w, http.StatusOK)
			return decode[meReply](t, w)
		}
		got := me(tokA)
		if got.Account != "acct-a" || len(got.Sanctions) != 1 || got.Sanctions[0].ID != mine {
			t.Fatalf("A's standing: %+v, want A with sanction %s", got, mine)
		}
		s := got.Sanctions[0]
		if s.Kind != "suspend" || s.ReasonCode != "spam" || s.Until == nil || s.Until.Year() != 2099 ||
			!strings.HasSuffix(s.AppealURL, mine) || s.Detail != "for acct-a" {
			t.Fatalf("A's sanction lacks what, why, until or where to appeal: %+v", s)
		}
		if !slices.Contains(got.StillAllowed, "account.appeal") || len(got.Notices) != 1 || got.Notices[0].Account != "acct-a" {
			t.Fatalf("A's still allowed %v and notices %+v", got.StillAllowed, got.Notices)
		}
		w := api.do(t, request{method: "GET", target: "/v1/me", key: tokA})
		if body := w.Body.String(); strings.Contains(body, "acct-b") || strings.Contains(body, theirs) || strings.Contains(body, "rita") {
			t.Fatalf("A's standing mentions B or the staff: %s", body)
		}
		if b := me(tokB); b.Account != "acct-b" || len(b.Sanctions) != 1 || b.Sanctions[0].ID != theirs || b.Sanctions[0].Until != nil {
			t.Fatalf("B's standing: %+v", b)
		}

		// A's token reaches nothing about B: every route outside /v1/me is refused.
		before := api.rows(t)
		for _, target := range []string{"/v1/accounts/acct-b", "/v1/accounts/acct-b/sanctions", "/v1/accounts/acct-b/notices", "/v1/sanctions/" + theirs} {
			wantProblem(t, api.do(t, request{method: "GET", target: target, key: tokA}), http.StatusForbidden, "")
		}
		for _, req := range []request{
			{method: "PUT", target: "/v1/accounts/acct-b", body: validBody},
			{method: "POST", target: "/v1/sanctions/" + theirs + "/lift", body: `{"reason": "mine now", "wrongful": true}`},
			{method: "POST", target: "/v1/accounts/acct-b/user-tokens", body: `{}`},
		} {
			req.key = tokA
			wantProblem(t, api.do(t, req), http.StatusForbidden, "")
		}
		api.wantRows(t, before)

		// Ending A's token ends only A's.
		w = api.do(t, request{method: "DELETE", target: "/v1/me/token", key: tokA})
		wantStatus(t, w, http.StatusOK)
		if ended := decode[tokenEnded](t, w); ended.Account != "acct-a" || ended.EndedAt.IsZero() {
			t.Fatalf("ended %+v", ended)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/me", key: tokA}), http.StatusUnauthorized, "")
		wantProblem(t, api.do(t, request{method: "DELETE", target: "/v1/me/token", key: tokA}), http.StatusUnauthorized, "")
		me(tokB)
	})
}

// POST /v1/accounts/{id}/user-tokens refuses bad input with the field at fault and
// writes nothing; a retry with its Idempotency-Key returns the same token.
func TestUserTokenRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		wantStatus(t, api.put(t, "acct-a", validBody), http.StatusCreated)
		tokens := func() int {
			n, err := db.Count(context.Background(), "user_tokens")
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := api.rows(t)
		for _, c := range []struct {
			target, body, field string
			status              int
		}{
			{"/v1/accounts/acct-a/user-tokens", `{"ttl": "soon"}`, "ttl", 400},
			{"/v1/accounts/acct-a/user-tokens", `{"ttl": "59s"}`, "ttl", 400},
			{"/v1/accounts/acct-a/user-tokens", `{"ttl": "24h1s"}`, "ttl", 400},
			{"/v1/accounts/acct-a/user-tokens", `{"ttl": 900}`, "ttl", 400},
			{"/v1/accounts/acct-a/user-tokens", `{"ttl": "1h", "account": "acct-b"}`, "account", 400},
			{"/v1/accounts/acct-a/user-tokens", `{"ttl": "1h"`, "body", 400},
			{"/v1/accounts/-bad/user-tokens", `{}`, "id", 400},
			{"/v1/accounts/nobody/user-tokens", `{}`, "", 404},
		} {
			w := api.do(t, request{method: "POST", target: c.target, key: api.keys[principal.Service], body: c.body})
			wantProblem(t, w, c.status, c.field)
		}
		api.wantRows(t, before)
		if n := tokens(); n != 0 {
			t.Fatalf("%d tokens after refusals", n)
		}

		// No body means the default lifetime.
		w := api.do(t, request{method: "POST", target: "/v1/accounts/acct-a/user-tokens", key: api.keys[principal.Admin]})
		wantStatus(t, w, http.StatusCreated)
		if r := decode[userTokenReply](t, w); !strings.HasPrefix(r.Token, "stu_") || r.Account != "acct-a" || r.ExpiresAt.IsZero() {
			t.Fatalf("reply %+v", r)
		}
		retry := request{method: "POST", target: "/v1/accounts/acct-a/user-tokens", key: api.keys[principal.Service], body: `{"ttl": "2h"}`,
			header: http.Header{"Idempotency-Key": {"tok-1"}}}
		first := api.do(t, retry)
		wantStatus(t, first, http.StatusCreated)
		again := api.do(t, retry)
		if again.Code != http.StatusCreated || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d %s, want the first answer replayed", again.Code, again.Body)
		}
		if n := tokens(); n != 2 {
			t.Fatalf("%d tokens, want 2 (the retry makes none)", n)
		}
	})
}
