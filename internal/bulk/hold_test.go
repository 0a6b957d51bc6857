package bulk_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// An action that holds freezes every target's wallet besides sanctioning it, in the
// batch's own transaction, so a withdrawal is refused naming the order; its revert
// releases a platform-risk hold at once and asks a second person to release a legal
// order's. Bad hold specs name their fields.
func TestActionHoldsWallets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := storetest.NewApp(t, db, app.Config{})
		ctx := context.Background()
		pop := population.Generate(population.Config{N: 120, Seed: 9})
		if _, err := a.Accounts.Import(ctx, pop, nil); err != nil {
			t.Fatal(err)
		}
		svc := principal.NewContext(ctx, principal.Key("platform", principal.Service, "k-svc"))
		for _, acct := range pop {
			if _, _, err := a.Ledger.Transfer(svc, &ledger.Transfer{ID: "dep-" + acct.ID, From: "platform:deposits", To: ledger.UserName(acct.ID),
				Amount: 10_000, Currency: "CNY", Kind: "deposit"}); err != nil {
				t.Fatal(err)
			}
		}
		run := func(kind authority.Kind) (*bulk.Action, []string) {
			t.Helper()
			req := sweep()
			req.Criteria, req.Screens = `account.region == "border"`, nil
			req.Hold = &bulk.HoldSpec{Currency: "CNY", Amount: "all", DocumentSHA256: strings.Repeat("ab", 32)}
			if kind == authority.Automated {
				req.Authority = authority.Authority{Kind: authority.Automated, Rule: "risk-7"}
				req.Hold.DocumentSHA256 = ""
			}
			act, err := a.Bulk.Create(compliance, req)
			if err != nil {
				t.Fatal(err)
			}
			zero := 0.0
			if _, err := a.Bulk.Execute(compliance, act.ID, bulk.ExecuteRequest{CanaryPercent: &zero}); err != nil {
				t.Fatal(err)
			}
			for more := true; more; {
				if more, err = a.Bulk.Step(ctx, act.ID); err != nil {
					t.Fatal(err)
				}
			}
			var targets []string
			for _, acct := range pop {
				if acct.Region == "border" {
					targets = append(targets, acct.ID)
				}
			}
			return act, targets
		}
		held := func(account string) int64 {
			t.Helper()
			bs, err := a.Ledger.Wallets(ctx, account)
			if err != nil || len(bs) != 1 {
				t.Fatalf("wallets of %s: %v %v", account, bs, err)
			}
			return bs[0].Held
		}
		revert := func(act *bulk.Action) {
			t.Helper()
			if _, err := a.Bulk.Revert(compliance, act.ID, bulk.RevertRequest{Reason: "wrong region"}); err != nil {
				t.Fatal(err)
			}
			for more := true; more; {
				var err error
				if more, err = a.Bulk.Step(ctx, act.ID); err != nil {
					t.Fatal(err)
				}
			}
		}

		act, targets := run(authority.Automated)
		if len(targets) == 0 {
			t.Fatal("no targets")
		}
		for _, id := range targets {
			if h := held(id); h != 10_000 {
				t.Fatalf("%s holds %d, want its whole wallet", id, h)
			}
		}
		revert(act)
		for _, id := range targets {
			if h := held(id); h != 0 {
				t.Fatalf("%s holds %d after the revert of a platform-risk hold", id, h)
			}
		}

		act, targets = run(authority.LegalOrder)
		_, _, err := a.Ledger.Withdraw(svc, &ledger.Withdrawal{ID: "w-1", Account: targets[0], Amount: 1, Currency: "CNY", Destination: "bank:1"})
		if errs.CodeOf(err) != errs.FundsHeld || !strings.Contains(err.Error(), "2026-001") {
			t.Fatalf("withdrawal from a held wallet: %v", err)
		}
		revert(act)
		if h := held(targets[0]); h != 10_000 {
			t.Fatalf("a legal order's hold was released by the revert alone: holds %d", h)
		}

		bad := sweep()
		bad.Hold = &bulk.HoldSpec{Currency: "cny", Amount: "100"}
		_, err = a.Bulk.Create(compliance, bad)
		if fs := errs.FieldsOf(err); len(fs) != 3 {
			t.Fatalf("bad hold: %v", fmt.Sprint(fs))
		}
	})
}
