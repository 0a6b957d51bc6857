package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// benchWallets is how many funded wallets the transfer benchmarks spread over
// (STEWARD_BENCH_WALLETS; 100,000 by default, as the aim says).
func benchWallets() int {
	if n, err := strconv.Atoi(os.Getenv("STEWARD_BENCH_WALLETS")); err == nil && n > 1 {
		return n
	}
	return 100_000
}

// fundWallets creates accounts w0 … w(n-1), each with a CNY wallet of 1,000,000, and
// one hold of 1 on every tenth so that balance checks read holds too.
func fundWallets(b *testing.B, db *sqlstore.DB, l *ledger.Service, n int) {
	b.Helper()
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += 10_000 {
		err := db.Write(context.Background(), func(ctx context.Context) error {
			for i := start; i < min(start+10_000, n); i++ {
				if _, err := db.Accounts().Put(ctx, &accounts.Account{ID: "w" + strconv.Itoa(i), Region: "hb", Locale: "en", CreatedAt: created}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for start := 0; start < n; start += ledger.MaxBatch {
		ts := make([]*ledger.Transfer, 0, ledger.MaxBatch)
		for i := start; i < min(start+ledger.MaxBatch, n); i++ {
			ts = append(ts, &ledger.Transfer{ID: "fund-" + strconv.Itoa(i), From: ledger.Deposits, To: "user:w" + strconv.Itoa(i), Amount: 1_000_000, Currency: "CNY"})
		}
		if _, err := l.TransferBatch(service, ts); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < n; i += 10 {
		if _, err := l.PlaceHold(security, ledger.HoldRequest{Account: "w" + strconv.Itoa(i), Currency: "CNY", Amount: 1, Reason: "bench",
			Authority: ledger.HoldAuthority{Authority: riskRule}}); err != nil {
			b.Fatal(err)
		}
	}
}

var benchRun atomic.Int64 // keeps transfer IDs unique across runs of one process

// BenchmarkTransfers posts transfers of 1 between random wallets of 100,000 (balance
// checks and holds on), 64 callers at once; and out of one hot wallet; and as
// transfers:batch of 8,000. Each reports transfers/s.
func BenchmarkTransfers(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			db := storetest.Open(b, kind)
			l := storetest.NewApp(b, db, app.Config{}).Ledger
			n := benchWallets()
			fundWallets(b, db, l, n)
			b.Run("spread", func(b *testing.B) {
				run := benchRun.Add(1)
				var seq atomic.Int64
				b.SetParallelism(32) // 64 callers on 2 cores
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					r := rand.New(rand.NewPCG(uint64(run), uint64(seq.Add(1<<40))))
					for pb.Next() {
						i := seq.Add(1)
						from, to := r.IntN(n), r.IntN(n)
						if from == to {
							to = (to + 1) % n
						}
						t := &ledger.Transfer{ID: fmt.Sprintf("s%d-%d", run, i), From: "user:w" + strconv.Itoa(from), To: "user:w" + strconv.Itoa(to), Amount: 1, Currency: "CNY"}
						if _, _, err := l.Transfer(service, t); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "transfers/s")
			})
			b.Run("hot", func(b *testing.B) {
				run := benchRun.Add(1)
				var seq atomic.Int64
				b.SetParallelism(32)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := seq.Add(1)
						t := &ledger.Transfer{ID: fmt.Sprintf("h%d-%d", run, i), From: "user:w1", To: "user:w" + strconv.Itoa(2+int(i)%(n-2)), Amount: 1, Currency: "CNY"}
						if _, _, err := l.Transfer(service, t); err != nil && errs.CodeOf(err) != errs.NoFunds {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "transfers/s")
			})
			b.Run("batch8000", func(b *testing.B) {
				run := benchRun.Add(1)
				r := rand.New(rand.NewPCG(uint64(run), 7))
				b.ResetTimer()
				start := time.Now()
				for op := range b.N {
					b.StopTimer()
					ts := make([]*ledger.Transfer, ledger.MaxBatch)
					for i := range ts {
						from, to := r.IntN(n), r.IntN(n)
						if from == to {
							to = (to + 1) % n
						}
						ts[i] = &ledger.Transfer{ID: fmt.Sprintf("b%d-%d-%d", run, op, i), From: "user:w" + strconv.Itoa(from), To: "user:w" + strconv.Itoa(to), Amount: 1, Currency: "CNY"}
					}
					b.StartTimer()
					if _, err := l.TransferBatch(service, ts); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*ledger.MaxBatch)/time.Since(start).Seconds(), "transfers/s")
			})
		})
	}
}
