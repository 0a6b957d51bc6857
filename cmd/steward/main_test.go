package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// syncBuffer is a bytes.Buffer safe to write from the program and read from the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// steward runs the program with args and returns its stdout; it fails the test on error.
func steward(t *testing.T, args ...string) string {
	t.Helper()
	out, err := stewardErr(t, args...)
	if err != nil {
		t.Fatalf("steward %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func stewardErr(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr syncBuffer
	err := run(context.Background(), args, noEnv, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), err
}

func noEnv(string) string { return "" }

// program is a running `steward serve`.
type program struct {
	url    string
	stop   context.CancelFunc
	done   chan error
	stderr *syncBuffer
}

// serve starts `steward serve` on a free port with dbArgs and waits until it listens.
func serve(t *testing.T, dbArgs ...string) *program {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &program{stop: cancel, done: make(chan error, 1), stderr: &syncBuffer{}}
	go func() {
		p.done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, dbArgs...), noEnv, strings.NewReader(""), pw, p.stderr)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve did not start: %v\n%s", err, p.stderr)
	}
	go io.Copy(io.Discard, pr)
	p.url = strings.TrimSpace(strings.TrimPrefix(line, "steward listening on "))
	t.Cleanup(func() { p.shutdown(t) })
	return p
}

func (p *program) shutdown(t *testing.T) {
	t.Helper()
	p.stop()
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
		p.done <- nil // a second shutdown returns at once
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30 s")
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// dbArgs returns the database flags of a new empty database of kind.
func dbArgs(t *testing.T, kind string) []string {
	return flagsOf(storetest.Config(t, kind))
}

// flagsOf returns the database flags naming the database of cfg.
func flagsOf(cfg sqlstore.Config) []string {
	args := []string{"--data-dir", cfg.DataDir}
	if cfg.URL != "" {
		args = append(args, "--db", cfg.URL)
	}
	return args
}

func TestServeKeysAndImport(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := dbArgs(t, kind)
			steward(t, append([]string{"migrate", "--create"}, db...)...)
			if out := steward(t, append([]string{"migrate"}, db...)...); !strings.Contains(out, "schema version") {
				t.Fatalf("migrate: %q", out)
			}
			key := lastLine(steward(t, append([]string{"keys", "create", "--role", "service", "--name", "backend"}, db...)...))
			if !strings.HasPrefix(key, "stw_") {
				t.Fatalf("keys create printed %q as its last line", key)
			}
			p := serve(t, db...)
			c := client.New(p.url, key, nil)
			ctx := context.Background()

			if _, created, err := c.PutAccount(ctx, &client.Account{ID: "u1", Region: "yn", CreatedAt: time.Now(), Locale: "en"}, ""); err != nil || !created {
				t.Fatalf("put: created=%v err=%v", created, err)
			}

			file := filepath.Join(t.TempDir(), "accounts.ndjson")
			writeAccounts(t, file, 1234, -1)
			out := steward(t, "accounts", "import", file, "--url", p.url, "--key", key, "--chunk", "500")
			if !strings.Contains(out, "imported 1234 accounts (1234 created, 0 replaced)") {
				t.Fatalf("import said %q", out)
			}
			// Running it again is new work: every account is replaced.
			out = steward(t, "accounts", "import", file, "--url", p.url, "--key", key, "--chunk", "500")
			if !strings.Contains(out, "imported 1234 accounts (0 created, 1234 replaced)") {
				t.Fatalf("second import said %q", out)
			}
			page, err := c.ListAccounts(ctx, "", "", 1000)
			if err != nil || len(page.Accounts) != 1000 || page.Next == "" {
				t.Fatalf("list: %d accounts, next=%q, err=%v", len(page.Accounts), page.Next, err)
			}

			bad := filepath.Join(t.TempDir(), "bad.ndjson")
			writeAccounts(t, bad, 1200, 777)
			_, err = stewardErr(t, "accounts", "import", bad, "--url", p.url, "--key", key, "--chunk", "500")
			if err == nil || !strings.Contains(err.Error(), "line 777: region") {
				t.Fatalf("a bad line 777 gave %v; want an error naming line 777 of the file", err)
			}
			if strings.Contains(err.Error(), "line 277") {
				t.Fatalf("a bad line 777 gave %v; it names line 277 of the chunk", err)
			}
		})
	}
}

// writeAccounts writes n NDJSON accounts to path; line badLine (1-based) has no region.
func writeAccounts(t *testing.T, path string, n, badLine int) {
	t.Helper()
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		region := "yn"
		if i == badLine {
			region = ""
		}
		fmt.Fprintf(&b, `{"id":"imp-%05d","region":%q,"verified":%v,"created_at":"2019-05-06T07:08:09Z","locale":"zh-CN","attributes":{"n":%d}}`+"\n", i, region, i%2 == 0, i)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A request in flight when the signal comes is finished and answered; the server then
// stops.
func TestServeFinishesRequestsInFlight(t *testing.T) {
	db := dbArgs(t, "sqlite")
	key := lastLine(steward(t, append([]string{"keys", "create", "--role", "admin"}, db...)...))
	p := serve(t, db...)

	body := `{"region":"yn","verified":true,"created_at":"2020-01-02T03:04:05Z","locale":"en"}`
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", p.url+"/v1/accounts/slow", pr)
	req.Header.Set("Authorization", "Bearer "+key)
	req.ContentLength = int64(len(body))
	type result struct {
		status int
		err    error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			resc <- result{err: err}
			return
		}
		resp.Body.Close()
		resc <- result{status: resp.StatusCode}
	}()
	io.WriteString(pw, body[:10]) // the request is now in flight, its body half sent
	time.Sleep(100 * time.Millisecond)
	p.stop() // as SIGINT does: serve's context ends
	time.Sleep(100 * time.Millisecond)
	io.WriteString(pw, body[10:])
	pw.Close()
	r := <-resc
	if r.err != nil || r.status != http.StatusCreated {
		t.Fatalf("request in flight at shutdown: status %d, err %v; want 201", r.status, r.err)
	}
	p.shutdown(t)
	if _, err := http.Get(p.url + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop in the log:\n%s", p.stderr)
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"keys", "create", "--role", "king", "--data-dir", dir}, "role"},
		{[]string{"keys", "create", "--data-dir", dir}, `"role" not set`},
		{[]string{"serve", "--db", "mysql://x", "--data-dir", dir}, "postgres://"},
		{[]string{"accounts", "import", "x.ndjson"}, "API key is required"},
		{[]string{"nosuch"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := stewardErr(t, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	if out := steward(t, "version"); !strings.HasPrefix(out, "steward ") {
		t.Fatalf("version printed %q", out)
	}
}

// The health endpoint reports the database through the whole program.
func TestServeHealth(t *testing.T) {
	p := serve(t, dbArgs(t, "sqlite")...)
	resp, err := http.Get(p.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct{ Status string }
	json.NewDecoder(resp.Body).Decode(&h)
	if resp.StatusCode != 200 || h.Status != "ok" {
		t.Fatalf("healthz: %d %+v", resp.StatusCode, h)
	}
}

// The whole URL space answers problem details: the API under /v1/ and at its operational
// paths, and the top-level mux everywhere but the console's and portal's pages, which
// answer a page of their own.
func TestServeUnknownPaths(t *testing.T) {
	p := serve(t, dbArgs(t, "sqlite")...)
	if resp, err := http.Get(p.url + "/console/nothing"); err != nil || resp.StatusCode != http.StatusNotFound ||
		resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET /console/nothing: %v %v, want the console's 404 page", resp, err)
	} else {
		resp.Body.Close()
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/", http.StatusNotFound},
		{"GET", "/elsewhere/nothing", http.StatusNotFound},
		{"GET", "/v1/nothing", http.StatusNotFound},
		{"POST", "/healthz", http.StatusMethodNotAllowed},
		{"GET", "/healthz", http.StatusOK},
	} {
		req, _ := http.NewRequest(c.method, p.url+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != c.status || c.status != http.StatusOK && ct != "application/problem+json" {
			t.Errorf("%s %s: %d %s, want %d as problem details", c.method, c.path, resp.StatusCode, ct, c.status)
		}
	}
}
