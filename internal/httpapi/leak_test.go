package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// leakAPI sets up accounts p-0 … p-5 with personal data, a partner purpose the service
// may state, and four canaries.
func leakAPI(t *testing.T, db *sqlstore.DB) *testAPI {
	t.Helper()
	api := newTestAPI(t, db)
	for i := range 6 {
		id := fmt.Sprintf("p-%d", i)
		wantStatus(t, api.put(t, id, validBody), http.StatusCreated)
		wantStatus(t, api.do(t, request{method: "PUT", target: "/v1/accounts/" + id + "/pii", key: api.keys[principal.Service],
			body: fmt.Sprintf(`{"name": "客户%d", "phone": "+86139%08d", "address": "浙江省杭州市西湖区文三路%d号"}`, i, i, i)}), http.StatusOK)
	}
	wantStatus(t, api.do(t, request{method: "PUT", target: "/v1/pii/purposes/partner", key: api.keys[principal.Admin],
		body: `{"roles": ["service", "compliance"], "fields": ["name", "phone", "address"], "per_actor_daily": 1000}`}), http.StatusCreated)
	for i := 1; i <= 4; i++ {
		wantStatus(t, api.do(t, request{method: "PUT", target: fmt.Sprintf("/v1/canaries/c-%d", i), key: api.keys[principal.Security],
			body: fmt.Sprintf(`{"name": "金丝雀%d", "phone": "+86188%08d", "address": "上海市浦东新区金丝雀路%d号"}`, i, i, i)}), http.StatusCreated)
	}
	return api
}

func TestSharesAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := leakAPI(t, db)
		svc := api.keys[principal.Service]
		body := `{"recipient": "logistics:sf-express", "purpose": "partner", "fields": ["name", "phone"], "accounts": ["p-0", "p-1", "p-2"]}`
		w := api.do(t, request{method: "POST", target: "/v1/shares", key: svc, body: body})
		wantStatus(t, w, http.StatusCreated)
		got := decode[leak.Shared](t, w)
		if got.Share.Accounts != 3 || got.Share.Records != 6 || len(got.Records) != 6 || got.Records[0].Phone == "" {
			t.Fatalf("share = %s", w.Body)
		}
		// The share as read holds no value, nor its canaries.
		w = api.do(t, request{method: "GET", target: "/v1/shares/" + got.Share.ID, key: api.keys[principal.Compliance]})
		wantStatus(t, w, http.StatusOK)
		if b := w.Body.String(); strings.Contains(b, "+86139") || strings.Contains(b, "客户") || strings.Contains(b, "c-1") || !strings.Contains(b, got.Share.Commitment) {
			t.Fatalf("GET share = %s", b)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/shares/nope", key: svc}), http.StatusNotFound, "")

		// A share's answer is never stored to replay.
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/shares", key: svc, body: body,
			header: http.Header{"Idempotency-Key": {"k-1"}}}), http.StatusBadRequest, "Idempotency-Key")

		// Hostile input: every bad field at once, nothing written.
		before := api.rows(t)
		w = api.do(t, request{method: "POST", target: "/v1/shares", key: svc,
			body: `{"recipient": "", "purpose": "", "fields": ["ssn"], "accounts": [], "phone_mode": "fax"}`})
		p := wantProblem(t, w, http.StatusBadRequest, "")
		var fields []string
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
		}
		if want := []string{"recipient", "purpose", "fields", "phone_mode", "accounts"}; !slices.Equal(fields, want) {
			t.Fatalf("fields %v, want %v", fields, want)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/shares", key: svc, body: `{"recipient": "x", "Accounts": []}`}), http.StatusBadRequest, "")
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/shares", key: svc,
			body: `{"recipient": "x", "purpose": "partner", "fields": ["name"], "accounts": ["p-0", "ghost"]}`}), http.StatusBadRequest, "accounts")
		many := make([]string, leak.MaxAccounts+1)
		for i := range many {
			many[i] = fmt.Sprintf("a%d", i)
		}
		b, _ := json.Marshal(map[string]any{"recipient": "x", "purpose": "partner", "fields": []string{"name"}, "accounts": many})
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/shares", key: svc, body: string(b)}), http.StatusBadRequest, "accounts")
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/shares", key: svc, body: `{"recipient": "` + strings.Repeat("a", maxShareBody) + `"}`}), http.StatusRequestEntityTooLarge, "")
		api.wantRows(t, before)
		// A role the purpose does not name.
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/shares", key: api.keys[principal.Security], body: body}), http.StatusForbidden, "")
		// A user token reaches no share.
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/shares/" + got.Share.ID, key: api.userToken(t, "p-0")}), http.StatusForbidden, "")
	})
}

func TestCanariesAndLeaksAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := leakAPI(t, db)
		svc, sec := api.keys[principal.Service], api.keys[principal.Security]
		share := func(recipient string, accts ...string) *leak.Shared {
			b, _ := json.Marshal(leak.ShareRequest{Recipient: recipient, Purpose: "partner", Fields: []string{"name", "phone", "address"}, Accounts: accts})
			w := api.do(t, request{method: "POST", target: "/v1/shares", key: svc, body: string(b)})
			wantStatus(t, w, http.StatusCreated)
			sh := decode[leak.Shared](t, w)
			return &sh
		}
		a := share("logistics:sf-express", "p-0", "p-1", "p-2", "p-3")
		b := share("seller:shop-1", "p-2", "p-3", "p-4", "p-5")

		// Canaries: replaced with 200, refused whole when bad.
		wantStatus(t, api.do(t, request{method: "PUT", target: "/v1/canaries/c-1", key: sec, body: `{"name": "金丝雀1", "phone": "+8618800000001", "address": "上海市浦东新区金丝雀路1号"}`}), http.StatusOK)
		p := wantProblem(t, api.do(t, request{method: "PUT", target: "/v1/canaries/Bad", key: sec, body: `{"phone": "1", "extra": {"k": "v"}}`}), http.StatusBadRequest, "id")
		if len(p.Errors) != 3 {
			t.Fatalf("bad canary: %+v", p.Errors)
		}
		wantStatus(t, api.do(t, request{method: "GET", target: "/v1/canaries/c-1", key: sec}), http.StatusOK)

		// A hit names the shares that carried the canary.
		cw := api.do(t, request{method: "GET", target: "/v1/shares/" + a.Share.ID, key: svc})
		wantStatus(t, cw, http.StatusOK)
		carried, err := db.Leak().GetShare(t.Context(), a.Share.ID)
		if err != nil {
			t.Fatal(err)
		}
		w := api.do(t, request{method: "POST", target: "/v1/canaries/" + carried.Canaries[0] + "/hits", key: svc,
			body: `{"at": "2026-01-02T03:04:05Z", "channel": "phone", "detail": "a caller posing as customer service"}`})
		wantStatus(t, w, http.StatusOK)
		if h := decode[leak.HitReply](t, w); !slices.Contains(h.Shares, a.Share.ID) || !slices.Contains(h.Recipients, "logistics:sf-express") {
			t.Fatalf("hit = %s", w.Body)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/canaries/c-1/hits", key: svc, body: `{"channel": "Phone!"}`}), http.StatusBadRequest, "at")
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/canaries/c-9/hits", key: svc, body: `{"at": "2026-01-02T03:04:05Z", "channel": "sms"}`}), http.StatusNotFound, "")

		// An investigation of rows from a's share only it had.
		var sample strings.Builder
		for _, r := range a.Records {
			if r.Name == "客户0" || r.Name == "客户1" || r.Name == "客户2" {
				fmt.Fprintf(&sample, `{"name": %q, "phone": %q, "order": {"sku": "x-1"}}`+"\n", r.Name, r.Phone)
			}
		}
		post := func(body string, h http.Header) *leak.Leak {
			w := api.do(t, request{method: "POST", target: "/v1/leaks?seen_at=2099-01-01T00:00:00Z", key: sec, body: body, header: h})
			wantStatus(t, w, http.StatusCreated)
			l := decode[leak.Leak](t, w)
			return &l
		}
		l := post(sample.String(), http.Header{"Idempotency-Key": {"inv-1"}})
		if l.Matched != 3 || l.Suspects[0].ID != a.Share.ID || l.Suspects[0].Evidence.Rows != 3 {
			t.Fatalf("investigation = %+v", l)
		}
		for _, s := range l.Suspects {
			if s.ID == b.Share.ID && s.Weight >= l.Suspects[0].Weight {
				t.Fatalf("the seller ranks with logistics: %+v", l.Suspects)
			}
		}
		// A retry answers the first investigation.
		before := api.rows(t)
		if again := post(sample.String(), http.Header{"Idempotency-Key": {"inv-1"}}); again.ID != l.ID {
			t.Fatalf("replay made investigation %s, not %s", again.ID, l.ID)
		}
		api.wantRows(t, before)
		w = api.do(t, request{method: "GET", target: "/v1/leaks/" + l.ID, key: sec})
		wantStatus(t, w, http.StatusOK)
		if got := decode[leak.Leak](t, w); got.ID != l.ID || len(got.Suspects) != len(l.Suspects) {
			t.Fatalf("GET leak = %s", w.Body)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/leaks/" + l.ID, key: api.keys[principal.Compliance]}), http.StatusForbidden, "")

		// Bad lines are named by line, all at once; nothing is written.
		p = wantProblem(t, api.do(t, request{method: "POST", target: "/v1/leaks?seen_at=yesterday", key: sec,
			body: "{\"phone\": \"12\"}\n\n{\"nope\": 1}\n{}\n{\"name\": \"x\", \"card_last4\": \"12\"}\n"}), http.StatusBadRequest, "")
		fields := []string{}
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
		}
		if want := []string{"seen_at", "line[3].nope"}; !slices.Equal(fields, want) {
			t.Fatalf("fields %v, want %v", fields, want)
		}
		p = wantProblem(t, api.do(t, request{method: "POST", target: "/v1/leaks", key: sec,
			body: "{\"phone\": \"12\"}\n\n{}\n{\"name\": \"x\", \"card_last4\": \"12\"}\n"}), http.StatusBadRequest, "")
		fields = fields[:0]
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
		}
		if want := []string{"line[1].phone", "line[3]", "line[4].card_last4"}; !slices.Equal(fields, want) {
			t.Fatalf("fields %v, want %v", fields, want)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/leaks", key: sec, body: "{\"name\": \"" + strings.Repeat("x", maxSampleLine) + "\"}\n"}), http.StatusBadRequest, "line[1]")
		api.wantRows(t, before)
	})
}
