package httpapi

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/reports"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

func (a *testAPI) fileReport(tb testing.TB, reporter, target, category string) reports.Receipt {
	tb.Helper()
	w := a.do(tb, request{method: "POST", target: "/v1/reports", key: a.keys[principal.Service],
		body: `{"reporter": "` + reporter + `", "target": "` + target + `", "category": "` + category + `", "text": "spam links", "context": {"device": "d-1", "ip_prefix": "203.0.113.0/24"}}`})
	wantStatus(tb, w, http.StatusAccepted)
	return decode[reports.Receipt](tb, w)
}

// Reports over HTTP: a user reports as the token's account and no other; bad input
// names every field; the daily limit is a 429; retries with an Idempotency-Key report
// once; reviewers list, read, claim and decide cases; the reporter hears the outcome.
func TestReportsHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		tokA := api.userToken(t, "acct-a")
		for _, id := range []string{"acct-b", "acct-c", "target-1"} {
			wantStatus(t, api.put(t, id, validBody), http.StatusCreated)
		}

		// A user cannot report on someone else's behalf.
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/reports", key: tokA,
			body: `{"reporter": "acct-b", "target": "target-1", "category": "spam"}`}), http.StatusBadRequest, "")
		p := wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/reports", key: tokA,
			body: `{"target": "no such id!", "category": "weather", "evidence": [""], "text": "` + strings.Repeat("x", reports.MaxText+1) + `"}`}),
			http.StatusBadRequest, "target")
		if len(p.Errors) != 4 {
			t.Fatalf("want target, category, evidence[0] and text named at once: %+v", p.Errors)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/reports", key: tokA,
			body: `{"target": "ghost", "category": "spam"}`}), http.StatusNotFound, "target")

		body := `{"target": "target-1", "category": "spam", "text": "sells fake tickets"}`
		w1 := api.do(t, request{method: "POST", target: "/v1/me/reports", key: tokA, body: body, header: withKey("rep-1")})
		wantStatus(t, w1, http.StatusAccepted)
		first := decode[reports.Receipt](t, w1)
		w2 := api.do(t, request{method: "POST", target: "/v1/me/reports", key: tokA, body: body, header: withKey("rep-1")})
		if wantStatus(t, w2, http.StatusAccepted); decode[reports.Receipt](t, w2).ID != first.ID {
			t.Fatal("a retry with the same Idempotency-Key made another report")
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/reports", key: tokA, body: body}), http.StatusTooManyRequests, "")

		second := api.fileReport(t, "acct-b", "target-1", "spam")
		if second.Case != first.Case || second.Opened {
			t.Fatalf("second report %+v did not join case %s", second, first.Case)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/signals", key: api.keys[principal.Service],
			body: `{"account": "target-1", "rule": "Bad Rule", "score": 7}`}), http.StatusBadRequest, "score")
		wantStatus(t, api.do(t, request{method: "POST", target: "/v1/signals", key: api.keys[principal.Service],
			body: `{"account": "target-1", "rule": "kw.tickets", "score": 0.8, "detail": "keyword"}`}), http.StatusAccepted)

		rev := api.keys[principal.Reviewer]
		w := api.do(t, request{method: "GET", target: "/v1/cases?limit=1", key: rev})
		wantStatus(t, w, http.StatusOK)
		pg := decode[casePage](t, w)
		if len(pg.Cases) != 1 || pg.Cases[0].Reports != 2 || pg.Next == "" {
			t.Fatalf("page %+v", pg)
		}
		w = api.do(t, request{method: "GET", target: "/v1/cases?limit=1&cursor=" + pg.Next, key: rev})
		if wantStatus(t, w, http.StatusOK); len(decode[casePage](t, w).Cases) != 1 {
			t.Fatal("second page: want the signal's case")
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/cases?state=gone&flag=x&category=y", key: rev}), http.StatusBadRequest, "flag")
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/cases?cursor=bm9wZQ", key: rev}), http.StatusBadRequest, "cursor")
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/cases/not-a-uuid", key: rev}), http.StatusBadRequest, "id")

		w = api.do(t, request{method: "GET", target: "/v1/cases/" + first.Case, key: rev})
		wantStatus(t, w, http.StatusOK)
		if d := decode[reports.Detail](t, w); len(d.ReportList) != 2 || d.ReportList[0].Reporter != "acct-a" {
			t.Fatalf("detail %+v", d)
		}

		w = api.do(t, request{method: "POST", target: "/v1/cases:claim", key: rev, body: `{"n": 1, "lease": "10m"}`})
		wantStatus(t, w, http.StatusOK)
		claimed := decode[caseClaim](t, w).Cases
		if len(claimed) != 1 || claimed[0].ID != first.Case {
			t.Fatalf("claimed %+v, want the highest case %s", claimed, first.Case)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/cases/" + first.Case + "/decision", key: rev,
			body: `{"outcome": "action", "note": "x"}`}), http.StatusBadRequest, "policy")
		w = api.do(t, request{method: "POST", target: "/v1/cases/" + first.Case + "/decision", key: rev,
			body: `{"outcome": "dismiss", "note": "tickets are real"}`})
		wantStatus(t, w, http.StatusOK)
		if c := decode[reports.Case](t, w); c.State != reports.Decided || c.Outcome != reports.Dismiss {
			t.Fatalf("decided %+v", c)
		}
		w = api.do(t, request{method: "GET", target: "/v1/me", key: tokA})
		if wantStatus(t, w, http.StatusOK); !strings.Contains(w.Body.String(), `"event":"case.decided"`) || strings.Contains(w.Body.String(), "target-1") {
			t.Fatalf("the reporter's standing shows no outcome notice, or names the target: %s", w.Body)
		}
		w = api.do(t, request{method: "GET", target: "/v1/accounts/acct-a/reporter", key: rev})
		wantStatus(t, w, http.StatusOK)
		if r := decode[reporterReply](t, w); len(r.Categories) != 1 || r.Categories[0].Dismissed != 1 {
			t.Fatalf("reporter %+v", r)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/accounts/ghost/reporter", key: rev}), http.StatusNotFound, "")
	})
}
