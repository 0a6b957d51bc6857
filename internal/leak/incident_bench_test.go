package leak_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// benchApp is Steward on a database of kind with n accounts b-0…, a tenth of them in
// region zj (zh-CN), the rest en.
func benchApp(b *testing.B, kind string, n int) *app.App {
	b.Helper()
	a := storetest.NewApp(b, storetest.Open(b, kind), app.Config{})
	const batch = 50_000
	for start := 0; start < n; start += batch {
		var as []*accounts.Account
		for i := start; i < min(n, start+batch); i++ {
			region, locale := "hb", "en"
			if i%10 == 0 {
				region, locale = "zj", "zh-CN"
			}
			as = append(as, &accounts.Account{ID: fmt.Sprintf("b-%07d", i), Region: region, Locale: locale, CreatedAt: t0.AddDate(-2, 0, 0),
				Attributes: map[string]any{"tier": "gold"}})
		}
		if _, err := a.Accounts.Import(service, as, nil); err != nil {
			b.Fatal(err)
		}
	}
	return a
}

// BenchmarkIncidentCreate declares an incident whose selection is evaluated over
// 200,000 accounts and matches 20,000, stored with its affected accounts.
func BenchmarkIncidentCreate(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			if kind == "postgres" {
				storetest.RequirePostgres(b)
			}
			a := benchApp(b, kind, 200_000)
			r := request(leak.IncidentAffected{Selection: `account.region == "zj" && account.attributes.tier == "gold"`})
			r.DetectedAt = time.Now().Add(-time.Minute)
			for b.Loop() {
				in, err := a.Incidents.Create(security, r)
				if err != nil || in.Accounts != 20_000 {
					b.Fatalf("%+v %v", in, err)
				}
			}
		})
	}
}

// BenchmarkIncidentNotify tells 20,000 affected users, each a notice in their locale, in
// one transaction.
func BenchmarkIncidentNotify(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			if kind == "postgres" {
				storetest.RequirePostgres(b)
			}
			a := benchApp(b, kind, 20_000)
			r := request(leak.IncidentAffected{Selection: "true"})
			r.DetectedAt = time.Now().Add(-time.Minute)
			for b.Loop() {
				b.StopTimer()
				in, err := a.Incidents.Create(security, r)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := a.Incidents.Notify(security, in.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEvidenceStore stores a chat of 1,000 messages, sealed and audited, and reads
// it back checked against its hash.
func BenchmarkEvidenceStore(b *testing.B) {
	a := benchApp(b, "sqlite", 1)
	r := transcript()
	r.Account = "b-0000000"
	r.Messages = nil
	for i := range 1000 {
		r.Messages = append(r.Messages, leak.EvidenceMessage{At: t0.Add(time.Duration(i) * time.Second), From: "user:b-0000000", Text: fmt.Sprintf("message %d of a long complaint about a late order", i)})
	}
	for b.Loop() {
		e, err := a.Evidence.Store(auditing, r)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := a.Evidence.Get(auditing, e.ID); err != nil {
			b.Fatal(err)
		}
	}
}
