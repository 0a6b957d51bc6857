package sqlstore

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
)

// sqliteSnapshots backs SQLite up with VACUUM INTO, which writes a consistent, compact
// copy of the database as of one read transaction; in WAL mode writers go on meanwhile.
type sqliteSnapshots struct{}

func sqliteURL(path, query string) string {
	return (&url.URL{Scheme: "file", Path: path, RawQuery: query}).String()
}

func (sqliteSnapshots) snapshot(ctx context.Context, db *DB, dir string) (*snapshotFacts, error) {
	// A connection of its own, read-only but not query_only (which refuses VACUUM INTO).
	src, err := sql.Open("sqlite", sqliteURL(db.file, "mode=ro&_pragma=busy_timeout(10000)"))
	if err != nil {
		return nil, err
	}
	defer src.Close()
	out := filepath.Join(dir, SQLiteFile)
	if _, err := src.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		return nil, err
	}
	// The copy is the snapshot: what the manifest says of it is read from it.
	snap, err := sql.Open("sqlite", sqliteURL(out, "mode=ro"))
	if err != nil {
		return nil, err
	}
	defer snap.Close()
	read := sqlReader(snap)
	tables, err := readTables(ctx, read, sqliteDialect.tablesSQL)
	if err != nil {
		return nil, err
	}
	return readFacts(ctx, read, tables)
}

func (sqliteSnapshots) restore(ctx context.Context, from string, _ *BackupManifest, cfg Config) error {
	if err := copyFile(filepath.Join(from, SQLiteFile), filepath.Join(cfg.DataDir, SQLiteFile), 0o600); err != nil {
		return err
	}
	db, err := Open(ctx, Config{DataDir: cfg.DataDir, Logger: cfg.Logger}) // migrates an older backup
	if err != nil {
		return err
	}
	return db.Close()
}

func (sqliteSnapshots) scratch(_ context.Context, tmp, _ string) (Config, func(), error) {
	dir, err := os.MkdirTemp(tmp, "steward-verify-")
	if err != nil {
		return Config{}, nil, err
	}
	return Config{DataDir: filepath.Join(dir, "data")}, func() { os.RemoveAll(dir) }, nil
}
