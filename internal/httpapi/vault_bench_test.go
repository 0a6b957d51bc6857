package httpapi

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// benchPIIAccounts is how many accounts with personal data the vault benchmarks read.
const benchPIIAccounts = 1000

// vaultBenchServer serves the API over loopback with benchPIIAccounts accounts holding
// personal data and a purpose "bench" that lets agents reveal phone and address without
// a practical daily limit.
func vaultBenchServer(b *testing.B, kind string) (url string, hc *http.Client, api *testAPI) {
	b.Helper()
	api = newTestAPI(b, storetest.Open(b, kind))
	url, hc, key := serveBench(b, api)
	lines := ""
	for i := range benchPIIAccounts {
		lines += fmt.Sprintf(`{"id": "p-%d", "region": "zj", "locale": "zh-CN", "created_at": "2020-01-02T03:04:05Z"}`+"\n", i)
	}
	send(b, hc, "POST", url+"/v1/accounts:import", key, lines, http.StatusOK)
	for i := range benchPIIAccounts {
		send(b, hc, "PUT", fmt.Sprintf("%s/v1/accounts/p-%d/pii", url, i), key, piiBody, http.StatusOK)
	}
	send(b, hc, "PUT", url+"/v1/pii/purposes/bench", api.keys[principal.Admin],
		`{"roles": ["agent"], "fields": ["phone", "address"], "per_actor_daily": 1000000}`, http.StatusCreated)
	return url, hc, api
}

// BenchmarkMaskedRead reads personal data masked, one account per request, from
// benchClients concurrent clients over keep-alive loopback connections. Each read opens
// the account's data key and values and commits its audit entry (grouped with concurrent
// ones) before answering. The aim is 20,000 reads/s.
func BenchmarkMaskedRead(b *testing.B) {
	benchVault(b, "reads/s", true, func(b *testing.B, hc *http.Client, url, key string, i int64) {
		send(b, hc, "GET", fmt.Sprintf("%s/v1/accounts/p-%d/pii", url, i%benchPIIAccounts), key, "", http.StatusOK)
	})
}

// BenchmarkReveal reveals two fields for a purpose with a ticket, one account per
// request, from benchClients concurrent clients, each an agent of its own: a reveal
// counts against its actor's daily limit and commits its audit entry before answering.
// One actor's reveals take turns on its daily count (the limit is exact), which on
// PostgreSQL holds them to one commit at a time (138/s with one agent, 555/s with 32,
// load average 7 on 2 cores); so the load is spread over
// agents, as a console's would be. The aim is 5,000 reveals/s.
func BenchmarkReveal(b *testing.B) {
	body := `{"fields": ["phone", "address"], "purpose": "bench", "ticket": "BENCH-1"}`
	benchVault(b, "reveals/s", true, func(b *testing.B, hc *http.Client, url, key string, i int64) {
		send(b, hc, "POST", fmt.Sprintf("%s/v1/accounts/p-%d/pii/reveal", url, i%benchPIIAccounts), key, body, http.StatusOK)
	})
}

// benchVault runs call under load on each database. With compare it runs twice over the
// same server: "before" with the vault as it was (each data key unwrapped on every read,
// each read's entry in a transaction of its own), then "after" as configured now.
func benchVault(b *testing.B, unit string, compare bool, call func(b *testing.B, hc *http.Client, url, key string, i int64)) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			url, hc, api := vaultBenchServer(b, kind)
			agents := make([]string, benchClients)
			for i := range agents {
				agents[i] = api.newKey(b, api.app.Keys, principal.Agent)
			}
			run := func(b *testing.B) {
				var n, clients atomic.Int64
				b.SetParallelism(max(1, benchClients/runtime.GOMAXPROCS(0)))
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					key := agents[int(clients.Add(1)-1)%len(agents)]
					for pb.Next() {
						call(b, hc, url, key, n.Add(1))
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), unit)
			}
			if !compare {
				run(b)
				return
			}
			now := api.app.Vault
			// The only second vault over these stores: the handler reads App.Vault
			// at each request, so the comparison swaps it for the old behaviour.
			before, err := vault.NewService(api.app.Stores.Vault, api.app.Stores.Accounts, api.app.Stores.Tx, api.app.Recorder,
				vault.Config{Master: now.Master(), KeyCache: -1, EntryPerRead: true})
			if err != nil {
				b.Fatal(err)
			}
			api.app.Vault = before
			b.Run("before", run)
			api.app.Vault = now
			b.Run("after", run)
		})
	}
}

// BenchmarkAccountRead is GET /v1/accounts/{id} under BenchmarkMaskedRead's load: the
// floor a read with no audit entry sets.
func BenchmarkAccountRead(b *testing.B) {
	benchVault(b, "reads/s", false, func(b *testing.B, hc *http.Client, url, key string, i int64) {
		send(b, hc, "GET", fmt.Sprintf("%s/v1/accounts/p-%d", url, i%benchPIIAccounts), key, "", http.StatusOK)
	})
}

// BenchmarkImportPII imports 10,000 new accounts per request, each carrying 8 fields of
// personal data, sealed as the lines are read and written with the accounts in one
// transaction. The aim is 50,000 encrypted field writes/s on SQLite.
func BenchmarkImportPII(b *testing.B) {
	const perImport = 10_000
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			url, hc, key := benchServer(b, kind)
			pii := strings.Join(strings.Fields(piiBody), " ")
			b.ReportAllocs()
			var spent time.Duration
			for i := range b.N {
				b.StopTimer()
				var sb strings.Builder
				for j := range perImport {
					fmt.Fprintf(&sb, `{"id": "ip%d-%d", "region": "zj", "locale": "zh-CN", "created_at": "2020-01-02T03:04:05Z", "pii": %s}`+"\n", i, j, pii)
				}
				body := sb.String()
				b.StartTimer()
				start := time.Now()
				send(b, hc, "POST", url+"/v1/accounts:import", key, body, http.StatusOK)
				spent += time.Since(start)
			}
			b.ReportMetric(float64(b.N*perImport*8)/spent.Seconds(), "fields/s")
		})
	}
}
