package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// TestLedgerVerify: verify passes on an exact ledger and names the first row at fault
// after each kind of tampering behind Steward's back.
func TestLedgerVerify(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			db, err := sqlstore.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			a := storetest.NewApp(t, db, app.Config{})
			ctx := principal.NewContext(context.Background(), principal.Key("backend", principal.Service, "k"))
			for _, id := range []string{"u1", "u2"} {
				if _, err := a.Accounts.Put(ctx, &accounts.Account{ID: id, Region: "hb", Locale: "en", CreatedAt: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			for _, tr := range []*ledger.Transfer{
				{ID: "t-1", From: ledger.Deposits, To: "user:u1", Amount: 100, Currency: "CNY"},
				{ID: "t-2", From: "user:u1", To: "user:u2", Amount: 40, Currency: "CNY"},
			} {
				if _, _, err := a.Ledger.Transfer(ctx, tr); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := a.Ledger.Withdraw(ctx, &ledger.Withdrawal{ID: "w-1", Account: "u2", Amount: 10, Currency: "CNY", Destination: "bank:1"}); err != nil {
				t.Fatal(err)
			}
			db.Close()
			flags := append([]string{"ledger", "verify"}, flagsOf(cfg)...)
			if out := steward(t, flags...); !strings.Contains(out, "ledger OK: 2 transfers, 4 entries, 3 wallets") {
				t.Fatalf("verify: %q", out)
			}
			raw := storetest.OpenRaw(t, cfg)
			for _, c := range []struct{ tamper, undo, want string }{
				{"UPDATE ledger_wallets SET posted = posted + 1 WHERE name = 'user:u2'", "UPDATE ledger_wallets SET posted = posted - 1 WHERE name = 'user:u2'", "(user:u2 CNY): posted is 41"},
				{"UPDATE ledger_entries SET amount = amount + 5 WHERE transfer = 't-2' AND amount > 0", "UPDATE ledger_entries SET amount = amount - 5 WHERE transfer = 't-2' AND amount > 0", "transfer t-2: has 2 entries summing to 5"},
				{"UPDATE ledger_wallets SET pending = 0 WHERE name = 'user:u2'", "UPDATE ledger_wallets SET pending = 10 WHERE name = 'user:u2'", "(user:u2 CNY): pending is 0"},
				{"UPDATE audit_entries SET subject = 'x' WHERE subject = 'transfer:t-1'", "UPDATE audit_entries SET subject = 'transfer:t-1' WHERE subject = 'x'", "transfer t-1: has no audit entry"},
			} {
				if _, err := raw.Exec(c.tamper); err != nil {
					t.Fatal(err)
				}
				if _, err := stewardErr(t, flags...); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("after %s: %v; want it to name %q", c.tamper, err, c.want)
				}
				if _, err := raw.Exec(c.undo); err != nil {
					t.Fatal(err)
				}
			}
			steward(t, flags...)
		})
	}
}
