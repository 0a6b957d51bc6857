package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// A database opened read-only must exist with Steward's schema; it reads, refuses
// writes through Write, and the database itself refuses a write that slips past it.
func TestReadOnly(t *testing.T) {
	ctx := context.Background()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			ro := cfg
			ro.ReadOnly = true
			if _, err := sqlstore.Open(ctx, ro); errs.CodeOf(err) != errs.NotFound {
				t.Fatalf("read-only open of an empty database: %v, want not_found", err)
			}
			if cfg.URL == "" {
				if _, err := os.Stat(filepath.Join(cfg.DataDir, sqlstore.SQLiteFile)); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("read-only open created the database file (%v)", err)
				}
			}
			rw, err := sqlstore.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer rw.Close()
			db, err := sqlstore.Open(ctx, ro)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if n, err := db.Count(ctx, "accounts"); err != nil || n != 0 {
				t.Fatalf("count: %d, %v", n, err)
			}
			if err := db.Write(ctx, func(context.Context) error { return nil }); !errors.Is(err, sqlstore.ErrReadOnly) {
				t.Fatalf("write: %v, want ErrReadOnly", err)
			}
			if _, err := db.Migrate(ctx); err == nil {
				t.Fatal("migrate on a read-only database succeeded")
			}
		})
	}
}
