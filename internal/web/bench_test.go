package web

import (
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// benchN returns the population of a benchmark: $STEWARD_BENCH_N accounts, or def.
func benchN(def int) int {
	if n, err := strconv.Atoi(os.Getenv("STEWARD_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return def
}

// benchWeb loads n generated accounts, gives one of them ("heavy") 1,000 sanctions,
// personal data and 100 appeals of other accounts' sanctions into the queue, and returns
// the pages over it.
func benchWeb(b *testing.B, kind string, n int) *testWeb {
	b.Helper()
	db := storetest.Open(b, kind)
	w := newTestWeb(b, db)
	start := time.Now()
	var chunk []*accounts.Account
	flush := func() error {
		_, err := w.app.Accounts.Import(ctx, chunk, nil)
		chunk = chunk[:0]
		return err
	}
	err := population.Each(population.Config{N: n, Seed: 1}, func(a *accounts.Account) error {
		if chunk = append(chunk, a); len(chunk) == 50_000 {
			return flush()
		}
		return nil
	})
	if err == nil && len(chunk) > 0 {
		err = flush()
	}
	if err != nil {
		b.Fatal(err)
	}
	w.account(b, "heavy", "en")
	bot := principal.NewContext(ctx, principal.Key("risk-bot", principal.Service, ""))
	for i := range 1000 {
		if _, err := w.app.Enforce.Impose(bot, &enforce.Sanction{Account: "heavy", Kind: enforce.Restrict,
			Scope: enforce.Scope{Capabilities: []string{"chat.send"}}, ReasonCode: "spam_" + strconv.Itoa(i%7),
			Authority: authority.Authority{Kind: authority.Automated, Rule: "spam-1"}}); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.app.Vault.Put(bot, "heavy", vault.PII{Name: "张三", Phone: "+8613800138000", Email: "zhang@example.com"}); err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		id := "appellant-" + strconv.Itoa(i)
		w.account(b, id, "en")
		sn, err := w.app.Enforce.Impose(bot, &enforce.Sanction{Account: id, Kind: enforce.Ban, Scope: enforce.Scope{Services: []string{"*"}},
			ReasonCode: "fraud", Authority: authority.Authority{Kind: authority.Automated, Rule: "fraud-7"}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.app.Appeals.File(principal.NewContext(ctx, principal.EndUser(id, "")), appeals.Filing{Sanction: sn.ID, Statement: "not me"}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: loaded %d accounts, 1,000 sanctions on one, 100 open appeals in %s", kind, n, time.Since(start).Round(time.Millisecond))
	return w
}

// benchPage measures the server time of GET target as role.
func benchPage(b *testing.B, w *testWeb, role principal.Role, target string) {
	s := w.sessions[role]
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("GET", target, nil)
		if rec := w.do(b, s, r); rec.Code != 200 {
			b.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
		}
	}
}

// BenchmarkPages measures the heaviest console pages: the account page of an account
// with 1,000 sanctions (as compliance, who sees its appeals, wallet and masked
// personal data) and the home page (as admin, who sees every queue), over
// STEWARD_BENCH_N accounts (default 100,000). The aim is 100 ms at 1,000,000.
func BenchmarkPages(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			w := benchWeb(b, kind, benchN(100_000))
			b.Run("account", func(b *testing.B) { benchPage(b, w, principal.Compliance, "/console/accounts/heavy") })
			b.Run("home", func(b *testing.B) { benchPage(b, w, principal.Admin, "/console/") })
			b.Run("appeals", func(b *testing.B) { benchPage(b, w, principal.Reviewer, "/console/appeals") })
		})
	}
}
