package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between SQLite and PostgreSQL. Queries are written
// once with ? placeholders and SQLite's spelling of DDL; stores ask for a capability by
// name, never for the dialect's name.
type dialect struct {
	name       string // "sqlite" or "postgres", for logs (DB.Dialect) only
	committers int    // goroutines committing writes (see DB.commitLoop)
	// groups says whether a committer runs many callers' transactions in one database
	// transaction (SQLite, whose one writer would otherwise sync once per write). On
	// PostgreSQL each runs in its own: concurrent commits already share a WAL flush, and
	// batches of unrelated writes from several committers would lock rows in clashing
	// orders and deadlock.
	groups bool
	ddl    *strings.Replacer // migration text to this dialect's DDL
	rebind func(query string) string
	unique func(err error) bool // err is a unique-constraint violation
	// retryable reports whether err is a conflict with a concurrent transaction, so
	// running the transaction again may succeed.
	retryable func(err error) bool
	// clashed names the table and the key columns ("action, ord") a unique-constraint
	// violation clashed on, each "" when the driver does not say.
	clashed func(err error) (table, key string)
	// full reports whether err says the database's storage is full.
	full func(err error) bool

	// signals says whether the database has LISTEN/NOTIFY, so other processes learn of a
	// change as it commits (see DB.signal and Sanctions.Watch). SQLite serves one process.
	signals bool
	// lockSQL takes an exclusive lock held until the transaction ends, keyed by its one
	// parameter, so concurrent processes take turns (Audit.LockTree, DB.migrate). Empty on
	// SQLite, where the single writer already excludes every other transaction.
	lockSQL string
	// forUpdate ends a SELECT that locks the rows it reads until the transaction ends:
	// " FOR UPDATE" on PostgreSQL, "" on SQLite, whose writer holds the whole database.
	// Nothing uses it yet: the coming ledger's balance checks will.
	forUpdate string
	// skipLocked ends a SELECT that locks the rows it reads and skips those another
	// transaction has locked (a queue's claims): " FOR UPDATE SKIP LOCKED" on
	// PostgreSQL, "" on SQLite.
	skipLocked string
	// rowidScans says whether a full scan of a table reads it fastest in rowid order,
	// split by rowid ranges (SQLite), rather than split at sampled IDs (PostgreSQL).
	rowidScans bool
	// preparesWrites says whether the DB prepares write statements itself on the one
	// write connection (SQLite; see DB.prepareWrites). pgx caches prepared statements by
	// itself.
	preparesWrites bool
	// foldsWrites says whether many one-row writes are better folded into one statement
	// (PostgreSQL, where each statement is a round trip to the server) than run one by
	// one as prepared statements (SQLite, in process, where a wide statement costs more).
	foldsWrites bool
	// tablesSQL lists the names of Steward's tables, one per row (see DB.Backup).
	tablesSQL string
	// snapshots takes and restores backups (backup.go): VACUUM INTO on SQLite, a COPY of
	// every table in one repeatable-read transaction on PostgreSQL.
	snapshots snapshotter
	// indexAtAppend says whether an audit entry gets its tree index as it is appended
	// (SQLite: one writer, so commit order is append order) instead of from the
	// sequencer's UPDATE (PostgreSQL, where a later id can commit first). The sequencer
	// then only hashes the entries past the latest checkpoint: see Audit.Pending.
	indexAtAppend bool
	// copyRows streams rows into a table on the connection of the write transaction in
	// ctx (PostgreSQL's COPY; see DB.insertRows), nil where the dialect has no such thing.
	copyRows func(ctx context.Context, conn *sql.Conn, table string, cols []string, rows pgx.CopyFromSource) error
}

var sqliteDialect = dialect{
	name:          "sqlite",
	committers:    1,
	indexAtAppend: true,
	groups:        true,
	ddl:           strings.NewReplacer("AUTOID", "INTEGER PRIMARY KEY AUTOINCREMENT"),
	rebind:        func(q string) string { return q },
	unique: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	retryable: func(error) bool { return false }, // one writer: no conflicts
	full: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL
	},
	clashed: func(err error) (table, key string) {
		// "constraint failed: UNIQUE constraint failed: bulk_targets.action, bulk_targets.ord (1555)"
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return "", ""
		}
		const failed = "constraint failed: "
		msg := e.Error()
		at := strings.LastIndex(msg, failed)
		if at < 0 {
			return "", ""
		}
		cols, _, _ := strings.Cut(msg[at+len(failed):], " (")
		names := strings.Split(cols, ", ")
		for i, c := range names {
			t, name, ok := strings.Cut(c, ".")
			if !ok || (table != "" && t != table) {
				return "", ""
			}
			table, names[i] = t, name
		}
		return table, strings.Join(names, ", ")
	},
	rowidScans:     true,
	preparesWrites: true,
	tablesSQL:      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
	snapshots:      sqliteSnapshots{},
}

var postgresDialect = dialect{
	name:       "postgres",
	committers: 16,
	ddl: strings.NewReplacer(
		"AUTOID", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		"BLOB", "BYTEA",
	),
	rebind: cachedRebind,
	unique: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	retryable: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && (e.Code == "40P01" || e.Code == "40001") // deadlock, serialization
	},
	full: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "53100" // disk_full
	},
	clashed: func(err error) (table, key string) {
		// Detail: "Key (action, ord)=(0193…, 7) already exists."
		var e *pgconn.PgError
		if !errors.As(err, &e) {
			return "", ""
		}
		_, cols, _ := strings.Cut(e.Detail, "Key (")
		cols, _, _ = strings.Cut(cols, ")=")
		return e.TableName, cols
	},
	signals:     true,
	lockSQL:     "SELECT pg_advisory_xact_lock(?)",
	forUpdate:   " FOR UPDATE",
	skipLocked:  " FOR UPDATE SKIP LOCKED",
	foldsWrites: true,
	tablesSQL:   "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
	snapshots:   copySnapshots{},
	copyRows:    copyPgx,
}

var rebound sync.Map // query with ? → query with $n

// cachedRebind turns ? placeholders into $1, $2, …; queries hold no literal '?'.
func cachedRebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	s := b.String()
	if len(q) < 4096 { // keep generated multi-row statements out of the cache
		rebound.Store(q, s)
	}
	return s
}

// signal tells the processes listening on channel that something changed, once the
// transaction in ctx commits; repeats within one transaction are folded into one. Where
// the dialect has no signals it does nothing: SQLite serves one process.
func (db *DB) signal(ctx context.Context, channel string) error {
	if !db.d.signals {
		return nil
	}
	_, err := db.exec(ctx, "SELECT pg_notify(?, '')", channel)
	return err
}
