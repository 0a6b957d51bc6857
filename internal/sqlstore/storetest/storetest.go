// Package storetest opens throwaway Steward databases for tests: SQLite in a temporary
// directory always, and PostgreSQL when STEWARD_TEST_POSTGRES holds a server URL (each
// test gets a schema of its own). Under CI=true a missing PostgreSQL fails the test
// instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/sqlstore"
)

// EnvPostgres names the variable holding the PostgreSQL server URL for tests.
const EnvPostgres = "STEWARD_TEST_POSTGRES"

// Kinds lists the databases Each runs on.
var Kinds = []string{"sqlite", "postgres"}

// Each runs f as a subtest once per database kind.
func Each(t *testing.T, f func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			f(t, Open(t, kind))
		})
	}
}

// Open returns a new, migrated, empty database of kind, closed when the test ends.
func Open(tb testing.TB, kind string) *sqlstore.DB {
	tb.Helper()
	cfg := Config(tb, kind)
	db, err := sqlstore.Open(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("open %s: %v", kind, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Config returns the configuration of a new empty database of kind: a temporary data
// directory for SQLite, a fresh schema for PostgreSQL. Skips (or fails under CI) when
// PostgreSQL is asked for but not configured.
func Config(tb testing.TB, kind string) sqlstore.Config {
	tb.Helper()
	switch kind {
	case "sqlite":
		return sqlstore.Config{DataDir: tb.TempDir()}
	case "postgres":
		return sqlstore.Config{URL: postgresSchema(tb), DataDir: tb.TempDir()}
	}
	tb.Fatalf("unknown database kind %q", kind)
	return sqlstore.Config{}
}

// RequirePostgres skips the test when no PostgreSQL is configured, or fails it in CI.
func RequirePostgres(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set, and CI=true: PostgreSQL tests must run in CI (use scripts/test)", EnvPostgres)
		}
		tb.Skipf("PostgreSQL tests skipped: %s is not set (scripts/test starts a server and sets it)", EnvPostgres)
	}
	return base
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
)

// postgresSchema creates a schema for this test and returns a URL whose connections use
// it; the schema is dropped when the test ends.
func postgresSchema(tb testing.TB) string {
	tb.Helper()
	base := RequirePostgres(tb)
	adminOnce.Do(func() {
		admin, adminErr = sql.Open("pgx", base)
		if adminErr == nil {
			adminErr = admin.Ping()
		}
	})
	if adminErr != nil {
		tb.Fatalf("PostgreSQL at %s: %v", EnvPostgres, adminErr)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() { admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("%s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// OpenRaw opens the database of cfg directly, behind Steward's back, for tests that
// tamper with it; it is closed when the test ends.
func OpenRaw(tb testing.TB, cfg sqlstore.Config) *sql.DB {
	tb.Helper()
	var raw *sql.DB
	var err error
	if cfg.URL == "" {
		raw, err = sql.Open("sqlite", filepath.Join(cfg.DataDir, "steward.db"))
	} else {
		raw, err = sql.Open("pgx", cfg.URL)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { raw.Close() })
	return raw
}

// NewApp wires Steward over db as serve does (see package app) and starts it: the
// audit key, if cfg has one, is registered and the decision index loaded. Each call is
// another process's services over the same database.
func NewApp(tb testing.TB, db *sqlstore.DB, cfg app.Config) *app.App {
	tb.Helper()
	return NewAppOver(tb, db.Stores(), cfg)
}

// NewAppOver is NewApp over stores a test may have changed (say, an audit log that
// refuses every entry).
func NewAppOver(tb testing.TB, st app.Stores, cfg app.Config) *app.App {
	tb.Helper()
	a, err := app.New(st, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := a.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return a
}

// AuditKey returns a new signing key for an audit log, kept in a temporary directory.
func AuditKey(tb testing.TB) *audit.Key {
	tb.Helper()
	key, _, err := audit.LoadOrCreateKey(filepath.Join(tb.TempDir(), "audit.key"))
	if err != nil {
		tb.Fatal(err)
	}
	return key
}
