package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

var (
	service     = principal.NewContext(context.Background(), principal.Key("backend", principal.Service, "k-svc"))
	compliance  = principal.NewContext(context.Background(), principal.Key("carol", principal.Compliance, "k-carol"))
	complianceB = principal.NewContext(context.Background(), principal.Key("dave", principal.Compliance, "k-dave"))
	security    = principal.NewContext(context.Background(), principal.Key("sam", principal.Security, "k-sam"))
	agent       = principal.NewContext(context.Background(), principal.Key("ann", principal.Agent, "k-ann"))
)

var riskRule = authority.Authority{Kind: authority.Automated, Rule: "risk-1"}

const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

var order = ledger.HoldAuthority{Authority: authority.Authority{Kind: authority.LegalOrder, Issuer: "Wuhan PSB", Reference: "WH-2026-118"}, DocumentSHA256: sha}

// newLedger returns the ledger service over db with plain accounts ids.
func newLedger(t *testing.T, db *sqlstore.DB, ids ...string) *ledger.Service {
	t.Helper()
	a := storetest.NewApp(t, db, app.Config{})
	for _, id := range ids {
		if _, err := a.Accounts.Put(service, &accounts.Account{ID: id, Region: "hb", Locale: "en", CreatedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	return a.Ledger
}

// deposit credits account with amount CNY from platform:deposits.
func deposit(t *testing.T, l *ledger.Service, id, account string, amount int64) {
	t.Helper()
	if _, _, err := l.Transfer(service, &ledger.Transfer{ID: id, From: ledger.Deposits, To: ledger.UserName(account), Amount: amount, Currency: "CNY"}); err != nil {
		t.Fatalf("deposit %s: %v", id, err)
	}
}

// balance returns account's CNY balance.
func balance(t *testing.T, l *ledger.Service, account string) ledger.Balance {
	t.Helper()
	bs, err := l.Wallets(service, account)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Currency == "CNY" {
			return b
		}
	}
	return ledger.Balance{Currency: "CNY"}
}

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("err = %v (%s), want %s", err, errs.CodeOf(err), code)
	}
}

func wantBalance(t *testing.T, got ledger.Balance, posted, held, pending, available int64) {
	t.Helper()
	if got.Posted != posted || got.Held != held || got.Pending != pending || got.Available != available {
		t.Fatalf("balance = posted %d held %d pending %d available %d, want %d %d %d %d",
			got.Posted, got.Held, got.Pending, got.Available, posted, held, pending, available)
	}
}

func TestTransfers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := newLedger(t, db, "u-1", "u-2")
		deposit(t, l, "d-1", "u-1", 1000)
		tr := &ledger.Transfer{ID: "t-1", From: "user:u-1", To: "user:u-2", Amount: 300, Currency: "CNY", Metadata: map[string]string{"order": "o-9"}}
		got, replayed, err := l.Transfer(service, tr)
		if err != nil || replayed || got.Kind != "transfer" {
			t.Fatalf("Transfer = %+v, %v, %v", got, replayed, err)
		}
		wantBalance(t, balance(t, l, "u-1"), 700, 0, 0, 700)
		wantBalance(t, balance(t, l, "u-2"), 300, 0, 0, 300)

		// A retry returns the first result and moves nothing; another body is a conflict.
		again, replayed, err := l.Transfer(service, &ledger.Transfer{ID: "t-1", From: "user:u-1", To: "user:u-2", Amount: 300, Currency: "CNY", Metadata: map[string]string{"order": "o-9"}})
		if err != nil || !replayed || !again.CreatedAt.Equal(got.CreatedAt) {
			t.Fatalf("retry = %+v, %v, %v", again, replayed, err)
		}
		_, _, err = l.Transfer(service, &ledger.Transfer{ID: "t-1", From: "user:u-1", To: "user:u-2", Amount: 301, Currency: "CNY"})
		wantCode(t, err, errs.Conflict)
		wantBalance(t, balance(t, l, "u-1"), 700, 0, 0, 700)

		// A user wallet never goes below zero.
		_, _, err = l.Transfer(service, &ledger.Transfer{ID: "t-2", From: "user:u-1", To: "user:u-2", Amount: 701, Currency: "CNY"})
		wantCode(t, err, errs.NoFunds)
		// Nor does a wallet the user has not got.
		_, _, err = l.Transfer(service, &ledger.Transfer{ID: "t-3", From: "user:u-1", To: "user:u-2", Amount: 1, Currency: "USD"})
		wantCode(t, err, errs.NoFunds)
		// A platform account that is not standard must be opened first.
		_, _, err = l.Transfer(service, &ledger.Transfer{ID: "t-4", From: "platform:promo", To: "user:u-2", Amount: 1, Currency: "CNY"})
		wantCode(t, err, errs.Invalid)
		if _, err := l.OpenPlatform(service, "platform:promo", "CNY", true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := l.Transfer(service, &ledger.Transfer{ID: "t-4", From: "platform:promo", To: "user:u-2", Amount: 1, Currency: "CNY"}); err != nil {
			t.Fatal(err)
		}
		// An account that does not exist has no wallet to credit.
		_, _, err = l.Transfer(service, &ledger.Transfer{ID: "t-5", From: ledger.Deposits, To: "user:nobody", Amount: 1, Currency: "CNY"})
		wantCode(t, err, errs.Invalid)

		// The statement shows each leg with the balance after it, newest first.
		w := balance(t, l, "u-1").Wallet
		es, err := l.Entries(service, w, 0, 10)
		if err != nil || len(es) != 2 || es[0].Amount != -300 || es[0].Balance != 700 || es[1].Amount != 1000 || es[1].Transfer != "d-1" {
			t.Fatalf("entries = %+v, %v", es, err)
		}
		older, err := l.Entries(service, w, es[0].ID, 10)
		if err != nil || len(older) != 1 || older[0].ID != es[1].ID {
			t.Fatalf("older entries = %+v, %v", older, err)
		}
	})
}

func TestTransferNamesEveryBadField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := newLedger(t, db)
		_, _, err := l.Transfer(service, &ledger.Transfer{ID: "steward:x", From: "bank", To: "user:", Amount: -1, Currency: "cny", Kind: "Bad Kind"})
		wantCode(t, err, errs.Invalid)
		var names []string
		for _, f := range errs.FieldsOf(err) {
			names = append(names, f.Field)
		}
		for _, want := range []string{"id", "from", "to", "amount", "currency", "kind"} {
			if !slices.Contains(names, want) {
				t.Errorf("fields %v lack %s", names, want)
			}
		}
	})
}

func TestBatchIsAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := newLedger(t, db, "u-1", "u-2")
		// A later transfer may spend what an earlier one credited.
		_, err := l.TransferBatch(service, []*ledger.Transfer{
			{ID: "b-1", From: ledger.Deposits, To: "user:u-1", Amount: 100, Currency: "CNY"},
			{ID: "b-2", From: "user:u-1", To: "user:u-2", Amount: 100, Currency: "CNY"},
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.TransferBatch(service, []*ledger.Transfer{
			{ID: "b-3", From: ledger.Deposits, To: "user:u-1", Amount: 50, Currency: "CNY"},
			{ID: "b-4", From: "user:u-2", To: "user:u-1", Amount: 101, Currency: "CNY"},
		})
		wantCode(t, err, errs.NoFunds)
		if !strings.Contains(err.Error(), "transfers[1].from") {
			t.Errorf("err = %v, want it to name transfers[1].from", err)
		}
		wantBalance(t, balance(t, l, "u-1"), 0, 0, 0, 0)
		wantBalance(t, balance(t, l, "u-2"), 100, 0, 0, 100)
		_, err = l.TransferBatch(service, []*ledger.Transfer{
			{ID: "b-5", From: ledger.Deposits, To: "user:u-1", Amount: 50, Currency: "CNY"},
			{ID: "b-5", From: ledger.Deposits, To: "user:u-1", Amount: 50, Currency: "CNY"},
		})
		wantCode(t, err, errs.Invalid)
		// A retried batch posts only what it had not.
		out, err := l.TransferBatch(service, []*ledger.Transfer{
			{ID: "b-1", From: ledger.Deposits, To: "user:u-1", Amount: 100, Currency: "CNY"},
			{ID: "b-6", From: ledger.Deposits, To: "user:u-1", Amount: 7, Currency: "CNY"},
		})
		if err != nil || len(out) != 2 {
			t.Fatal(out, err)
		}
		wantBalance(t, balance(t, l, "u-1"), 7, 0, 0, 7)
	})
}

func TestHoldsAndReleases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := newLedger(t, db, "u-1")
		deposit(t, l, "d-1", "u-1", 1000)

		// Only compliance holds under a legal order; security holds for platform risk.
		req := ledger.HoldRequest{Account: "u-1", Currency: "CNY", Amount: 600, Authority: order, Reason: "court freeze"}
		_, err := l.PlaceHold(security, req)
		wantCode(t, err, errs.Forbidden)
		_, err = l.PlaceHold(agent, req)
		wantCode(t, err, errs.Forbidden)
		noDoc := req
		noDoc.Authority.DocumentSHA256 = ""
		_, err = l.PlaceHold(compliance, noDoc)
		wantCode(t, err, errs.Invalid)
		h, err := l.PlaceHold(compliance, req)
		if err != nil {
			t.Fatal(err)
		}
		wantBalance(t, balance(t, l, "u-1"), 1000, 600, 0, 400)

		// A withdrawal beyond what is free names the hold, its authority and reference.
		_, _, err = l.Withdraw(service, &ledger.Withdrawal{ID: "w-1", Account: "u-1", Amount: 500, Currency: "CNY", Destination: "bank:1"})
		wantCode(t, err, errs.FundsHeld)
		var e *errs.Error
		if !errors.As(err, &e) || !strings.Contains(e.Message, h.ID) || !strings.Contains(e.Message, "WH-2026-118") || e.Extensions["holds"] == nil {
			t.Fatalf("funds_held = %#v", err)
		}
		// So does a transfer out.
		_, _, err = l.Transfer(service, &ledger.Transfer{ID: "t-1", From: "user:u-1", To: ledger.Fees, Amount: 401, Currency: "CNY"})
		wantCode(t, err, errs.FundsHeld)

		// A release of a legal order's hold waits for a second person.
		rel, err := l.RequestRelease(compliance, h.ID, ledger.ReleaseRequest{Amount: 200, Reason: "verified: salary"})
		if err != nil || rel.State != ledger.Requested {
			t.Fatalf("release = %+v, %v", rel, err)
		}
		wantBalance(t, balance(t, l, "u-1"), 1000, 600, 0, 400)
		_, err = l.ApproveRelease(compliance, h.ID, rel.ID)
		wantCode(t, err, errs.Forbidden)
		_, err = l.ApproveRelease(security, h.ID, rel.ID)
		wantCode(t, err, errs.Forbidden)
		if rel, err = l.ApproveRelease(complianceB, h.ID, rel.ID); err != nil || rel.State != ledger.Applied || rel.ApprovedBy.Name != "dave" {
			t.Fatalf("approve = %+v, %v", rel, err)
		}
		wantBalance(t, balance(t, l, "u-1"), 1000, 400, 0, 600)
		_, err = l.ApproveRelease(complianceB, h.ID, rel.ID)
		wantCode(t, err, errs.Conflict)
		_, err = l.RequestRelease(compliance, h.ID, ledger.ReleaseRequest{Amount: 401, Reason: "too much"})
		wantCode(t, err, errs.Invalid)

		// "all" holds the balance and every later credit, until released.
		risk := ledger.HoldRequest{Account: "u-1", Currency: "CNY", All: true, Reason: "account takeover suspected",
			Authority: ledger.HoldAuthority{Authority: authority.Authority{Kind: authority.Automated, Rule: "ato-7"}}}
		all, err := l.PlaceHold(security, risk)
		if err != nil {
			t.Fatal(err)
		}
		deposit(t, l, "d-2", "u-1", 50)
		wantBalance(t, balance(t, l, "u-1"), 1050, 1050, 0, 0)
		_, err = l.RequestRelease(security, all.ID, ledger.ReleaseRequest{Amount: 5, Reason: "part"})
		wantCode(t, err, errs.Invalid)
		// A platform risk hold is released by one person.
		if rel, err := l.RequestRelease(security, all.ID, ledger.ReleaseRequest{All: true, Reason: "owner verified"}); err != nil || rel.State != ledger.Applied {
			t.Fatalf("release = %+v, %v", rel, err)
		}
		wantBalance(t, balance(t, l, "u-1"), 1050, 400, 0, 650)
		_, err = l.RequestRelease(security, all.ID, ledger.ReleaseRequest{All: true, Reason: "again"})
		wantCode(t, err, errs.Conflict)
	})
}

func TestWithdrawals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := newLedger(t, db, "u-1")
		deposit(t, l, "d-1", "u-1", 1000)
		w := &ledger.Withdrawal{ID: "w-1", Account: "u-1", Amount: 300, Currency: "CNY", Destination: "bank:6222"}
		got, replayed, err := l.Withdraw(service, w)
		if err != nil || replayed || got.State != ledger.Pending {
			t.Fatalf("Withdraw = %+v, %v, %v", got, replayed, err)
		}
		wantBalance(t, balance(t, l, "u-1"), 1000, 0, 300, 700)
		if _, replayed, err := l.Withdraw(service, &ledger.Withdrawal{ID: "w-1", Account: "u-1", Amount: 300, Currency: "CNY", Destination: "bank:6222"}); err != nil || !replayed {
			t.Fatalf("retry: %v %v", replayed, err)
		}
		_, _, err = l.Withdraw(service, &ledger.Withdrawal{ID: "w-1", Account: "u-1", Amount: 1, Currency: "CNY", Destination: "bank:6222"})
		wantCode(t, err, errs.Conflict)
		_, _, err = l.Withdraw(service, &ledger.Withdrawal{ID: "w-2", Account: "u-1", Amount: 701, Currency: "CNY", Destination: "bank:6222"})
		wantCode(t, err, errs.NoFunds)

		if got, err = l.Complete(service, "w-1"); err != nil || got.State != ledger.Completed || got.Transfer == "" {
			t.Fatalf("Complete = %+v, %v", got, err)
		}
		wantBalance(t, balance(t, l, "u-1"), 700, 0, 0, 700)
		if _, err := l.Complete(service, "w-1"); err != nil {
			t.Fatalf("complete again: %v", err)
		}
		_, err = l.Fail(service, "w-1", "late")
		wantCode(t, err, errs.Conflict)

		if _, _, err := l.Withdraw(service, &ledger.Withdrawal{ID: "w-3", Account: "u-1", Amount: 200, Currency: "CNY", Destination: "bank:6222"}); err != nil {
			t.Fatal(err)
		}
		if got, err = l.Fail(service, "w-3", "account closed"); err != nil || got.State != ledger.Failed {
			t.Fatalf("Fail = %+v, %v", got, err)
		}
		wantBalance(t, balance(t, l, "u-1"), 700, 0, 0, 700)
		_, err = l.Complete(service, "w-3")
		wantCode(t, err, errs.Conflict)
		_, err = l.Complete(service, "w-nope")
		wantCode(t, err, errs.NotFound)
	})
}

func TestCompensationAndClawback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := newLedger(t, db, "victim")
		_, err := l.Compensate(agent, &ledger.Compensation{Account: "victim", Amount: 500, Currency: "CNY", CaseRef: "F-1", Recoverable: true})
		wantCode(t, err, errs.NoFunds) // the fund is empty
		if _, _, err := l.Transfer(service, &ledger.Transfer{ID: "fund", From: ledger.Deposits, To: ledger.CompensationFund, Amount: 10_000, Currency: "CNY"}); err != nil {
			t.Fatal(err)
		}
		c, err := l.Compensate(agent, &ledger.Compensation{Account: "victim", Amount: 500, Currency: "CNY", CaseRef: "F-1", Recoverable: true})
		if err != nil || c.Owed != 500 {
			t.Fatalf("Compensate = %+v, %v", c, err)
		}
		wantBalance(t, balance(t, l, "victim"), 500, 0, 0, 500)
		r, err := l.Recover(compliance, c.ID, 300, "police case 7")
		if err != nil || r.Repaid != 300 {
			t.Fatalf("Recover = %+v, %v", r, err)
		}
		wantBalance(t, balance(t, l, "victim"), 500, 0, 0, 500)
		// Past what is owed, the victim keeps the rest.
		if r, err = l.Recover(compliance, c.ID, 400, "police case 7, second"); err != nil || r.Repaid != 200 {
			t.Fatalf("Recover = %+v, %v", r, err)
		}
		wantBalance(t, balance(t, l, "victim"), 700, 0, 0, 700)
		got, err := l.Compensation(service, c.ID)
		if err != nil || got.Owed != 0 || got.Recovered != 700 || len(got.Recoveries) != 2 {
			t.Fatalf("Compensation = %+v, %v", got, err)
		}
		// Each recovery shows both legs on the victim's statement.
		es, err := l.Entries(service, balance(t, l, "victim").Wallet, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range es {
			kinds = append(kinds, fmt.Sprintf("%s%+d", e.Kind, e.Amount))
		}
		want := []string{"clawback-200", "recovery+400", "clawback-300", "recovery+300", "compensation+500"}
		if !slices.Equal(kinds, want) {
			t.Fatalf("statement = %v, want %v", kinds, want)
		}
	})
}

// TestConcurrentWithdrawalsNeverOverdraw races 1,000 withdrawals of 1 on a wallet of 500.
func TestConcurrentWithdrawalsNeverOverdraw(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := newLedger(t, db, "u-1")
		deposit(t, l, "d-1", "u-1", 500)
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for i := range 1000 {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				_, _, err := l.Withdraw(service, &ledger.Withdrawal{ID: fmt.Sprintf("w-%d", i), Account: "u-1", Amount: 1, Currency: "CNY", Destination: "bank:1"})
				switch errs.CodeOf(err) {
				case "":
					ok.Add(1)
				case errs.NoFunds:
					refused.Add(1)
				default:
					t.Errorf("withdrawal %d: %v", i, err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 500 || refused.Load() != 500 {
			t.Fatalf("%d made, %d refused; want 500 and 500", ok.Load(), refused.Load())
		}
		wantBalance(t, balance(t, l, "u-1"), 500, 0, 500, 0)
		// Complete every one made: what left the wallet is their sum.
		var completed int64
		for i := range 1000 {
			w, err := l.Complete(service, fmt.Sprintf("w-%d", i))
			if errs.CodeOf(err) == errs.NotFound {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			completed += w.Amount
		}
		wantBalance(t, balance(t, l, "u-1"), 0, 0, 0, 0)
		if completed != 500 {
			t.Fatalf("completed %d, want 500", completed)
		}
	})
}

// TestHoldDuringWithdrawals places a hold of 300 while withdrawals race for a wallet
// of 1,000: none committed after it spends held money, so exactly 700 are made.
func TestHoldDuringWithdrawals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := newLedger(t, db, "u-1")
		deposit(t, l, "d-1", "u-1", 1000)
		var made atomic.Int64
		var wg sync.WaitGroup
		held := make(chan struct{})
		for g := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					_, _, err := l.Withdraw(service, &ledger.Withdrawal{ID: fmt.Sprintf("w-%d-%d", g, i), Account: "u-1", Amount: 1, Currency: "CNY", Destination: "bank:1"})
					switch errs.CodeOf(err) {
					case "":
						if made.Add(1) == 100 {
							close(held) // the hold goes in while the rest race on
						}
					case errs.FundsHeld, errs.NoFunds:
						return
					default:
						t.Errorf("withdrawal: %v", err)
						return
					}
				}
			}()
		}
		<-held
		if _, err := l.PlaceHold(compliance, ledger.HoldRequest{Account: "u-1", Currency: "CNY", Amount: 300, Authority: order, Reason: "freeze"}); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if made.Load() != 700 {
			t.Fatalf("%d withdrawals made, want 700", made.Load())
		}
		wantBalance(t, balance(t, l, "u-1"), 1000, 300, 700, 0)
	})
}

// TestHoldFromAnotherProcess: a hold placed through another process's services is seen
// by this one's next withdrawal; nothing in memory stands between them.
func TestHoldFromAnotherProcess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := newLedger(t, db, "u-1")
		other := storetest.NewApp(t, db, app.Config{}).Ledger
		deposit(t, l, "d-1", "u-1", 100)
		balance(t, l, "u-1") // read it here first, as a cache would
		if _, err := other.PlaceHold(compliance, ledger.HoldRequest{Account: "u-1", Currency: "CNY", All: true, Authority: order, Reason: "freeze"}); err != nil {
			t.Fatal(err)
		}
		_, _, err := l.Withdraw(service, &ledger.Withdrawal{ID: "w-1", Account: "u-1", Amount: 1, Currency: "CNY", Destination: "bank:1"})
		wantCode(t, err, errs.FundsHeld)
	})
}

// TestHoldNotices: the holder of a held wallet is told, in their language, what is held,
// under whose order and how to contest it, and again at each release.
func TestHoldNotices(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := storetest.NewApp(t, db, app.Config{})
		for id, locale := range map[string]string{"u-en": "en", "u-zh": "zh-CN"} {
			if _, err := a.Accounts.Put(service, &accounts.Account{ID: id, Region: "hb", Locale: locale, CreatedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"u-en", "u-zh"} {
			deposit(t, a.Ledger, "d-"+id, id, 100_000)
		}
		en, err := a.Ledger.PlaceHold(compliance, ledger.HoldRequest{Account: "u-en", Currency: "CNY", Amount: 60_000, Authority: order, Reason: "court freeze"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Ledger.PlaceHold(compliance, ledger.HoldRequest{Account: "u-zh", Currency: "CNY", All: true, Authority: order, Reason: "court freeze"}); err != nil {
			t.Fatal(err)
		}
		latest := func(account string) string {
			ns, err := a.Notices.List(service, account, "", 1)
			if err != nil || len(ns) != 1 {
				t.Fatalf("notices of %s: %v, %v", account, ns, err)
			}
			return ns[0].Subject + "\n" + ns[0].Body
		}
		for account, want := range map[string][]string{
			"u-en": {"600.00 CNY in your wallet is on hold", "Wuhan PSB, reference WH-2026-118", "To contest it, contact Wuhan PSB", en.ID},
			"u-zh": {"您钱包中的全部CNY已被冻结", "冻结机关：Wuhan PSB，文书编号 WH-2026-118"},
		} {
			got := latest(account)
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("notice to %s lacks %q:\n%s", account, w, got)
				}
			}
		}
		rel, err := a.Ledger.RequestRelease(compliance, en.ID, ledger.ReleaseRequest{Amount: 10_000, Reason: "salary verified"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Ledger.ApproveRelease(complianceB, en.ID, rel.ID); err != nil {
			t.Fatal(err)
		}
		if got := latest("u-en"); !strings.Contains(got, "100.00 CNY of the hold is released") || !strings.Contains(got, "500.00 CNY stays on hold") {
			t.Errorf("release notice:\n%s", got)
		}
	})
}
