package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

func (a *testAPI) fileAppeal(tb testing.TB, token, sanction string) myAppeal {
	tb.Helper()
	w := a.do(tb, request{method: "POST", target: "/v1/me/appeals", key: token,
		body: `{"sanction": "` + sanction + `", "statement": "It was not me.", "evidence": [{"kind": "text", "text": "I was abroad"}]}`})
	wantStatus(tb, w, http.StatusCreated)
	return decode[myAppeal](tb, w)
}

func (a *testAPI) claim(tb testing.TB, key string, n int) []appealReply {
	tb.Helper()
	w := a.do(tb, request{method: "POST", target: "/v1/appeals:claim", key: key, body: fmt.Sprintf(`{"n": %d, "lease": "10m"}`, n)})
	wantStatus(tb, w, http.StatusOK)
	return decode[appealClaim](tb, w).Appeals
}

// Appeals over HTTP: filing with bad input names every field, a second open appeal is a
// 409 naming the first, a user reaches only their own appeals, four eyes keep the
// imposing reviewer off the appeal (never handed out, a 403 to decide), an uphold
// tells the user why and offers a second review that goes to someone else, and an
// overturn lifts the sanction as wrongful.
func TestAppealsHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		tokA, tokB := api.userToken(t, "acct-a"), api.userToken(t, "acct-b")
		sn := api.sanction(t, "acct-a", "suspend", "spam") // by the reviewer key
		imposer := api.keys[principal.Reviewer]
		r2, r3 := api.newKey(t, api.app.Keys, principal.Reviewer), api.newKey(t, api.app.Keys, principal.Reviewer)

		long := strings.Repeat("x", appeals.MaxStatement+1)
		ev := strings.Repeat(`{"kind": "text", "text": "t"},`, appeals.MaxEvidence) + `{"kind": "text", "text": "t"}`
		w := api.do(t, request{method: "POST", target: "/v1/me/appeals", key: tokA,
			body: `{"sanction": "` + sn + `", "statement": "` + long + `", "evidence": [` + ev + `]}`})
		p := wantProblem(t, w, http.StatusBadRequest, "statement")
		if len(p.Errors) != 2 || !strings.Contains(w.Body.String(), `"evidence"`) {
			t.Fatalf("want statement and evidence named at once: %+v", p.Errors)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/appeals", key: tokA, body: `{"sanction": "nope", "statement": "s"}`}),
			http.StatusBadRequest, "sanction")
		// Every missing field at once; a key in another case is not the field.
		if pr := wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/appeals", key: tokA, body: `{}`}), http.StatusBadRequest, "statement"); len(pr.Errors) != 2 {
			t.Fatalf("want sanction and statement named at once: %+v", pr.Errors)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/appeals", key: tokA,
			body: `{"sanction": "` + sn + `", "Statement": "s"}`}), http.StatusBadRequest, "")
		// B may not appeal A's sanction, nor learn that it exists.
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/appeals", key: tokB, body: `{"sanction": "` + sn + `", "statement": "s"}`}),
			http.StatusNotFound, "")

		// Filing is safe to retry with an idempotency key.
		body := `{"sanction": "` + sn + `", "statement": "It was not me."}`
		w1 := api.do(t, request{method: "POST", target: "/v1/me/appeals", key: tokA, body: body, header: withKey("appeal-1")})
		wantStatus(t, w1, http.StatusCreated)
		ap := decode[myAppeal](t, w1)
		w2 := api.do(t, request{method: "POST", target: "/v1/me/appeals", key: tokA, body: body, header: withKey("appeal-1")})
		if w2.Code != http.StatusCreated || decode[myAppeal](t, w2).ID != ap.ID {
			t.Fatalf("retry: %d %s", w2.Code, w2.Body)
		}
		if ap.State != appeals.Open || ap.DueAt.IsZero() || ap.Priority <= 0 {
			t.Fatalf("filed: %+v", ap)
		}
		w = api.do(t, request{method: "POST", target: "/v1/me/appeals", key: tokA, body: body})
		if pr := wantProblem(t, w, http.StatusConflict, ""); !strings.Contains(pr.Detail, ap.ID) {
			t.Fatalf("409 does not name the open appeal: %s", pr.Detail)
		}
		for _, target := range []string{"/v1/me/appeals/" + ap.ID} {
			wantProblem(t, api.do(t, request{method: "GET", target: target, key: tokB}), http.StatusNotFound, "")
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/appeals/" + ap.ID + "/withdraw", key: tokB}), http.StatusNotFound, "")
		if w := api.do(t, request{method: "GET", target: "/v1/me/appeals", key: tokB}); len(decode[myAppealPage](t, w).Appeals) != 0 {
			t.Fatalf("B lists A's appeal: %s", w.Body)
		}
		if w := api.do(t, request{method: "GET", target: "/v1/me/appeals/" + ap.ID, key: tokA}); strings.Contains(w.Body.String(), "reviewer") {
			t.Fatalf("the user sees who on the staff did what: %s", w.Body)
		}

		// Hostile claims and decisions.
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/appeals:claim", key: r2, body: `{"n": 1000, "lease": "1s"}`}), http.StatusBadRequest, "lease")
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/appeals/" + ap.ID + "/decision", key: r2,
			body: `{"outcome": "reduce", "note": "n", "until": "tomorrow"}`}), http.StatusBadRequest, "until")

		// Four eyes: the imposer never receives it, and may not decide it.
		if got := api.claim(t, imposer, 10); len(got) != 0 {
			t.Fatalf("the imposer received %d appeals", len(got))
		}
		w = api.do(t, request{method: "POST", target: "/v1/appeals/" + ap.ID + "/decision", key: imposer, body: `{"outcome": "overturn", "note": "mine"}`})
		if pr := wantProblem(t, w, http.StatusForbidden, ""); !strings.Contains(pr.Detail, "four eyes") {
			t.Fatalf("403 does not say why: %s", pr.Detail)
		}
		got := api.claim(t, r2, 10)
		if len(got) != 1 || got[0].ID != ap.ID || got[0].State != appeals.Claimed {
			t.Fatalf("r2 claimed %+v", got)
		}
		if again := api.claim(t, r3, 10); len(again) != 0 {
			t.Fatalf("a leased appeal went to a second reviewer: %+v", again)
		}
		w = api.do(t, request{method: "POST", target: "/v1/appeals/" + ap.ID + "/decision", key: r2, body: `{"outcome": "uphold", "note": "The messages were spam."}`})
		wantStatus(t, w, http.StatusOK)
		ns, _ := api.app.Notices.List(context.Background(), "acct-a", "", 1)
		if len(ns) != 1 || ns[0].Event != appeals.EventDecided || !strings.Contains(ns[0].Body, "The messages were spam.") || !(strings.Contains(ns[0].Body, "second review") || strings.Contains(ns[0].Body, "复核")) {
			t.Fatalf("the upheld notice: %+v", *ns[0])
		}

		// The second review goes to a different reviewer.
		w = api.do(t, request{method: "POST", target: "/v1/me/appeals/" + ap.ID + "/second-review", key: tokA})
		wantStatus(t, w, http.StatusOK)
		if got := decode[myAppeal](t, w); got.Round != 2 || got.State != appeals.Open {
			t.Fatalf("second review: %+v", got)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/appeals/" + ap.ID + "/second-review", key: tokA}), http.StatusConflict, "")
		if got := api.claim(t, r2, 10); len(got) != 0 {
			t.Fatalf("the first reviewer received the second review: %+v", got)
		}
		if got := api.claim(t, r3, 10); len(got) != 1 {
			t.Fatalf("r3 claimed %+v", got)
		}
		wantStatus(t, api.do(t, request{method: "POST", target: "/v1/appeals/" + ap.ID + "/decision", key: r3, body: `{"outcome": "overturn", "note": "On a second look, not spam."}`}), http.StatusOK)
		w = api.get(t, "/v1/sanctions/"+sn)
		if !strings.Contains(w.Body.String(), `"wrongful":true`) {
			t.Fatalf("overturned sanction not lifted as wrongful: %s", w.Body)
		}

		// Staff lists and stats; an agent files on a user's behalf.
		w = api.do(t, request{method: "GET", target: "/v1/appeals?state=decided", key: api.keys[principal.Auditor]})
		if pg := decode[appealPage](t, w); len(pg.Appeals) != 1 || pg.Appeals[0].Outcome != appeals.Overturn {
			t.Fatalf("decided list: %s", w.Body)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/appeals?state=maybe", key: r2}), http.StatusBadRequest, "state")
		w = api.do(t, request{method: "GET", target: "/v1/appeals/stats", key: api.keys[principal.Compliance]})
		if st := decode[appeals.StatsReply](t, w); st.Overall.Decided != 1 || st.Overall.Overturned != 1 || st.Overall.OverturnRate != 1 {
			t.Fatalf("stats: %s", w.Body)
		}
		snB := api.sanction(t, "acct-b", "ban", "fraud")
		w = api.do(t, request{method: "POST", target: "/v1/appeals", key: api.keys[principal.Agent],
			body: `{"account": "acct-b", "channel": "agent", "sanction": "` + snB + `", "statement": "Called in: the user says the account was stolen."}`})
		wantStatus(t, w, http.StatusCreated)
		if got := decode[appealReply](t, w); got.Channel != appeals.ByAgent || got.FiledBy.Role != principal.Agent || got.Priority <= ap.Priority {
			t.Fatalf("agent filing (a ban should outrank a suspension): %+v", got)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/appeals", key: api.keys[principal.Agent],
			body: `{"sanction": "` + snB + `", "statement": "s"}`}), http.StatusBadRequest, "account")
	})
}
