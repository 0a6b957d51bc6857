package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// BenchmarkWritePut measures audited single-account writes through group commit, from
// 32 writers per core at once, as the API's handlers make them.
func BenchmarkWritePut(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			putParallel(b, storetest.Open(b, kind))
		})
	}
}

// putParallel writes b.N new accounts through accounts.Service from 16 writers per core
// and reports the rate.
func putParallel(b *testing.B, db *sqlstore.DB) {
	svc := storetest.NewApp(b, db, app.Config{}).Accounts
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a := account(fmt.Sprintf("b-%09d", n.Add(1)))
			if _, err := svc.Put(context.Background(), a); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}
