package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// checksPerSecond runs single checks from 64 clients for d and returns their rate.
func checksPerSecond(b *testing.B, url, key string, d time.Duration) float64 {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var n atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for w := range 64 {
		body := []byte(fmt.Sprintf(`{"account":"acct-%09d","capability":"pay.transfer"}`, w*100))
		wg.Go(func() {
			for time.Now().Before(stop) {
				req, _ := http.NewRequest("POST", url+"/v1/check", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / d.Seconds()
}

// BenchmarkCheckDuringBulkExecute measures single checks over HTTP idle, then for 2 s
// while a bulk action sanctions 100,000 accounts in the same process (from its first
// batch on; it does not finish in that time), on SQLite, with the runner working all the time
// (duty 1) or 40% of it (what serve does while the API is busy).
func BenchmarkCheckDuringBulkExecute(b *testing.B) {
	for _, duty := range []float64{1, 0.4} {
		b.Run(fmt.Sprintf("duty=%v", duty), func(b *testing.B) { checkDuringExecute(b, duty) })
	}
}

func checkDuringExecute(b *testing.B, duty float64) {
	for b.Loop() {
		db := storetest.Open(b, "sqlite")
		api := newTestAPI(b, db)
		pop := population.Generate(population.Config{N: 100_000, Seed: 1})
		if _, err := api.app.Accounts.Import(context.Background(), pop, nil); err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(api.handler)
		idle := checksPerSecond(b, srv.URL, api.keys[principal.Service], 2*time.Second)

		svc := runner(b, db, 500, duty)
		ctx := principal.NewContext(context.Background(), principal.Principal{Name: "c", Role: principal.Compliance})
		var req bulk.CreateRequest
		if err := decodeJSON([]byte(bulkSweep), &req); err != nil {
			b.Fatal(err)
		}
		req.Criteria, req.Screens = "true", nil
		a, err := svc.Create(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		zero := 0.0
		if _, err := svc.Execute(ctx, a.ID, bulk.ExecuteRequest{CanaryPercent: &zero}); err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { svc.Run(rctx) })
		before := &bulk.Action{}
		for before.Progress.Done == 0 { // the targets are fixed: sanctioning has begun
			time.Sleep(10 * time.Millisecond)
			if before, err = svc.Get(context.Background(), a.ID); err != nil {
				b.Fatal(err)
			}
		}
		busy := checksPerSecond(b, srv.URL, api.keys[principal.Service], 2*time.Second)
		got, _ := svc.Get(context.Background(), a.ID)
		cancel()
		wg.Wait()
		srv.Close()
		if got.State != bulk.Running {
			b.Fatalf("the execute is %s: it should run for the whole measurement", got.State)
		}
		b.Logf("checks/s idle %.0f, during execute %.0f (%.0f%%); the execute sanctioned %.0f/s meanwhile",
			idle, busy, 100*busy/idle, float64(got.Progress.Done-before.Progress.Done)/2)
		b.ReportMetric(100*busy/idle, "%idle")
	}
}
