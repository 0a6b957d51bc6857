package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// Reporters and targets of BenchmarkReports: a reporter reports each target at most
// once, so up to benchReporters × benchTargets reports are accepted in a run.
const (
	benchReporters = 20000
	benchTargets   = 2000
)

// BenchmarkReports files reports through POST /v1/reports from benchClients concurrent
// clients, brigade detection on: every report is weighed from its reporter's record, merged
// into its target's case, and once a case has Config.MinBurst reports its window is
// judged on each report. A tenth of the reporters are new accounts; every tenth report
// shares one device, so the busiest cases are flagged along the way.
func BenchmarkReports(b *testing.B) {
	for _, kind := range storetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			api := newTestAPI(b, storetest.Open(b, kind))
			now := time.Now().UTC()
			as := make([]*accounts.Account, 0, benchReporters+benchTargets)
			for i := range benchReporters {
				age := 3 * 365 * 24 * time.Hour
				if i%10 == 0 {
					age = 24 * time.Hour
				}
				as = append(as, &accounts.Account{ID: fmt.Sprintf("r%d", i), Region: "north", Locale: "en", CreatedAt: now.Add(-age)})
			}
			for i := range benchTargets {
				as = append(as, &accounts.Account{ID: fmt.Sprintf("t%d", i), Region: "north", Locale: "en", CreatedAt: now.Add(-time.Hour * 24 * 400)})
			}
			if _, err := api.app.Accounts.Import(context.Background(), as, nil); err != nil {
				b.Fatal(err)
			}
			url, hc, key := serveBench(b, api)
			var n atomic.Int64
			b.SetParallelism(max(1, benchClients/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1) - 1
					device := fmt.Sprintf("dev-%d", i)
					if i%10 == 0 {
						device = "farm-1"
					}
					body := fmt.Sprintf(`{"reporter": "r%d", "target": "t%d", "category": "spam", "text": "link spam", "context": {"device": %q, "ip_prefix": "198.51.100.0/24"}}`,
						i%benchReporters, (i/benchReporters+i)%benchTargets, device)
					send(b, hc, "POST", url+"/v1/reports", key, body, http.StatusAccepted)
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reports/s")
		})
	}
}
