package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

var witnessSize = regexp.MustCompile(`(\d+) entries`)

// witnessUntil runs `steward audit witness` until the log it sees has want entries,
// and returns the last output.
func witnessUntil(t *testing.T, url, key, state string, want int) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := stewardErr(t, "audit", "witness", "--url", url, "--key", key, "--state", state)
		if err != nil && !strings.Contains(err.Error(), "no checkpoint yet") {
			t.Fatalf("witness: %v", err)
		}
		m := witnessSize.FindAllStringSubmatch(out, -1)
		if len(m) > 0 {
			if n, _ := strconv.Atoi(m[len(m)-1][1]); n == want {
				return out
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log did not reach %d entries: the witness says %q", want, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func putAccounts(t *testing.T, c *client.Client, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		a := &client.Account{ID: "u" + strconv.Itoa(i), Region: "yn", CreatedAt: time.Now(), Locale: "en"}
		if _, _, err := c.PutAccount(context.Background(), a, ""); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAuditVerifyAndWitness(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			db := flagsOf(cfg)
			auditor := lastLine(steward(t, append([]string{"keys", "create", "--role", "auditor"}, db...)...))
			service := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
			state := filepath.Join(t.TempDir(), "witness.json")

			p := serve(t, db...)
			if fi, err := os.Stat(filepath.Join(cfg.DataDir, "audit.key")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("signing key: %v, %v; want a file of mode 0600 in the data directory", fi, err)
			}
			c := client.New(p.url, service, nil)
			putAccounts(t, c, 0, 20)
			out := witnessUntil(t, p.url, auditor, state, 22) // and the two keys
			putAccounts(t, c, 20, 10)
			out = witnessUntil(t, p.url, auditor, state, 32)
			if !strings.Contains(out, "grew from") {
				t.Errorf("witness: %q", out)
			}
			p.shutdown(t)

			out = steward(t, append([]string{"audit", "verify"}, db...)...)
			if !strings.Contains(out, "audit log OK: 32 entries") {
				t.Fatalf("verify: %q", out)
			}

			raw := storetest.OpenRaw(t, cfg)

			// Roll the log back to its first checkpoint that held 22 entries, as a restore
			// of an old backup would: verify notices, and so does the witness.
			if _, err := raw.Exec("DELETE FROM audit_checkpoints WHERE size > 22"); err != nil {
				t.Fatal(err)
			}
			if _, err := stewardErr(t, append([]string{"audit", "verify"}, db...)...); err == nil || !strings.Contains(err.Error(), "entry 22") {
				t.Fatalf("verify after a rollback: %v; want a failure at entry 22", err)
			}
			p = serve(t, db...)
			if _, err := stewardErr(t, "audit", "witness", "--url", p.url, "--key", auditor, "--state", state); err == nil || !strings.Contains(err.Error(), "shrank from 32 entries to 22") {
				t.Fatalf("witness after a rollback: %v", err)
			}
			p.shutdown(t)

			// An entry rewritten behind Steward's back.
			if _, err := raw.Exec("UPDATE audit_entries SET actor_name = 'mallory' WHERE tree_index = 3"); err != nil {
				t.Fatal(err)
			}
			if _, err := stewardErr(t, append([]string{"audit", "verify"}, db...)...); err == nil || !strings.Contains(err.Error(), "FAILED at entry 3") {
				t.Fatalf("verify after an update: %v; want a failure at entry 3", err)
			}
		})
	}
}
