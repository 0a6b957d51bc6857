package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

const orderSHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// call sends method target with body as role's key.
func (a *testAPI) call(tb testing.TB, role principal.Role, method, target, body string) *httptest.ResponseRecorder {
	tb.Helper()
	return a.do(tb, request{method: method, target: target, key: a.keys[role], body: body})
}

// fund credits account with amount CNY from platform:deposits, creating the account.
func (a *testAPI) fund(tb testing.TB, id, account string, amount int64) {
	tb.Helper()
	if w := a.put(tb, account, validBody); w.Code/100 != 2 {
		tb.Fatalf("put %s: %d %s", account, w.Code, w.Body)
	}
	w := a.call(tb, principal.Service, "POST", "/v1/transfers",
		fmt.Sprintf(`{"id": %q, "from": "platform:deposits", "to": "user:%s", "amount": %d, "currency": "CNY"}`, id, account, amount))
	wantStatus(tb, w, http.StatusCreated)
}

// holdAll holds every CNY of account under the legal order ref, as compliance.
func (a *testAPI) holdAll(tb testing.TB, account, ref string) ledger.Hold {
	tb.Helper()
	w := a.call(tb, principal.Compliance, "POST", "/v1/holds", fmt.Sprintf(`{"account": %q, "currency": "CNY", "amount": "all",
		"authority": {"kind": "legal_order", "issuer": "Wuhan PSB", "reference": %q, "document_sha256": %q}, "reason": "funds frozen by order"}`, account, ref, orderSHA))
	wantStatus(tb, w, http.StatusCreated)
	return decode[ledger.Hold](tb, w)
}

// fundsHeldProblem decodes a 409 funds_held problem with the holds it names.
type fundsHeldProblem struct {
	Type  string `json:"type"`
	Holds []struct {
		ID        string `json:"id"`
		Kind      string `json:"kind"`
		Issuer    string `json:"issuer"`
		Reference string `json:"reference"`
	} `json:"holds"`
	Available int64 `json:"available"`
}

func wantFundsHeld(tb testing.TB, w *httptest.ResponseRecorder, ref string) fundsHeldProblem {
	tb.Helper()
	wantStatus(tb, w, http.StatusConflict)
	var p fundsHeldProblem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		tb.Fatal(err)
	}
	if p.Type != "urn:steward:problem:funds_held" || len(p.Holds) == 0 || p.Holds[0].Reference != ref || p.Holds[0].Kind != "legal_order" {
		tb.Fatalf("problem %s, want funds_held naming %s", w.Body, ref)
	}
	return p
}

func (a *testAPI) wallet(tb testing.TB, account string) ledger.Balance {
	tb.Helper()
	w := a.get(tb, "/v1/accounts/"+account+"/wallets")
	wantStatus(tb, w, http.StatusOK)
	r := decode[walletsReply](tb, w)
	for _, b := range r.Wallets {
		if b.Currency == "CNY" {
			return b
		}
	}
	return ledger.Balance{}
}

func (a *testAPI) ledgerRows(tb testing.TB) [3]int {
	tb.Helper()
	var out [3]int
	for i, table := range []string{"ledger_transfers", "ledger_holds", "ledger_withdrawals"} {
		n, err := a.db.Count(tb.Context(), table)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = n
	}
	return out
}

func TestLedgerRefusesHostileInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		api.fund(t, "d-1", "u1", 100)
		before, rows := api.ledgerRows(t), api.rows(t)
		cases := []struct {
			role         principal.Role
			method, path string
			body         string
			fields       []string
		}{
			{principal.Service, "POST", "/v1/transfers", `{"id": "", "from": "bank", "to": "user:", "amount": 0, "currency": "cny", "kind": "A B"}`,
				[]string{"id", "from", "to", "amount", "currency", "kind"}},
			{principal.Service, "POST", "/v1/transfers", `{"id": "t", "from": "platform:deposits", "to": "user:u1", "amount": 1e309, "currency": "CNY"}`, []string{"amount"}},
			{principal.Service, "POST", "/v1/transfers", `{"id": "t", "from": "platform:deposits", "to": "user:u1", "amount": 1, "currency": "CNY", "colour": 1}`, []string{"colour"}},
			{principal.Service, "POST", "/v1/transfers", `{"id": "t", "id": "u", "from": "platform:deposits", "to": "user:u1", "amount": 1, "currency": "CNY"}`, nil},
			{principal.Service, "POST", "/v1/transfers", `{"id": "t", "from": "platform:deposits", "to": "user:u1", "amount": 1000000000000000001, "currency": "CNY"}`, []string{"amount"}},
			{principal.Service, "POST", "/v1/transfers:batch", `{"transfers": []}`, []string{"transfers"}},
			{principal.Service, "POST", "/v1/transfers:batch", `{"transfers": [{"id": "a", "from": "platform:deposits", "to": "user:u1", "amount": 1, "currency": "CNY"}, {"id": "b", "from": "x", "to": "user:u1", "amount": -1, "currency": "CNY"}]}`,
				[]string{"transfers[1].from", "transfers[1].amount"}},
			{principal.Compliance, "POST", "/v1/holds", `{"account": "", "currency": "yuan", "amount": -5, "authority": {"kind": "legal_order"}, "reason": ""}`, []string{"amount"}},
			{principal.Compliance, "POST", "/v1/holds", `{"account": "", "currency": "yuan", "amount": 5, "authority": {"kind": "legal_order"}, "reason": ""}`,
				[]string{"account", "currency", "authority.issuer", "authority.reference", "authority.document_sha256", "reason"}},
			{principal.Compliance, "POST", "/v1/holds", `{"account": "u1", "currency": "CNY", "amount": "some", "authority": {"kind": "policy", "reference": "r"}, "reason": "x"}`, []string{"amount"}},
			{principal.Compliance, "POST", "/v1/holds", `{"account": "u1", "currency": "CNY", "amount": 1, "authority": {"kind": "policy", "reference": "r"}, "reason": "x", "expires_at": "2001-01-01T00:00:00Z"}`, []string{"expires_at"}},
			{principal.Compliance, "POST", "/v1/holds", `{"account": "nobody", "currency": "CNY", "amount": 1, "authority": {"kind": "policy", "reference": "r"}, "reason": "x"}`, []string{"account"}},
			{principal.Service, "POST", "/v1/withdrawals", `{"id": "w 1", "account": "", "amount": 0, "currency": "", "destination": ""}`,
				[]string{"id", "account", "amount", "currency", "destination"}},
			{principal.Agent, "POST", "/v1/compensations", `{"account": "u1", "amount": 0, "currency": "CNY", "case_ref": ""}`, []string{"amount", "case_ref"}},
			{principal.Admin, "PUT", "/v1/platform-accounts/Bad%20Name", `{"currency": "CNY"}`, []string{"name"}},
		}
		for _, c := range cases {
			t.Run(c.path+" "+c.body, func(t *testing.T) {
				w := api.call(t, c.role, c.method, c.path, c.body)
				wantProblem(t, w, http.StatusBadRequest, "")
				for _, f := range c.fields {
					wantProblem(t, w, http.StatusBadRequest, f)
				}
			})
		}
		if got := api.ledgerRows(t); got != before {
			t.Fatalf("ledger rows %v, want %v", got, before)
		}
		api.wantRows(t, rows)
		// A batch over 8,000 is refused whole.
		var b strings.Builder
		b.WriteString(`{"transfers": [`)
		for i := range ledger.MaxBatch + 1 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"id": "b-%d", "from": "platform:deposits", "to": "user:u1", "amount": 1, "currency": "CNY"}`, i)
		}
		b.WriteString("]}")
		wantProblem(t, api.call(t, principal.Service, "POST", "/v1/transfers:batch", b.String()), http.StatusBadRequest, "transfers")
		if got := api.ledgerRows(t); got != before {
			t.Fatalf("ledger rows %v, want %v", got, before)
		}
	})
}

func TestTransferRetries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		api.fund(t, "d-1", "u1", 100)
		body := `{"id": "d-1", "from": "platform:deposits", "to": "user:u1", "amount": 100, "currency": "CNY"}`
		wantStatus(t, api.call(t, principal.Service, "POST", "/v1/transfers", body), http.StatusOK)
		p := wantProblem(t, api.call(t, principal.Service, "POST", "/v1/transfers", strings.Replace(body, "100", "101", 1)), http.StatusConflict, "")
		if !strings.Contains(p.Detail, "d-1") {
			t.Errorf("detail %q does not name the transfer", p.Detail)
		}
		// With an Idempotency-Key the route replays its first answer.
		req := request{method: "POST", target: "/v1/transfers", key: api.keys[principal.Service], header: http.Header{"Idempotency-Key": {"k-1"}},
			body: `{"id": "t-2", "from": "platform:deposits", "to": "user:u1", "amount": 5, "currency": "CNY"}`}
		wantStatus(t, api.do(t, req), http.StatusCreated)
		w := api.do(t, req)
		wantStatus(t, w, http.StatusCreated)
		if w.Header().Get("Idempotent-Replayed") != "true" {
			t.Error("no Idempotent-Replayed")
		}
		if b := api.wallet(t, "u1"); b.Posted != 105 {
			t.Fatalf("posted %d, want 105", b.Posted)
		}
	})
}

// TestUserReachesOnlyOwnWallets: a user token sees its own wallets, statements and
// withdrawals, and another account's are not found.
func TestUserReachesOnlyOwnWallets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		api.fund(t, "d-a", "alice", 100)
		api.fund(t, "d-b", "bob", 100)
		alice, bob := api.userToken(t, "alice"), api.userToken(t, "bob")
		w := api.do(t, request{method: "GET", target: "/v1/me/wallets", key: alice})
		wantStatus(t, w, http.StatusOK)
		mine := decode[walletsReply](t, w)
		if mine.Account != "alice" || len(mine.Wallets) != 1 || mine.Wallets[0].Available != 100 {
			t.Fatalf("me/wallets = %+v", mine)
		}
		bobs := api.wallet(t, "bob").Wallet
		wantStatus(t, api.do(t, request{method: "GET", target: "/v1/me/wallets/" + mine.Wallets[0].Wallet + "/entries", key: alice}), http.StatusOK)
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/me/wallets/" + bobs + "/entries", key: alice}), http.StatusNotFound, "")

		// A withdrawal through /v1/me takes its account from the token, never the body.
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/withdrawals", key: alice,
			body: `{"id": "w-1", "account": "bob", "amount": 10, "currency": "CNY", "destination": "bank:1"}`}), http.StatusBadRequest, "account")
		w = api.do(t, request{method: "POST", target: "/v1/me/withdrawals", key: bob, body: `{"id": "w-b", "amount": 10, "currency": "CNY", "destination": "bank:1"}`})
		wantStatus(t, w, http.StatusCreated)
		wantStatus(t, api.do(t, request{method: "GET", target: "/v1/me/withdrawals/w-b", key: bob}), http.StatusOK)
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/me/withdrawals/w-b", key: alice}), http.StatusNotFound, "")
		if b := api.wallet(t, "bob"); b.Pending != 10 || b.Available != 90 {
			t.Fatalf("bob = %+v", b)
		}
		if b := api.wallet(t, "alice"); b.Pending != 0 {
			t.Fatalf("alice = %+v", b)
		}
	})
}

// TestWithdrawalUnderBan: a banned user may still withdraw what is not held; what is
// held is refused naming the order, whatever the decision index says.
func TestWithdrawalUnderBan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		api.fund(t, "d-1", "u1", 100)
		wantStatus(t, api.call(t, principal.Reviewer, "POST", "/v1/sanctions", `{"account": "u1", "kind": "ban", "scope": {"services": ["*"]},
			"reason_code": "fraud", "authority": {"kind": "automated", "rule": "r-1"}}`), http.StatusCreated)
		if d := api.app.Enforce.Decide(nil, "u1", "wallet.transfer", api.app.Enforce.Now()); len(d) == 0 {
			t.Fatal("the ban denies nothing")
		}
		token := api.userToken(t, "u1")
		wantStatus(t, api.do(t, request{method: "POST", target: "/v1/me/withdrawals", key: token,
			body: `{"id": "w-1", "amount": 30, "currency": "CNY", "destination": "bank:1"}`}), http.StatusCreated)

		// A hold placed through another process: this one's index and caches know nothing of it.
		other := storetest.NewApp(t, db, app.Config{})
		h, err := other.Ledger.PlaceHold(principal.NewContext(t.Context(), principal.Key("carol", principal.Compliance, "k")), ledger.HoldRequest{
			Account: "u1", Currency: "CNY", All: true, Reason: "freeze",
			Authority: ledger.HoldAuthority{Authority: ledgerOrder("WH-9"), DocumentSHA256: orderSHA}})
		if err != nil {
			t.Fatal(err)
		}
		p := wantFundsHeld(t, api.do(t, request{method: "POST", target: "/v1/me/withdrawals", key: token,
			body: `{"id": "w-2", "amount": 1, "currency": "CNY", "destination": "bank:1"}`}), "WH-9")
		if p.Holds[0].ID != h.ID || p.Available != 0 {
			t.Fatalf("problem = %+v", p)
		}
		if b := api.wallet(t, "u1"); b.Posted != 100 || b.Held != 70 || b.Pending != 30 || b.Available != 0 {
			t.Fatalf("wallet = %+v", b)
		}
		// More than there is at all is insufficient_funds.
		w := api.call(t, principal.Service, "POST", "/v1/withdrawals", `{"id": "w-3", "account": "u1", "amount": 71, "currency": "CNY", "destination": "bank:1"}`)
		wantStatus(t, w, http.StatusConflict)
		if !strings.Contains(w.Body.String(), "urn:steward:problem:insufficient_funds") {
			t.Fatalf("body %s", w.Body)
		}
		// The one reserved before the hold is paid.
		w = api.call(t, principal.Service, "POST", "/v1/withdrawals/w-1/complete", "")
		wantStatus(t, w, http.StatusOK)
		if b := api.wallet(t, "u1"); b.Posted != 70 || b.Held != 70 || b.Pending != 0 {
			t.Fatalf("wallet = %+v", b)
		}
	})
}

func ledgerOrder(ref string) authority.Authority {
	return authority.Authority{Kind: authority.LegalOrder, Issuer: "Wuhan PSB", Reference: ref}
}
