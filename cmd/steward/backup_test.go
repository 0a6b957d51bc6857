package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// metric returns the value of the metric name on the server at url's /metrics, or -1.
func metric(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// verifyArgs are backup verify's flags for a backup of the database cfg names.
func verifyArgs(cfg sqlstore.Config) []string {
	if cfg.URL == "" {
		return nil
	}
	return []string{"--db", os.Getenv(storetest.EnvPostgres)}
}

// TestBackupCommands: serve takes a backup on schedule and says so on /metrics; beside
// it, steward backup writes one, backup verify passes it and names a tampered file,
// and restore fills an empty target and refuses a used one.
func TestBackupCommands(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			db := flagsOf(cfg)
			key := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
			scheduled := filepath.Join(t.TempDir(), "scheduled")
			p := serve(t, append(db, "--backup-dir", scheduled, "--backup-every", "1h", "--backup-keep", "3")...)
			putAccounts(t, client.New(p.url, key, nil), 0, 20)
			deadline := time.Now().Add(time.Minute)
			for metric(t, p.url, "steward_backup_last_success_timestamp_seconds") <= 0 {
				if time.Now().After(deadline) {
					t.Fatalf("no scheduled backup within a minute:\n%s", p.stderr)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n := metric(t, p.url, "steward_backup_failures_total"); n != 0 {
				t.Fatalf("failures: %v", n)
			}
			if ents, _ := filepath.Glob(filepath.Join(scheduled, "steward-*", "manifest.json")); len(ents) != 1 {
				t.Fatalf("scheduled backups: %v", ents)
			}

			dir := filepath.Join(t.TempDir(), "b")
			out := steward(t, append([]string{"backup", "--to", dir}, db...)...)
			if !strings.Contains(out, "backup of "+kind+" written to "+dir) {
				t.Fatalf("backup: %q", out)
			}
			if _, err := stewardErr(t, append([]string{"backup", "--to", dir}, db...)...); errs.CodeOf(err) != errs.Conflict {
				t.Fatalf("backup over an existing one: %v", err)
			}
			if out := steward(t, append([]string{"backup", "verify", dir}, verifyArgs(cfg)...)...); !strings.Contains(out, "OK") || !strings.Contains(out, "ledger verify passes") {
				t.Fatalf("verify: %q", out)
			}

			to := storetest.Config(t, kind)
			to.DataDir = filepath.Join(to.DataDir, "restored")
			if out := steward(t, append([]string{"restore", "--from", dir}, flagsOf(to)...)...); !strings.Contains(out, "restored the "+kind+" backup") {
				t.Fatalf("restore: %q", out)
			}
			if _, err := stewardErr(t, append([]string{"restore", "--from", dir}, flagsOf(to)...)...); err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Fatalf("restore into a used target: %v", err)
			}
			if _, err := stewardErr(t, "restore"); err == nil || !strings.Contains(err.Error(), "from") || !strings.Contains(err.Error(), "data-dir") {
				t.Fatalf("restore without flags: %v", err)
			}

			m, err := sqlstore.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(dir, filepath.FromSlash(m.Files[0].Name))
			if err := os.WriteFile(victim, []byte("tampered"), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = stewardErr(t, append([]string{"backup", "verify", dir}, verifyArgs(cfg)...)...)
			if err == nil || !strings.Contains(err.Error(), "FAILED verification") || !strings.Contains(err.Error(), "file "+m.Files[0].Name+": 8 bytes") {
				t.Fatalf("verify of a tampered backup: %v", err)
			}
		})
	}
}

func TestServeRefusesBadBackupFlags(t *testing.T) {
	_, err := stewardErr(t, "serve", "--data-dir", t.TempDir(), "--backup-dir", t.TempDir(), "--backup-every", "0s", "--backup-keep", "0")
	if !strings.Contains(err.Error(), "backup-every") || !strings.Contains(err.Error(), "backup-keep") {
		t.Fatalf("serve with a bad schedule: %v", err)
	}
}
