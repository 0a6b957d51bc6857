package leak_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// manyAccounts makes accounts b-0 … b-(n-1) with personal data (person(i)), 500 a
// transaction.
func manyAccounts(b *testing.B, db *sqlstore.DB, a *app.App, n int) []string {
	b.Helper()
	ids := make([]string, n)
	for start := 0; start < n; start += 500 {
		end := min(start+500, n)
		accts := make([]*accounts.Account, 0, end-start)
		ps := make([]*vault.PII, 0, end-start)
		for i := start; i < end; i++ {
			ids[i] = fmt.Sprintf("b-%d", i)
			accts = append(accts, &accounts.Account{ID: ids[i], Region: "zj", Locale: "zh-CN", CreatedAt: time.Unix(0, 0).UTC()})
			p, err := vault.Normalize(person(i))
			if err != nil {
				b.Fatal(err)
			}
			ps = append(ps, p)
		}
		if err := db.Write(svc, func(ctx context.Context) error { _, err := db.Accounts().PutMany(ctx, accts); return err }); err != nil {
			b.Fatal(err)
		}
		if err := a.Vault.PutMany(svc, ids[start:end], ps); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

func partnerPurpose(b *testing.B, a *app.App) {
	b.Helper()
	_, err := a.Vault.PutPurpose(as(principal.Admin, "root"), &vault.Purpose{Name: "partner.delivery",
		Roles: []principal.Role{principal.Service}, Fields: []string{"address", "name", "phone"}, PerActorDaily: vault.MaxDaily})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkShare makes a share of 100,000 accounts' name, phone and address with
// canaries: the records revealed (each account's data key unwrapped, its fields
// opened), ordinals given, the bitmap and one audit entry written. The aim is ≤ 5 s on
// SQLite.
func BenchmarkShare(b *testing.B) {
	const n = 100_000
	db := storetest.Open(b, "sqlite")
	a := storetest.NewApp(b, db, app.Config{})
	ids := manyAccounts(b, db, a, n)
	partnerPurpose(b, a)
	for i := 1; i <= 40; i++ {
		p := vault.PII{Name: fmt.Sprintf("金丝雀%d", i), Phone: fmt.Sprintf("+86188%08d", i), Address: fmt.Sprintf("上海市浦东新区金丝雀路%d号", i)}
		if _, _, err := a.Leak.PutCanary(as(principal.Security, "sec"), fmt.Sprintf("c-%d", i), p); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		sh, err := a.Leak.CreateShare(svc, leak.ShareRequest{Recipient: fmt.Sprintf("logistics:r%d", i), Purpose: "partner.delivery",
			Fields: []string{"name", "phone", "address"}, Accounts: ids})
		if err != nil {
			b.Fatal(err)
		}
		if len(sh.Records) != n+3 {
			b.Fatalf("%d records", len(sh.Records))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkInvestigate investigates a 1,000-row sample (name and phone) against 1,000
// shares of 10,000 records each (10,000,000 share-records over 1,000,000 ordinals),
// with 20 canaries in the pool. The aim is ≤ 2 s on SQLite.
func BenchmarkInvestigate(b *testing.B) {
	const (
		rows, shares, perShare, space = 1_000, 1_000, 10_000, 1_000_000
	)
	db := storetest.Open(b, "sqlite")
	a := storetest.NewApp(b, db, app.Config{})
	ids := manyAccounts(b, db, a, rows)
	for i := 1; i <= 20; i++ {
		p := vault.PII{Name: fmt.Sprintf("金丝雀%d", i), Phone: fmt.Sprintf("+86188%08d", i)}
		if _, _, err := a.Leak.PutCanary(as(principal.Security, "sec"), fmt.Sprintf("c-%d", i), p); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	err := db.Write(svc, func(ctx context.Context) error {
		if _, err := db.Leak().Ordinals(ctx, ids); err != nil { // the sample's accounts are ordinals 0 … 999
			return err
		}
		for s := range shares {
			set := roaring.New()
			for set.GetCardinality() < perShare {
				set.Add(uint32(rng.IntN(space)))
			}
			set.RunOptimize()
			sh := &leak.Share{ID: fmt.Sprintf("s-%04d", s), Recipient: fmt.Sprintf("r-%d", s%50), Purpose: "p", Fields: []string{"name", "phone"},
				PhoneMode: leak.PhoneReal, CreatedAt: time.Now().Add(-time.Hour), Accounts: perShare, Records: perShare, Set: set, Salt: []byte("salt")}
			if err := db.Leak().PutShare(ctx, sh); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	sample := make([]leak.Row, rows)
	for i := range sample {
		p := person(i)
		sample[i] = leak.Row{Name: p.Name, Phone: p.Phone}
	}
	sec := as(principal.Security, "sec")
	b.ResetTimer()
	for range b.N {
		l, err := a.Leak.Investigate(sec, leak.Investigation{Rows: append([]leak.Row(nil), sample...)})
		if err != nil {
			b.Fatal(err)
		}
		if l.Matched != rows || len(l.Suspects) == 0 {
			b.Fatalf("matched %d, %d suspects", l.Matched, len(l.Suspects))
		}
	}
}
