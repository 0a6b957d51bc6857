package sqlstore

import (
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between SQLite and PostgreSQL. Queries are written
// once with ? placeholders and SQLite's spelling of DDL.
type dialect struct {
	name       string
	committers int // goroutines committing writes (see DB.commitLoop)
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
}

var sqliteDialect = dialect{
	name:       "sqlite",
	committers: 1,
	groups:     true,
	ddl:        strings.NewReplacer("AUTOID", "INTEGER PRIMARY KEY AUTOINCREMENT"),
	rebind:     func(q string) string { return q },
	unique: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
	retryable: func(error) bool { return false }, // one writer: no conflicts
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
