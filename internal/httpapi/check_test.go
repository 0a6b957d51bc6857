package httpapi

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/logbuf"
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
//
// The load generator shares the machine with the server, so it is measured two ways:
// client=go is net/http's client, which on two cores spends about as much CPU as the
// server does; client=raw writes each prepared request and reads the answer off its own
// connection, as wrk does, leaving the server the CPU a separate load machine would.
func BenchmarkCheckHTTP(b *testing.B) {
	db := storetest.Open(b, "sqlite")
	api := newTestAPI(b, db)
	loadSynthetic(b, api.ix, 1_000_000)
	// serve logs each request as a line of JSON on stderr, batched by logbuf; here it goes
	// to a file. log=direct writes each line as it comes, as serve did before; log=none logs nothing.
	logFile, err := os.Create(filepath.Join(b.TempDir(), "requests.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	batched := logbuf.New(logFile, 100*time.Millisecond, 64<<10)
	defer batched.Close()
	servers := map[string]*httptest.Server{}
	for mode, log := range map[string]*slog.Logger{
		"batched": slog.New(batched.Handler(slog.NewJSONHandler(batched, nil))),
		"direct":  slog.New(slog.NewJSONHandler(logFile, nil)),
		"none":    slog.New(slog.DiscardHandler),
	} {
		servers[mode] = httptest.NewServer(NewHandler(Deps{App: api.app, Ready: db.Ready, Logger: log, Version: "bench"}))
		defer servers[mode].Close()
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	caps := []string{"chat.send", "pay.transfer", "game.play", "account.export"}
	for _, c := range []struct {
		client      string
		batch, rate int // rate 0: each client sends its next request as soon as it has an answer
		log         string
	}{{"go", 1, 0, "batched"}, {"go", 1000, 0, "batched"}, {"raw", 1, 0, "batched"}, {"raw", 1000, 0, "batched"},
		{"raw", 1, 30_000, "batched"}, {"raw", 1, 0, "direct"}, {"raw", 1, 30_000, "direct"}, {"raw", 1, 0, "none"}} {
		rate := "max"
		if c.rate > 0 {
			rate = strconv.Itoa(c.rate)
		}
		name := fmt.Sprintf("client=%s/batch=%d/rate=%s/log=%s", c.client, c.batch, rate, c.log)
		srv := servers[c.log]
		b.Run(name, func(b *testing.B) {
			bodies := make([][]byte, 64)
			for i := range bodies {
				r := rand.New(rand.NewPCG(uint64(i), 7))
				var sb strings.Builder
				check := func() string {
					return fmt.Sprintf(`{"account":"acct-%07d","capability":%q}`, r.IntN(1_000_000), caps[r.IntN(4)])
				}
				if c.batch == 1 {
					sb.WriteString(check())
				} else {
					sb.WriteString(`{"checks":[`)
					for j := range c.batch {
						if j > 0 {
							sb.WriteByte(',')
						}
						sb.WriteString(check())
					}
					sb.WriteString("]}")
				}
				bodies[i] = []byte(sb.String())
			}
			// At a set rate each client has its turns on a fixed schedule, and a request's
			// latency counts from its turn, not from when it went out: a stall delays the
			// turns queued behind it, and they count it (no coordinated omission).
			var every time.Duration
			if c.rate > 0 {
				every = time.Duration(64 * float64(time.Second) / float64(c.rate))
			}
			var next atomic.Int64
			lat := make([][]time.Duration, 64)
			var wg sync.WaitGroup
			b.ResetTimer()
			begin := time.Now()
			for w := range 64 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					send := goClient(client, srv.URL, api.keys[principal.Service], bodies[w])
					if c.client == "raw" {
						var err error
						if send, err = rawClient(srv.Listener.Addr().String(), api.keys[principal.Service], bodies[w]); err != nil {
							b.Error(err)
							return
						}
					}
					turn := begin.Add(every * time.Duration(w) / 64)
					for next.Add(1) <= int64(b.N) {
						start := time.Now()
						if every > 0 {
							time.Sleep(time.Until(turn))
							start, turn = turn, turn.Add(every)
						}
						if err := send(); err != nil {
							b.Error(err)
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
				b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99-ms")
			}
			b.ReportMetric(float64(b.N*c.batch)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}

// goClient returns a function that sends body to POST /v1/check through client.
func goClient(client *http.Client, url, key string, body []byte) func() error {
	return func() error {
		req, _ := http.NewRequest("POST", url+"/v1/check", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
}

// rawClient returns a function that sends body to POST /v1/check over one keep-alive
// connection to addr, written as prepared bytes, and reads the answer's status line,
// headers and Content-Length bytes of body.
func rawClient(addr, key string, body []byte) (func() error, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	req := fmt.Appendf(nil, "POST /v1/check HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", addr, key, len(body), body)
	in := bufio.NewReaderSize(conn, 64<<10)
	return func() error {
		if _, err := conn.Write(req); err != nil {
			return err
		}
		line, err := in.ReadSlice('\n')
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
			return fmt.Errorf("status line %q", line)
		}
		size, chunked := -1, false
		for {
			line, err := in.ReadSlice('\n')
			if err != nil {
				return err
			}
			if len(line) <= 2 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				if size, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
					return err
				}
			}
			chunked = chunked || bytes.Equal(line, []byte("Transfer-Encoding: chunked\r\n"))
		}
		if !chunked {
			if size < 0 {
				return fmt.Errorf("answer with neither Content-Length nor chunks")
			}
			_, err = in.Discard(size)
			return err
		}
		for { // each chunk: its size in hex, CRLF, the bytes, CRLF; the last is empty
			line, err := in.ReadSlice('\n')
			if err != nil {
				return err
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
			if err != nil {
				return fmt.Errorf("chunk size %q: %v", line, err)
			}
			if _, err := in.Discard(int(n) + 2); err != nil || n == 0 {
				return err
			}
		}
	}, nil
}
