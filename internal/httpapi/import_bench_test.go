package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// bigLines is an import body made as it is read: n lines whose attributes hold attrs
// strings of 1,000 bytes, so only the server holds what it reads.
type bigLines struct {
	n, attrs, i int
	pending     []byte
}

func (b *bigLines) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if b.i == b.n {
			return 0, io.EOF
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, `{"id":"big-%d","region":"north","created_at":"2020-01-02T03:04:05Z","locale":"en","attributes":{`, b.i)
		for j := range b.attrs {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"a%d":%q`, j, strings.Repeat(string(rune('a'+j%26)), 1000))
		}
		sb.WriteString("}}\n")
		b.pending = []byte(sb.String())
		b.i++
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// heapPeak samples the live heap until stop is closed and returns its peak.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkImportLargeHeap sends one import of 8,000 lines of 30 KB attributes (243 MB)
// over loopback and reports the peak live heap of the process (the client makes its body
// as it sends it).
func BenchmarkImportLargeHeap(b *testing.B) {
	url, hc, key := benchServer(b, "sqlite")
	var peak atomic.Uint64
	for i := range b.N {
		runtime.GC()
		stop := make(chan struct{})
		peakc := heapPeak(stop)
		req, err := http.NewRequest("POST", url+"/v1/accounts:import", &bigLines{n: 8000, attrs: 30})
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		close(stop)
		p := <-peakc
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("import %d: %d %s", i, resp.StatusCode, answer)
		}
		peak.Store(max(peak.Load(), p))
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
}
