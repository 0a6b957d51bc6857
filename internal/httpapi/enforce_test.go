package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// enforceAPI is the API with sanctions wired as cmd/steward wires them.
type enforceAPI struct {
	db   *sqlstore.DB
	ix   *enforce.Index
	h    http.Handler
	keys map[principal.Role]string
}

func newEnforceAPI(tb testing.TB, db *sqlstore.DB) *enforceAPI {
	tb.Helper()
	a := newTestAPI(tb, db)
	return &enforceAPI{db: db, ix: a.ix, h: a.handler, keys: a.keys}
}

func (a *enforceAPI) call(tb testing.TB, role principal.Role, method, target, body string, header ...string) *httptest.ResponseRecorder {
	tb.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+a.keys[role])
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

func (a *enforceAPI) counts(tb testing.TB) map[string]int {
	tb.Helper()
	out := map[string]int{}
	for _, table := range []string{"sanctions", "sanction_policies", "audit_entries", "idempotency"} {
		n, err := a.db.Count(context.Background(), table)
		if err != nil {
			tb.Fatal(err)
		}
		out[table] = n
	}
	return out
}

func wantCode(tb testing.TB, w *httptest.ResponseRecorder, status int) {
	tb.Helper()
	if w.Code != status {
		tb.Fatalf("status %d, want %d; body: %s", w.Code, status, w.Body)
	}
}

const spamPolicy = `{"title": {"en": "Spam", "zh-CN": "垃圾信息"}, "clause": {"en": "No bulk messages.", "zh-CN": "不得群发消息。"},
	"ladder": ["warning", "72h", "168h", "360h", "permanent"], "scope": {"services": ["chat"]}}`

func TestSanctionsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newEnforceAPI(t, db)
		wantCode(t, api.call(t, principal.Reviewer, "PUT", "/v1/policies/spam", spamPolicy), http.StatusForbidden)
		wantCode(t, api.call(t, principal.Compliance, "PUT", "/v1/policies/spam", spamPolicy), http.StatusCreated)
		wantCode(t, api.call(t, principal.Compliance, "PUT", "/v1/policies/spam", spamPolicy), http.StatusOK)
		wantCode(t, api.call(t, principal.Service, "PUT", "/v1/accounts/u1", validBody), http.StatusCreated)

		// A strike, retried with its Idempotency-Key, makes one sanction.
		strike := `{"account": "u1", "policy": "spam", "evidence": ["msg:9"]}`
		first := api.call(t, principal.Reviewer, "POST", "/v1/strikes", strike, "Idempotency-Key", "k1")
		wantCode(t, first, http.StatusCreated)
		before := api.counts(t)
		retry := api.call(t, principal.Reviewer, "POST", "/v1/strikes", strike, "Idempotency-Key", "k1")
		wantCode(t, retry, http.StatusCreated)
		if retry.Body.String() != first.Body.String() || retry.Header().Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry answered %s, want the first answer %s", retry.Body, first.Body)
		}
		if after := api.counts(t); after["sanctions"] != before["sanctions"] || after["audit_entries"] != before["audit_entries"] {
			t.Fatalf("retry wrote: %v then %v", before, after)
		}
		second := api.call(t, principal.Reviewer, "POST", "/v1/strikes", strike, "Idempotency-Key", "k2")
		wantCode(t, second, http.StatusCreated)
		var sn enforce.Sanction
		json.Unmarshal(second.Body.Bytes(), &sn)
		if sn.Kind != enforce.Suspend || sn.Author.Name == "" {
			t.Fatalf("second strike: %+v", sn)
		}

		check := func(body string) map[string]any {
			t.Helper()
			w := api.call(t, principal.Service, "POST", "/v1/check", body)
			wantCode(t, w, http.StatusOK)
			var out map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatalf("check answer is not JSON: %v: %s", err, w.Body)
			}
			return out
		}
		got := check(`{"account": "u1", "capability": "chat.send"}`)
		denied := got["denied_by"].([]any)
		if got["allowed"] != false || len(denied) != 1 || denied[0].(map[string]any)["sanction"] != sn.ID ||
			!strings.HasSuffix(denied[0].(map[string]any)["appeal_url"].(string), sn.ID) || len(got["still_allowed"].([]any)) != 4 {
			t.Fatalf("check: %v", got)
		}
		batch := check(`{"checks": [{"account": "u1", "capability": "chat.send"}, {"account": "u1", "capability": "account.appeal"},
			{"account": "stranger", "capability": "chat.send"}, {"account": "u1", "capability": "pay.transfer"}]}`)
		var allowed []any
		for _, r := range batch["results"].([]any) {
			allowed = append(allowed, r.(map[string]any)["allowed"])
		}
		if want := []any{false, true, true, true}; !equalAny(allowed, want) {
			t.Fatalf("batch: allowed %v, want %v", allowed, want)
		}
		wantCode(t, api.call(t, principal.Reviewer, "POST", "/v1/check", `{"account": "u1", "capability": "chat.send"}`), http.StatusForbidden)

		// Lift, retried; then the account is allowed again.
		lift := api.call(t, principal.Reviewer, "POST", "/v1/sanctions/"+sn.ID+"/lift", `{"reason": "wrong person", "wrongful": true}`, "Idempotency-Key", "k3")
		wantCode(t, lift, http.StatusOK)
		wantCode(t, api.call(t, principal.Reviewer, "POST", "/v1/sanctions/"+sn.ID+"/lift", `{"reason": "wrong person", "wrongful": true}`, "Idempotency-Key", "k3"), http.StatusOK)
		wantCode(t, api.call(t, principal.Reviewer, "POST", "/v1/sanctions/"+sn.ID+"/lift", `{"reason": "again"}`), http.StatusConflict)
		if check(`{"account": "u1", "capability": "chat.send"}`)["allowed"] != true {
			t.Fatal("still denied after the lift")
		}

		// History, newest first, a page at a time.
		w := api.call(t, principal.Agent, "GET", "/v1/accounts/u1/sanctions?limit=1", "")
		wantCode(t, w, http.StatusOK)
		var page sanctionPage
		json.Unmarshal(w.Body.Bytes(), &page)
		if len(page.Sanctions) != 1 || page.Sanctions[0].ID != sn.ID || page.Next == "" {
			t.Fatalf("first page: %s", w.Body)
		}
		w = api.call(t, principal.Agent, "GET", "/v1/accounts/u1/sanctions?limit=1&cursor="+page.Next, "")
		json.Unmarshal(w.Body.Bytes(), &page)
		if len(page.Sanctions) != 1 || page.Sanctions[0].ID == sn.ID || page.Next == "" {
			t.Fatalf("second page: %s", w.Body)
		}
		wantCode(t, api.call(t, principal.Agent, "GET", "/v1/sanctions/"+sn.ID, ""), http.StatusOK)

		// A notice for each strike and for the lift, newest first; none for the retry.
		w = api.call(t, principal.Agent, "GET", "/v1/accounts/u1/notices", "")
		wantCode(t, w, http.StatusOK)
		var notices noticePage
		json.Unmarshal(w.Body.Bytes(), &notices)
		if len(notices.Notices) != 3 || notices.Notices[0].Event != enforce.Lifted || notices.Notices[0].Sanction != sn.ID {
			t.Fatalf("notices: %s", w.Body)
		}
		wantCode(t, api.call(t, principal.Agent, "GET", "/v1/sanctions/0190a0a0-0000-7000-8000-000000000000", ""), http.StatusNotFound)
	})
}

func equalAny(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Bad input is a 4xx naming the field, and writes nothing.
func TestSanctionsAPIBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newEnforceAPI(t, db)
		wantCode(t, api.call(t, principal.Admin, "PUT", "/v1/policies/spam", spamPolicy), http.StatusCreated)
		before := api.counts(t)
		for _, c := range []struct {
			method, target, body, field string
			status                      int
		}{
			{"POST", "/v1/sanctions", `{"account": "u1", "kind": "ban", "scope": {"services": ["*"]}, "reason_code": "x", "authority": {"kind": "automated", "rule": "r"}, "end": "tomorrow"}`, "end", 400},
			{"POST", "/v1/sanctions", `{"account": "u1", "kind": "restrict", "scope": {"capabilities": ["account.export"]}, "reason_code": "x", "authority": {"kind": "automated", "rule": "r"}}`, "scope.capabilities[0]", 400},
			{"POST", "/v1/sanctions", `{"account": "u1", "kind": "ban", "scope": {"services": ["*"]}, "reason_code": "x", "authority": {"kind": "automated", "rule": "r"}, "colour": 1}`, "colour", 400},
			{"POST", "/v1/sanctions", `{"account": "u1", "kind": 7}`, "kind", 400},
			// Past 2262 a time no longer fits the stored int64 nanoseconds.
			{"POST", "/v1/sanctions", `{"account": "u1", "kind": "suspend", "scope": {"services": ["chat"]}, "reason_code": "x", "authority": {"kind": "automated", "rule": "r"}, "end": "3000-01-01T00:00:00Z"}`, "end", 400},
			{"POST", "/v1/strikes", `{"account": "u1", "policy": "nope"}`, "policy", 400},
			{"POST", "/v1/strikes", `{"account": "u-typo", "policy": "spam"}`, "account", 404},
			{"POST", "/v1/sanctions", `{"account": "u-typo", "kind": "ban", "scope": {"services": ["*"]}, "reason_code": "x", "authority": {"kind": "automated", "rule": "r"}}`, "account", 404},
			{"POST", "/v1/sanctions/not-an-id/lift", `{"reason": "x"}`, "id", 400},
			{"POST", "/v1/sanctions/0190a0a0-0000-7000-8000-000000000000/lift", `{}`, "reason", 400},
			{"POST", "/v1/sanctions/0190a0a0-0000-7000-8000-000000000000/amend", `{"end": "2020-01-01T00:00:00Z"}`, "end", 400},
			{"PUT", "/v1/policies/spam", `{"title": {"en": "x"}, "clause": {"en": "x", "zh-CN": "x"}, "ladder": ["warning"], "scope": {"services": ["chat"]}}`, "title.zh-CN", 400},
			{"POST", "/v1/check", `{"account": "u 1", "capability": "chat.send"}`, "account", 400},
			{"POST", "/v1/check", `{"checks": [{"account": "u1", "capability": "chat.send"}, {"account": "u1", "capability": "send"}]}`, "checks[1].capability", 400},
			{"POST", "/v1/check", `{"checks": []}`, "checks", 400},
		} {
			for _, idem := range []string{"", "bad-input-key"} {
				w := api.call(t, principal.Admin, c.method, c.target, c.body, "Idempotency-Key", idem)
				if w.Code != c.status || !strings.Contains(w.Body.String(), `"field":"`+c.field+`"`) {
					t.Errorf("%s %s %s: status %d, want %d naming %s; body: %s", c.method, c.target, c.body, w.Code, c.status, c.field, w.Body)
				}
			}
		}
		many := `{"checks": [` + strings.Repeat(`{"account": "u1", "capability": "chat.send"},`, maxChecks) + `{"account": "u1", "capability": "chat.send"}]}`
		wantCode(t, api.call(t, principal.Service, "POST", "/v1/check", many), http.StatusRequestEntityTooLarge)
		if after := api.counts(t); after["sanctions"] != before["sanctions"] || after["sanction_policies"] != before["sanction_policies"] ||
			after["audit_entries"] != before["audit_entries"] || after["idempotency"] != before["idempotency"] {
			t.Fatalf("bad input wrote: %v then %v", before, after)
		}
	})
}

// The role matrix of this file's routes, with the services wired: each role is refused
// (403) or served without an auth or server error.
func TestEnforceRoutesRoles(t *testing.T) {
	api := newEnforceAPI(t, storetest.Open(t, "sqlite"))
	for _, rt := range (&server{}).routes() {
		if !strings.Contains(rt.Path, "polic") && !strings.Contains(rt.Path, "sanction") && !strings.Contains(rt.Path, "strike") &&
			rt.Path != "/v1/check" && !strings.Contains(rt.Path, "notice") && !strings.Contains(rt.Path, "webhook") {
			continue
		}
		target := strings.ReplaceAll(rt.Path, "{id}", "acct-1")
		for _, role := range principal.Roles {
			w := api.call(t, role, rt.Method, target, `{}`)
			allowed := slices.Contains(rt.Roles, role)
			switch {
			case !allowed && w.Code != http.StatusForbidden:
				t.Errorf("%s %s as %s: status %d, want 403", rt.Method, rt.Path, role, w.Code)
			case allowed && (w.Code == 401 || w.Code == 403 || w.Code >= 500):
				t.Errorf("%s %s as %s: status %d; body %s", rt.Method, rt.Path, role, w.Code, w.Body)
			}
		}
	}
}
