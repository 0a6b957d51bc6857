package sqlstore

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/stewardhq/steward/internal/errs"
)

// copySnapshots backs PostgreSQL up as a COPY of every table, in PostgreSQL's text
// format, inside one repeatable-read transaction, which also reads the manifest's facts:
// the files, the counts and the audit root all describe the same snapshot. Unlike a
// pg_dump, the files are bound to no schema name, so a backup restores into whatever
// schema --db names, and no client tool of a matching version is needed.
type copySnapshots struct{}

// tableFile is where a table's rows are in a PostgreSQL backup.
func tableFile(table string) string { return filepath.Join("tables", table+".copy") }

// onPgx runs f on one of db's connections as pgx's own.
func onPgx(ctx context.Context, p *sql.DB, f func(c *pgx.Conn) error) error {
	conn, err := p.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error { return f(dc.(*stdlib.Conn).Conn()) })
}

func pgxReader(c *pgx.Conn) reader {
	return func(ctx context.Context, q string, each func(scan func(...any) error) error) error {
		rows, err := c.Query(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		return eachRow(rows, each)
	}
}

// columnsOf returns every table's columns in order, as read.
func columnsOf(ctx context.Context, read reader) (map[string][]string, error) {
	cols := map[string][]string{}
	err := read(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`, func(scan func(...any) error) error {
		var t, c string
		err := scan(&t, &c)
		cols[t] = append(cols[t], c)
		return err
	})
	return cols, err
}

func copyCols(table string, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = pgx.Identifier{c}.Sanitize()
	}
	return pgx.Identifier{table}.Sanitize() + " (" + strings.Join(q, ", ") + ")"
}

func (copySnapshots) snapshot(ctx context.Context, db *DB, dir string) (facts *snapshotFacts, err error) {
	if err := os.Mkdir(filepath.Join(dir, "tables"), 0o700); err != nil {
		return nil, err
	}
	err = onPgx(ctx, db.r, func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
			return err
		}
		defer c.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		read := pgxReader(c)
		tables, err := readTables(ctx, read, postgresDialect.tablesSQL)
		if err != nil {
			return err
		}
		if facts, err = readFacts(ctx, read, tables); err != nil {
			return err
		}
		cols, err := columnsOf(ctx, read)
		if err != nil {
			return err
		}
		for i := range facts.Tables {
			t := &facts.Tables[i]
			t.Columns = cols[t.Name]
			if err := copyOut(ctx, c, filepath.Join(dir, tableFile(t.Name)), "COPY "+copyCols(t.Name, t.Columns)+" TO STDOUT"); err != nil {
				return fmt.Errorf("copy %s: %w", t.Name, err)
			}
		}
		return nil
	})
	return facts, err
}

func copyOut(ctx context.Context, c *pgx.Conn, path, q string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = c.PgConn().CopyTo(ctx, w, q)
	if err == nil {
		err = w.Flush()
	}
	return errors.Join(err, f.Sync(), f.Close())
}

func (copySnapshots) restore(ctx context.Context, from string, m *BackupManifest, cfg Config) error {
	raw, err := sql.Open("pgx", cfg.URL)
	if err != nil {
		return errs.E(errs.Invalid, "--db: %v", err)
	}
	tables, err := readTables(ctx, sqlReader(raw), postgresDialect.tablesSQL)
	raw.Close()
	if err != nil {
		return err
	}
	if len(tables) > 0 {
		return errs.E(errs.Conflict, "the target database is not empty (it has the table %s): a restore goes into an empty schema", tables[0])
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if latest := ms[len(ms)-1].version; m.Schema != latest {
		return errs.E(errs.Invalid, "the backup is at schema version %d and this steward at %d: restore it with the steward version that made it (%s)",
			m.Schema, latest, m.Version)
	}
	db, err := Open(ctx, Config{URL: cfg.URL, DataDir: cfg.DataDir, Logger: cfg.Logger}) // the schema, at the backup's version
	if err != nil {
		return err
	}
	defer db.Close()
	return onPgx(ctx, db.w, func(c *pgx.Conn) error {
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		for _, t := range m.Tables {
			// The migrations' own rows (version rows, counters) give way to the backup's.
			if _, err := tx.Exec(ctx, "DELETE FROM "+pgx.Identifier{t.Name}.Sanitize()); err != nil {
				return fmt.Errorf("table %s: %w", t.Name, err)
			}
			if err := copyIn(ctx, tx.Conn(), filepath.Join(from, tableFile(t.Name)), "COPY "+copyCols(t.Name, t.Columns)+" FROM STDIN"); err != nil {
				return fmt.Errorf("table %s: %w", t.Name, err)
			}
		}
		if err := resetIdentities(ctx, tx); err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
}

func copyIn(ctx context.Context, c *pgx.Conn, path, q string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = c.PgConn().CopyFrom(ctx, bufio.NewReaderSize(f, 1<<20), q)
	return err
}

// resetIdentities moves every identity column's sequence past the rows restored, which
// COPY wrote with their own values.
func resetIdentities(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowToStructByPos[struct{ Table, Column string }])
	if err != nil {
		return err
	}
	for _, id := range ids {
		t, c := pgx.Identifier{id.Table}.Sanitize(), pgx.Identifier{id.Column}.Sanitize()
		q := fmt.Sprintf("SELECT setval(pg_get_serial_sequence($1, $2), COALESCE((SELECT max(%s) FROM %s), 1), (SELECT max(%s) FROM %s) IS NOT NULL)", c, t, c, t)
		if _, err := tx.Exec(ctx, q, t, id.Column); err != nil {
			return fmt.Errorf("identity of %s.%s: %w", id.Table, id.Column, err)
		}
	}
	return nil
}

func (copySnapshots) scratch(ctx context.Context, tmp, base string) (Config, func(), error) {
	if base == "" {
		return Config{}, nil, errs.Field("db", "is required to verify a PostgreSQL backup: a server on which a scratch schema can be made")
	}
	u, err := url.Parse(base)
	if err != nil {
		return Config{}, nil, errs.E(errs.Invalid, "--db: %v", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return Config{}, nil, errs.E(errs.Invalid, "--db: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "steward_verify_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return Config{}, nil, fmt.Errorf("create the scratch schema: %w", err)
	}
	dir, err := os.MkdirTemp(tmp, "steward-verify-")
	if err != nil {
		admin.Close()
		return Config{}, nil, err
	}
	drop := func() {
		admin.ExecContext(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
		os.RemoveAll(dir)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return Config{URL: u.String(), DataDir: filepath.Join(dir, "data")}, drop, nil
}
