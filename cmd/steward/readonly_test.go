package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// A mistyped --data-dir creates no database: audit verify and migrate name the path
// they did not find, and leave nothing behind.
func TestMistypedDataDir(t *testing.T) {
	typo := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"audit", "verify", "--data-dir", typo},
		{"migrate", "--data-dir", typo},
	} {
		_, err := stewardErr(t, args...)
		if err == nil || !strings.Contains(err.Error(), "no Steward database at ") || !strings.Contains(err.Error(), filepath.Join("typo", "steward.db")) {
			t.Errorf("steward %s: %v; want an error naming typo/steward.db", strings.Join(args, " "), err)
		}
		if _, err := os.Stat(typo); !os.IsNotExist(err) {
			t.Fatalf("steward %s left %s behind (%v)", strings.Join(args, " "), typo, err)
		}
	}
	if out := steward(t, "migrate", "--create", "--data-dir", typo); !strings.Contains(out, "schema version") {
		t.Fatalf("migrate --create: %q", out)
	}
}

// audit verify only reads: on PostgreSQL a database without Steward's schema is refused
// and left without one; on both, a database another steward writes to is read as is.
func TestAuditVerifyOnlyReads(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			db := flagsOf(cfg)
			if _, err := stewardErr(t, append([]string{"audit", "verify"}, db...)...); err == nil || !strings.Contains(err.Error(), "no Steward database") {
				t.Fatalf("verify of an empty database: %v", err)
			}
			raw := storetest.OpenRaw(t, cfg)
			var n int
			if err := raw.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&n); err == nil {
				t.Fatalf("verify of an empty database created its schema (%d migrations)", n)
			}
			steward(t, append([]string{"keys", "create", "--role", "auditor"}, db...)...)
			p := serve(t, db...)
			if out := steward(t, append([]string{"audit", "verify"}, db...)...); !strings.Contains(out, "audit log OK") {
				t.Fatalf("verify beside a running server: %q", out)
			}
			p.shutdown(t)
			if out := steward(t, append([]string{"audit", "verify"}, db...)...); !strings.Contains(out, "audit log OK: 1 entries") {
				t.Fatalf("verify: %q", out)
			}
		})
	}
}
