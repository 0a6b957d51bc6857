package bulk_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// benchN returns the population size of a benchmark: $STEWARD_BENCH_N, or def.
func benchN(def int) int {
	if n, err := strconv.Atoi(os.Getenv("STEWARD_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return def
}

// load writes a generated population of n accounts, 50,000 per transaction.
func load(b *testing.B, db *sqlstore.DB, n int) {
	b.Helper()
	svc := storetest.NewApp(b, db, app.Config{}).Accounts
	var chunk []*accounts.Account
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		_, err := svc.Import(context.Background(), chunk, nil)
		chunk = chunk[:0]
		return err
	}
	start := time.Now()
	err := population.Each(population.Config{N: n, Seed: 1}, func(a *accounts.Account) error {
		chunk = append(chunk, a)
		if len(chunk) == 50_000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d accounts in %s", n, time.Since(start).Round(time.Millisecond))
}

// BenchmarkDryRun measures a dry run of the border sweep over a generated population
// (STEWARD_BENCH_N accounts, default 100,000), or over the SQLite database in the data
// directory $STEWARD_BENCH_DATA as it is (say, 10,000,000 accounts imported with
// `steward gen accounts | steward accounts import`), which saves loading it each time;
// it adds a draft action there.
func BenchmarkDryRun(b *testing.B) {
	if dir := os.Getenv("STEWARD_BENCH_DATA"); dir != "" {
		db, err := sqlstore.Open(context.Background(), sqlstore.Config{DataDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		n, err := db.Count(context.Background(), "accounts")
		if err != nil {
			b.Fatal(err)
		}
		dryRun(b, db, n)
		return
	}
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			n := benchN(100_000)
			db := storetest.Open(b, kind)
			load(b, db, n)
			dryRun(b, db, n)
		})
	}
}

func dryRun(b *testing.B, db *sqlstore.DB, n int) {
	p := newProcess(b, db, bulk.Config{})
	a, err := p.bulk.Create(compliance, sweep())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		d, err := p.bulk.DryRun(context.Background(), a.ID)
		if err != nil {
			b.Fatal(err)
		}
		if d.Accounts != n {
			b.Fatalf("%d accounts", d.Accounts)
		}
		b.Logf("%d accounts: %d matched, %d to sanction, in %.2f s", d.Accounts, d.Matched, d.ToSanction, d.Seconds)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
}

// BenchmarkExecute measures executing a sweep that sanctions every account of a
// population (STEWARD_BENCH_N, default 20,000), with audit entries and notices.
func BenchmarkExecute(b *testing.B) { benchExecute(b, false) }

// BenchmarkExecuteHold is BenchmarkExecute with the action holding every target's wallet
// under its legal order besides sanctioning it (the wallets are opened by the holds).
func BenchmarkExecuteHold(b *testing.B) { benchExecute(b, true) }

func benchExecute(b *testing.B, hold bool) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			n := benchN(20_000)
			for b.Loop() {
				b.StopTimer()
				db := storetest.Open(b, kind)
				load(b, db, n)
				p := newProcess(b, db, bulk.Config{})
				r := sweep()
				r.Criteria, r.Screens = "true", nil
				if hold {
					r.Hold = &bulk.HoldSpec{Currency: "CNY", Amount: "all", DocumentSHA256: strings.Repeat("ab", 32)}
				}
				a, err := p.bulk.Create(compliance, r)
				if err != nil {
					b.Fatal(err)
				}
				zero := 0.0
				if _, err := p.bulk.Execute(compliance, a.ID, bulk.ExecuteRequest{CanaryPercent: &zero}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				for {
					more, err := p.bulk.Step(context.Background(), a.ID)
					if err != nil {
						b.Fatal(err)
					}
					if !more {
						break
					}
				}
				got, _ := p.bulk.Get(context.Background(), a.ID)
				if got.State != bulk.Done || got.Progress.Done != n {
					b.Fatalf("%s %d", got.State, got.Progress.Done)
				}
				b.Logf("%s: %d sanctions with audit entries and notices in %s (%.0f/s)", kind, n,
					time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
				b.StopTimer()
				if _, err := p.bulk.Revert(compliance, a.ID, bulk.RevertRequest{Reason: "benchmark"}); err != nil {
					b.Fatal(err)
				}
				start = time.Now()
				for more := true; more; {
					if more, err = p.bulk.Step(context.Background(), a.ID); err != nil {
						b.Fatal(err)
					}
				}
				b.Logf("%s: %d sanctions lifted with audit entries and notices in %s (%.0f/s)", kind, n,
					time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "sanctions/s")
		})
	}
}
