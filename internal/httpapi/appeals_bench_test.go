package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/review"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// benchAppeals is how many accounts the appeal benchmarks sweep and have appeal:
// STEWARD_BENCH_APPEALS, 20,000 by default (the aim is 1,000,000).
func benchAppeals(b *testing.B) int {
	if v := os.Getenv("STEWARD_BENCH_APPEALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return 20_000
}

// BenchmarkAppealsAftermath measures a sweep's aftermath over HTTP: every target of a
// bulk action appeals (POST /v1/appeals from 64 clients), re-screening settles them all
// (half released by an appeal screen), then claims of 10 from the open half, on each
// database. It reports filings/s, re-screenings/s and the claims' p50 and p99.
func BenchmarkAppealsAftermath(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			n := benchAppeals(b)
			for b.Loop() {
				db := storetest.Open(b, kind)
				api := newTestAPI(b, db)
				ctx := principal.NewContext(context.Background(), principal.Key("carla", principal.Compliance, "k"))
				if _, err := api.app.Accounts.Import(context.Background(), population.Generate(population.Config{N: n, Seed: 3}), nil); err != nil {
					b.Fatal(err)
				}
				var req bulk.CreateRequest
				if err := decodeJSON([]byte(bulkSweep), &req); err != nil {
					b.Fatal(err)
				}
				req.Criteria, req.Screens = "true", nil
				req.Authority.Kind, req.Authority.Issuer, req.Authority.Reference, req.Authority.Rule = "automated", "", "", "sweep"
				req.AppealSettings.Screens = []bulk.Screen{{Name: "even", Expr: `int(account.id.substring(5)) % 2 == 0`}}
				notify := false
				req.NotifyUsers = &notify
				a, err := api.app.Bulk.Create(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				zero := 0.0
				if _, err := api.app.Bulk.Execute(ctx, a.ID, bulk.ExecuteRequest{CanaryPercent: &zero}); err != nil {
					b.Fatal(err)
				}
				for more := true; more; {
					if more, err = api.app.Bulk.Step(context.Background(), a.ID); err != nil {
						b.Fatal(err)
					}
				}
				var bodies [][]byte
				for after := int64(0); ; {
					ts, err := api.app.Bulk.Targets(context.Background(), a.ID, after, 1000)
					if err != nil {
						b.Fatal(err)
					}
					if len(ts) == 0 {
						break
					}
					for _, t := range ts {
						bodies = append(bodies, fmt.Appendf(nil, `{"account": %q, "channel": "agent", "sanction": %q, "statement": "I was there for work."}`, t.Account, t.Sanction))
					}
					after = ts[len(ts)-1].Ord
				}
				srv := httptest.NewServer(api.handler)
				start := time.Now()
				post(b, srv.URL, "/v1/appeals", api.keys[principal.Agent], bodies, http.StatusCreated)
				filed := time.Since(start)

				start = time.Now()
				for {
					k, err := api.app.Appeals.RescreenOnce(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if k == 0 {
						break
					}
				}
				rescreened := time.Since(start)

				reviewer := api.keys[principal.Reviewer]
				var lat []time.Duration
				claim := []byte(`{"n": 10, "lease": "1h"}`)
				for range 200 {
					t0 := time.Now()
					post(b, srv.URL, "/v1/appeals:claim", reviewer, [][]byte{claim}, http.StatusOK)
					lat = append(lat, time.Since(t0))
				}
				srv.Close()
				slices.Sort(lat)
				b.ReportMetric(float64(len(bodies))/filed.Seconds(), "filings/s")
				b.ReportMetric(float64(len(bodies))/rescreened.Seconds(), "rescreens/s")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "claim-p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "claim-p99-ms")
				open, _ := api.app.Appeals.List(context.Background(), appeals.Filter{State: appeals.Open, Limit: 1})
				if len(open) == 0 {
					b.Fatal("no open appeals left to claim")
				}
				_ = review.MaxClaim
			}
		})
	}
}

// post sends each body to path from 64 clients and fails on any other status than want.
func post(b *testing.B, url, path, key string, bodies [][]byte, want int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	work := make(chan []byte)
	var wg sync.WaitGroup
	for range min(64, len(bodies)) {
		wg.Go(func() {
			for body := range work {
				req, _ := http.NewRequest("POST", url+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				if resp.StatusCode != want {
					msg, _ := io.ReadAll(resp.Body)
					b.Errorf("POST %s: %d %s", path, resp.StatusCode, msg)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for _, body := range bodies {
		work <- body
	}
	close(work)
	wg.Wait()
}
