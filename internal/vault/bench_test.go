package vault_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// benchBatch is how many accounts' data one PutMany writes in BenchmarkPutMany.
const benchBatch = 500

// BenchmarkPutMany writes accounts' personal data (8 fields each, 5 of them indexed)
// benchBatch accounts per transaction, as an import does: each account sealed under a
// new data key, wrapped by the master key, with its blind-index rows and audit entry,
// durable before it returns. The aim is 50,000 encrypted field writes/s on SQLite.
func BenchmarkPutMany(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			db := storetest.Open(b, kind)
			a := storetest.NewApp(b, db, app.Config{})
			ctx := principal.NewContext(context.Background(), principal.Key("svc", principal.Service, "k"))
			p, err := vault.Normalize(known)
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]string, benchBatch)
			ps := make([]*vault.PII, benchBatch)
			for i := range ps {
				ps[i] = p
			}
			// Every batch writes accounts made before the timer starts.
			for i := range b.N {
				accts := make([]*accounts.Account, benchBatch)
				for j := range accts {
					accts[j] = &accounts.Account{ID: fmt.Sprintf("b%d-%d", i, j), Region: "zj", Locale: "zh-CN", CreatedAt: time.Unix(0, 0).UTC()}
				}
				if err := db.Write(ctx, func(ctx context.Context) error { _, err := db.Accounts().PutMany(ctx, accts); return err }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				for j := range ids {
					ids[j] = fmt.Sprintf("b%d-%d", i, j)
				}
				if err := a.Vault.PutMany(ctx, ids, ps); err != nil {
					b.Fatal(err)
				}
			}
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N*benchBatch*len(p.Present()))/secs, "fields/s")
			b.ReportMetric(float64(b.N*benchBatch)/secs, "accounts/s")
		})
	}
}
