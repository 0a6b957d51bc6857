package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// benchClients is how many clients BenchmarkPutAccount runs at once.
const benchClients = 32

// benchServer serves the API over loopback on a database of kind and returns its URL,
// a keep-alive client able to hold benchClients connections, and the service key.
func benchServer(b *testing.B, kind string) (url string, hc *http.Client, key string) {
	b.Helper()
	return serveBench(b, newTestAPI(b, storetest.Open(b, kind)))
}

func serveBench(b *testing.B, api *testAPI) (url string, hc *http.Client, key string) {
	b.Helper()
	srv := httptest.NewServer(api.handler)
	b.Cleanup(srv.Close)
	tr := &http.Transport{MaxIdleConns: 2 * benchClients, MaxIdleConnsPerHost: 2 * benchClients}
	b.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: tr, Timeout: 10 * time.Minute}, api.keys[principal.Service]
}

// send makes one request and fails unless it answers want; it reads the whole answer so
// the connection is reused.
func send(b *testing.B, hc *http.Client, method, url, key, body string, want ...int) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return
		}
	}
	b.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, answer)
}

// BenchmarkPutAccount upserts accounts one per request through the HTTP API from
// benchClients concurrent clients over keep-alive loopback connections. Each write is
// durable: it commits (grouped with concurrent ones) and syncs before the answer.
// The +sequencer runs integrate the audit entries into the Merkle tree meanwhile, every
// 500 ms as steward serve does.
func BenchmarkPutAccount(b *testing.B) {
	for _, name := range []string{"sqlite", "sqlite+sequencer", "postgres", "postgres+sequencer"} {
		b.Run(name, func(b *testing.B) {
			kind, sequenced := strings.CutSuffix(name, "+sequencer")
			api := newTestAPI(b, storetest.Open(b, kind))
			if sequenced {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { api.seq.Run(ctx); close(done) }()
				b.Cleanup(func() { cancel(); <-done })
			}
			url, hc, key := serveBench(b, api)
			body := validBody
			var n atomic.Int64
			b.SetParallelism(max(1, benchClients/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					// Every fourth request replaces an account written before.
					i := n.Add(1)
					if i%4 == 0 {
						i /= 4
					}
					send(b, hc, "PUT", fmt.Sprintf("%s/v1/accounts/bench-%d", url, i), key, body, http.StatusCreated, http.StatusOK)
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "accounts/s")
		})
	}
}

// BenchmarkImport imports new accounts through the HTTP API, accounts.MaxImport per
// request. -benchtime=10x imports 1,000,000.
func BenchmarkImport(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			url, hc, key := benchServer(b, kind)
			b.ReportAllocs()
			var spent time.Duration
			for i := range b.N {
				b.StopTimer()
				body := ndjson(fmt.Sprintf("i%d-", i), accounts.MaxImport, "north")
				b.SetBytes(int64(len(body)))
				b.StartTimer()
				start := time.Now()
				send(b, hc, "POST", url+"/v1/accounts:import", key, body, http.StatusOK)
				spent += time.Since(start)
			}
			b.ReportMetric(float64(b.N*accounts.MaxImport)/spent.Seconds(), "accounts/s")
			b.ReportMetric(spent.Seconds(), "s/total")
		})
	}
}
