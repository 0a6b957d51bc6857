package httpapi

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// loadSynthetic fills ix with a sanction on every tenth of accounts IDs acct-0000000 …,
// alternating a ban of every service and a chat suspension.
func loadSynthetic(tb testing.TB, ix *enforce.Index, accounts int) {
	tb.Helper()
	now := time.Now().UnixNano()
	err := ix.Load(func(add func(enforce.Entry)) error {
		for i := 0; i < accounts; i += 10 {
			e := enforce.Entry{Sanction: fmt.Sprintf("0190a0a0-0000-7000-8000-%012d", i), Account: fmt.Sprintf("acct-%07d", i),
				Kind: enforce.Ban, Services: []string{"*"}, Start: now - int64(time.Hour), End: enforce.NoEnd, ReasonCode: "fraud", Seq: int64(i + 1)}
			if i%20 == 10 {
				e.Kind, e.Services, e.End = enforce.Suspend, []string{"chat"}, now+int64(time.Hour)
			}
			add(e)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func TestCheckEncodesLikeEncodingJSON(t *testing.T) {
	for _, s := range []string{"plain", `quote " and \ backslash`, "tab\tnewline\n", "中文", "bad \xff byte", "</script>&"} {
		var b bytes.Buffer
		b.Write(appendString(nil, s))
		var back string
		if err := decodeJSON(b.Bytes(), &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, b.Bytes(), err)
		}
		if back != strings.ToValidUTF8(s, "\ufffd") {
			t.Fatalf("%q came back as %q", s, back)
		}
	}
}

// BenchmarkCheckHTTP measures POST /v1/check over loopback TCP with keep-alive from 64
// concurrent clients, against an index of 100,000 sanctions over 1,000,000 accounts:
// single checks, and batches of 1,000. It reports checks (decisions) per second and
// the 99th percentile latency of a request.
func BenchmarkCheckHTTP(b *testing.B) {
	api := newEnforceAPI(b, storetest.Open(b, "sqlite"))
	loadSynthetic(b, api.ix, 1_000_000)
	srv := httptest.NewServer(api.h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	caps := []string{"chat.send", "pay.transfer", "game.play", "account.export"}
	for _, size := range []int{1, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			bodies := make([][]byte, 64)
			for i := range bodies {
				r := rand.New(rand.NewPCG(uint64(i), 7))
				var sb strings.Builder
				check := func() string {
					return fmt.Sprintf(`{"account":"acct-%07d","capability":%q}`, r.IntN(1_000_000), caps[r.IntN(4)])
				}
				if size == 1 {
					sb.WriteString(check())
				} else {
					sb.WriteString(`{"checks":[`)
					for j := range size {
						if j > 0 {
							sb.WriteByte(',')
						}
						sb.WriteString(check())
					}
					sb.WriteString("]}")
				}
				bodies[i] = []byte(sb.String())
			}
			var next atomic.Int64
			lat := make([][]time.Duration, 64)
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						start := time.Now()
						req, _ := http.NewRequest("POST", srv.URL+"/v1/check", bytes.NewReader(bodies[w]))
						req.Header.Set("Authorization", "Bearer "+api.keys[principal.Service])
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
						lat[w] = append(lat[w], time.Since(start))
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) > 0 {
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}
