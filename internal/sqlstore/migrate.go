package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, p := range names {
		base := strings.TrimPrefix(p, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number and _", base)
		}
		b, err := migrations.ReadFile(p)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a number", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// MigrationStatus says which migrations a database has.
type MigrationStatus struct {
	Applied []string // names applied by this call
	Version int      // the version the database is at now
}

// migrate applies every migration the database lacks, each in its own transaction with
// its version row, so running it again changes nothing. Where the dialect has a
// transaction lock (PostgreSQL), migrationLock makes concurrent starts take turns.
func (db *DB) migrate(ctx context.Context) error {
	_, err := db.Migrate(ctx)
	return err
}

// Migrate applies pending migrations and reports what it did.
func (db *DB) Migrate(ctx context.Context) (MigrationStatus, error) {
	var st MigrationStatus
	if db.readOnly {
		return st, ErrReadOnly
	}
	ms, err := loadMigrations()
	if err != nil {
		return st, err
	}
	for _, m := range ms {
		applied, err := db.applyMigration(ctx, m)
		if err != nil {
			return st, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if applied {
			st.Applied = append(st.Applied, m.name)
		}
		st.Version = m.version
	}
	return st, nil
}

// migrationLock is the key of the lock that makes migrations take turns.
const migrationLock = 7302741

func (db *DB) applyMigration(ctx context.Context, m migration) (applied bool, err error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if db.d.lockSQL != "" {
		if _, err := tx.ExecContext(ctx, db.d.rebind(db.d.lockSQL), migrationLock); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return false, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, db.d.rebind("SELECT count(*) FROM schema_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	for _, stmt := range splitStatements(db.d.ddl.Replace(m.sql)) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("%w\n%s", err, stmt)
		}
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
		m.version, m.name, nanos(time.Now())); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// splitStatements splits a migration on the semicolons that end its lines, dropping
// comments. Migrations keep to that form: no semicolons inside strings or bodies.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(line, ";") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}
