package takeout_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/takeout"
	"github.com/stewardhq/steward/internal/vault"
)

// BenchmarkTakeout builds the archive of an account with 1,000 sanctions, their 1,000
// notices and 10,000 ledger entries, without sources (the aim: 2 s on SQLite).
func BenchmarkTakeout(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) { benchTakeout(b, kind) })
	}
}

func benchTakeout(b *testing.B, kind string) {
	db := storetest.Open(b, kind)
	a := storetest.NewApp(b, db, app.Config{AuditKey: storetest.AuditKey(b), Takeout: takeout.Config{Dir: b.TempDir()}})
	banned(b, a, "u-1", "zh-CN")
	rita := as(principal.Key("rita", principal.Reviewer, "k-rita"))
	for i := range 999 { // and the ban: 1,000
		if _, err := a.Enforce.Impose(rita, &enforce.Sanction{Account: "u-1", Kind: enforce.Warning, ReasonCode: "spam",
			Scope: enforce.Scope{Services: []string{"chat"}}, Authority: authority.Authority{Kind: authority.Automated, Rule: fmt.Sprint("r-", i)}}); err != nil {
			b.Fatal(err)
		}
	}
	for batch := range 2 {
		ts := make([]*ledger.Transfer, 5000)
		for i := range ts {
			ts[i] = &ledger.Transfer{ID: fmt.Sprintf("d-%d-%d", batch, i), From: ledger.Deposits, To: "user:u-1", Amount: 100, Currency: "CNY"}
		}
		if _, err := a.Ledger.TransferBatch(svc, ts); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := a.Vault.Put(svc, "u-1", vault.PII{Name: "欧阳明", Phone: "13912345678"}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := a.Sequencer.Integrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	for table, want := range map[string]int{"sanctions": 1000, "notices": 1000, "ledger_entries": 20000} { // both legs
		if n, err := db.Count(context.Background(), table); err != nil || n != want {
			b.Fatalf("%s: %d rows, want %d (%v)", table, n, want, err)
		}
	}
	user := as(principal.EndUser("u-1", "tok"))
	builder := a.Takeout.Builder()
	var size int64
	for b.Loop() {
		e, err := a.Takeout.Start(user, "u-1")
		if err != nil {
			b.Fatal(err)
		}
		if built, err := builder.Step(context.Background()); !built || err != nil {
			b.Fatal(built, err)
		}
		if e, err = a.Takeout.Get(user, "", e.ID); err != nil || e.State != takeout.Done || len(e.Missing) != 0 {
			b.Fatalf("%+v %v", e, err)
		}
		size = e.Size
	}
	b.ReportMetric(float64(size), "archive-bytes")
}
