package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// incidentLeaks is a fake leak investigation per ID.
type incidentLeaks map[string][]string

func (f incidentLeaks) LeakAccounts(_ context.Context, id string) ([]string, error) {
	if ids, ok := f[id]; ok {
		return ids, nil
	}
	return nil, errs.E(errs.NotFound, "leak %s not found", id)
}

// incidentAPI is the API with accounts yn-1…yn-3 (region yn, zh-CN) and en-1, en-2
// (region eu, en); with leaks, served by a process that knows of leak investigations.
func incidentAPI(t *testing.T, db *sqlstore.DB, leaks leak.LeakAccounts) *testAPI {
	t.Helper()
	api := newTestAPI(t, db)
	for _, id := range []string{"yn-1", "yn-2", "yn-3"} {
		wantStatus(t, api.put(t, id, validBody), http.StatusCreated)
	}
	for _, id := range []string{"en-1", "en-2"} {
		wantStatus(t, api.put(t, id, with(map[string]any{"region": "eu", "locale": "en"})), http.StatusCreated)
	}
	if leaks != nil {
		other := storetest.NewApp(t, db, app.Config{Incidents: leak.IncidentConfig{Leaks: leaks}})
		api.handler = NewHandler(Deps{App: other, Ready: db.Ready, Version: "test"})
		api.app = other
	}
	return api
}

func incidentJSON(affected string) string {
	return `{"title": "Order export copied", "detected_at": "` + time.Now().UTC().Add(-time.Minute).Format(time.RFC3339) + `",
		"data_types": ["name", "phone", "address"], "cause": "A partner's export was copied.", "harm": "Fraud calls posing as customer service.",
		"remedies": "Access revoked.", "advice": "Never give codes to callers.", "contact": "privacy@example.com", "grade": "critical",
		"affected": ` + affected + `}`
}

// incidentNotices returns the accounts of ids with a notice naming the incident.
func incidentNotices(t *testing.T, api *testAPI, ids []string, incident string) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		ns, err := api.app.Notices.List(context.Background(), id, "", 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.Event == "incident.notice" && strings.Contains(n.Body, incident) {
				out = append(out, id)
			}
		}
	}
	return out
}

// TestIncidentOverHTTP is the Done-when over the API: an incident from a leak
// investigation and one from a selection each notify exactly their affected users,
// before the deadline, and the report says so as JSON and as a page.
func TestIncidentOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := incidentAPI(t, db, incidentLeaks{"lk-1": {"yn-2", "en-1"}})
		all := []string{"yn-1", "yn-2", "yn-3", "en-1", "en-2"}
		for _, tc := range []struct {
			affected string
			want     []string
		}{
			{`{"leak": "lk-1"}`, []string{"yn-2", "en-1"}},
			{`{"selection": "account.region == 'eu'"}`, []string{"en-1", "en-2"}},
		} {
			w := api.do(t, request{method: "POST", target: "/v1/incidents", key: api.keys[principal.Security], body: incidentJSON(tc.affected)})
			wantStatus(t, w, http.StatusCreated)
			in := decode[incidentReply](t, w)
			if in.Accounts != len(tc.want) || in.DeadlineState != leak.DeadlinePending || in.TimeLeftSeconds == nil || *in.TimeLeftSeconds > 3600 || *in.TimeLeftSeconds < 3000 {
				t.Fatalf("created %+v", in)
			}
			w = api.do(t, request{method: "POST", target: "/v1/incidents/" + in.ID + "/notify", key: api.keys[principal.Compliance]})
			wantStatus(t, w, http.StatusOK)
			got := decode[incidentReply](t, w)
			if got.DeadlineState != leak.DeadlineMet || got.TimeLeft != "" || got.NotifiedBy.Role != principal.Compliance {
				t.Fatalf("notified %+v", got)
			}
			if ids := incidentNotices(t, api, all, in.ID); !slices.Equal(ids, tc.want) && !slices.Equal(ids, []string{tc.want[1], tc.want[0]}) {
				t.Fatalf("noticed %v, want exactly %v", ids, tc.want)
			}
			wantProblem(t, api.do(t, request{method: "POST", target: "/v1/incidents/" + in.ID + "/notify", key: api.keys[principal.Compliance]}), http.StatusConflict, "")
			w = api.do(t, request{method: "GET", target: "/v1/incidents/" + in.ID + "/report", key: api.keys[principal.Auditor]})
			rep := decode[leak.IncidentReport](t, w)
			if rep.Deadline != leak.DeadlineMet || rep.Incident.ID != in.ID || len(rep.Timeline) != 4 {
				t.Fatalf("report %+v", rep)
			}
			for _, req := range []request{
				{method: "GET", target: "/v1/incidents/" + in.ID + "/report?format=html", key: api.keys[principal.Auditor]},
				{method: "GET", target: "/v1/incidents/" + in.ID + "/report", key: api.keys[principal.Security], header: http.Header{"Accept": {"text/html,application/xhtml+xml"}}},
			} {
				w := api.do(t, req)
				wantStatus(t, w, http.StatusOK)
				if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.Contains(w.Body.String(), "Order export copied") || !strings.Contains(w.Body.String(), "met") {
					t.Fatalf("page %s: %s", ct, w.Body)
				}
			}
		}
	})
}

func TestIncidentHostileInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := incidentAPI(t, db, nil)
		post := func(body string, header http.Header) *httptest.ResponseRecorder {
			return api.do(t, request{method: "POST", target: "/v1/incidents", key: api.keys[principal.Security], body: body, header: header})
		}
		before := api.rows(t)
		p := wantProblem(t, post(`{"title": "", "detected_at": "yesterday", "data_types": ["phone", "soul"], "grade": "x", "report_within": "9999h", "affected": {"selection": "account.region +"}}`, nil), http.StatusBadRequest, "detected_at")
		var fields []string
		for _, f := range p.Errors {
			fields = append(fields, f.Field)
		}
		if want := []string{"detected_at", "title", "cause", "harm", "remedies", "advice", "contact", "data_types[1]", "grade", "report_within", "affected.selection"}; !slices.Equal(fields, want) {
			t.Fatalf("fields %v, want %v", fields, want)
		}
		for _, tc := range []struct {
			body   string
			status int
			field  string
		}{
			{`{`, 400, "body"},
			{`[]`, 400, "body"},
			{strings.Replace(incidentJSON(`{"selection": "true"}`), `"title"`, `"Title"`, 1), 400, "Title"},
			{strings.Replace(incidentJSON(`{"selection": "true"}`), `"grade"`, `"evil": 1, "grade"`, 1), 400, "evil"},
			{incidentJSON(`{"selection": "true", "leak": "x"}`), 400, "affected"},
			{incidentJSON(`{}`), 400, "affected"},
			{incidentJSON(`{"selection": 1}`), 400, "affected.selection"},
			{incidentJSON(`{"leak": "lk-1"}`), 400, "affected.leak"}, // no such investigation
			{incidentJSON(`{"selection": "account.attributes.all(a, account.attributes.all(b, account.attributes.all(c, account.attributes.all(d, a < b))))"}`), 400, "affected.selection"},
			{incidentJSON(`{"selection": "` + strings.Repeat("true && ", 600) + `true"}`), 400, "affected.selection"},
		} {
			wantProblem(t, post(tc.body, nil), tc.status, tc.field)
		}
		api.wantRows(t, before)
		for _, target := range []string{"/v1/incidents/nope", "/v1/incidents/nope/report"} {
			wantProblem(t, api.do(t, request{method: "GET", target: target, key: api.keys[principal.Security]}), http.StatusNotFound, "")
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/incidents/nope/notify", key: api.keys[principal.Security]}), http.StatusNotFound, "")
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/incidents/nope/notify", key: api.keys[principal.Security], body: `{"x": 1}`}), http.StatusBadRequest, "body")
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/incidents/nope/report?format=pdf", key: api.keys[principal.Security]}), http.StatusBadRequest, "format")

		// A retry with the same Idempotency-Key is the same incident, declared once.
		body := incidentJSON(`{"selection": "account.region == 'yn'"}`)
		key := http.Header{"Idempotency-Key": {"inc-1"}}
		first := decode[incidentReply](t, post(body, key))
		again := post(body, key)
		if decode[incidentReply](t, again).ID != first.ID || again.Header().Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry %s", again.Body)
		}
		// Text a page shows is escaped.
		hostile := strings.Replace(body, "Order export copied", "<script>alert(1)</script>", 1)
		in := decode[incidentReply](t, post(hostile, nil))
		w := api.do(t, request{method: "GET", target: "/v1/incidents/" + in.ID + "/report?format=html", key: api.keys[principal.Security]})
		if strings.Contains(w.Body.String(), "<script>") || !strings.Contains(w.Body.String(), "&lt;script&gt;") {
			t.Fatalf("page does not escape: %s", w.Body)
		}
		// End users and other staff reach no incident.
		for _, key := range []string{api.userToken(t, "yn-1"), api.keys[principal.Agent], api.keys[principal.Reviewer]} {
			wantProblem(t, api.do(t, request{method: "GET", target: "/v1/incidents/" + in.ID, key: key}), http.StatusForbidden, "")
			wantProblem(t, api.do(t, request{method: "POST", target: "/v1/incidents/" + in.ID + "/notify", key: key}), http.StatusForbidden, "")
		}
	})
}
