package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// adminAddr waits for serve's log to name its admin listener, and returns its address.
func adminAddr(t *testing.T, p *program) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(p.stderr.String(), "\n") {
			var l struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "admin listener (pprof)" {
				return l.Addr
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("serve did not log its admin listener: %s", p.stderr)
	return ""
}

// steward status prints a running server's readiness and signals, or the database's;
// serve --admin-addr serves pprof on loopback and refuses any other address.
func TestStatusAndAdminListener(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := dbArgs(t, kind)
			service := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
			p := serve(t, append(db, "--admin-addr", "127.0.0.1:0")...)
			putAccounts(t, client.New(p.url, service, nil), 0, 5)

			out := steward(t, "status", "--url", p.url)
			for _, want := range []string{"ready: yes", "audit sequencer: ", " entries behind", "bulk actions: none", "appeal SLA breaches: 0", "retention (this process): deleted"} {
				if !strings.Contains(out, want) {
					t.Errorf("status --url: %q lacks %q", out, want)
				}
			}
			resp, err := http.Get("http://" + adminAddr(t, p) + "/debug/pprof/goroutine?debug=1")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("pprof on the admin listener: %v %v", resp, err)
			}
			resp.Body.Close()
			p.shutdown(t)

			out = steward(t, append([]string{"status"}, db...)...)
			for _, want := range []string{"database: ", "audit sequencer: 0 entries behind", "bulk actions: none", "appeal SLA breaches: 0"} {
				if !strings.Contains(out, want) {
					t.Errorf("status of the database: %q lacks %q", out, want)
				}
			}
		})
	}
	for _, addr := range []string{"0.0.0.0:0", "192.168.1.10:6060", ":6060", "localhost:6060", "nonsense"} {
		if _, err := stewardErr(t, "serve", "--data-dir", t.TempDir(), "--admin-addr", addr); err == nil || !strings.Contains(err.Error(), "admin-addr") {
			t.Errorf("serve --admin-addr %s: %v, want it refused naming admin-addr", addr, err)
		}
	}
}
