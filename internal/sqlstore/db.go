// Package sqlstore implements every Steward store on database/sql, for SQLite (the
// embedded default, one file in WAL mode) and PostgreSQL, with the differences in a small
// dialect shim and one set of embedded migrations.
//
// All writes go through DB.Write, which groups concurrent transactions into one commit:
// SQLite runs with synchronous=FULL, so a write that returned is on disk, and the cost of
// that sync is shared by every write that arrived while the previous one was syncing.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	"github.com/stewardhq/steward/internal/errs"
)

// Config says which database to open.
type Config struct {
	// URL is a postgres:// or postgresql:// URL; empty means SQLite in DataDir.
	URL string
	// DataDir holds steward.db when URL is empty.
	DataDir string
	Logger  *slog.Logger
	// ReadOnly opens an existing database for reading only: it refuses a data directory
	// without steward.db and a database without Steward's schema, or behind this
	// version's, applies no migration, and refuses every Write. On PostgreSQL every
	// transaction is read-only (default_transaction_read_only).
	ReadOnly bool
}

// SQLiteFile is the SQLite database's file in the data directory.
const SQLiteFile = "steward.db"

// DB is an open Steward database.
type DB struct {
	d   dialect
	w   *sql.DB // writes: one connection on SQLite, so BEGIN never waits on a lock
	r   *sql.DB // reads; the same pool as w on PostgreSQL
	log *slog.Logger
	// Where the dialect preparesWrites (SQLite): write statements prepared on the one
	// write connection, and those seen but not prepared yet (see prepareWrites).
	stmts, unprepared sync.Map
	long              atomic.Int64 // statements over 4 KiB marked for preparing
	ops               chan *op
	stop              chan struct{}
	// committers run commitLoop: one on SQLite, which has one writer; several on
	// PostgreSQL, which commits concurrent transactions itself.
	committers sync.WaitGroup
	closer     sync.Once
	readOnly   bool
	// full is set when a write failed for lack of storage, and cleared by the next write
	// that commits: Ready reports it.
	full atomic.Bool
	// file is SQLite's database file and url PostgreSQL's, as Open was given it: backups
	// read them on connections of their own.
	file, url string
}

// maxAttempts is how many times a transaction is run when the database refuses it for a
// conflict with a concurrent one (a deadlock or serialization failure on PostgreSQL, with
// another committer or process): such a failure is no fault of the transaction's. Only
// a batch's first transaction is retried; on PostgreSQL it is the only one.
const maxAttempts = 4

// maxBatch caps how many transactions share one commit, so one commit's latency stays
// bounded under a flood of writes.
const maxBatch = 1024

// Open opens the database, applies pending migrations and starts the committer.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db := &DB{log: log, ops: make(chan *op), stop: make(chan struct{}), readOnly: cfg.ReadOnly}
	var err error
	switch {
	case cfg.URL == "":
		err = db.openSQLite(cfg.DataDir)
	case strings.HasPrefix(cfg.URL, "postgres://"), strings.HasPrefix(cfg.URL, "postgresql://"):
		err = db.openPostgres(cfg.URL)
	default:
		return nil, errs.E(errs.Invalid, "--db must be a postgres:// URL, or empty for SQLite in the data directory")
	}
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.closeConns()
		return nil, err
	}
	if db.readOnly {
		if err := db.checkSchema(ctx, cfg); err != nil {
			db.closeConns()
			return nil, err
		}
		return db, nil // no committer: Write refuses
	}
	if err := db.migrate(ctx); err != nil {
		db.closeConns()
		return nil, err
	}
	for range db.d.committers {
		db.committers.Add(1)
		go db.commitLoop()
	}
	if db.d.indexAtAppend {
		if err := db.Audit().indexLegacy(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

func (db *DB) openSQLite(dir string) error {
	if dir == "" {
		return errs.E(errs.Invalid, "a data directory is required for SQLite (--data-dir)")
	}
	path, err := filepath.Abs(filepath.Join(dir, SQLiteFile))
	if err != nil {
		return err
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	u := (&url.URL{Scheme: "file", Path: path}).String()
	db.file = path
	if db.readOnly {
		if _, err := os.Stat(path); err != nil {
			return errs.E(errs.NotFound, "no Steward database at %s: %v", path, errors.Unwrap(err))
		}
		r, err := sql.Open("sqlite", u+"?mode=ro&_pragma=query_only(1)&"+pragmas)
		if err != nil {
			return err
		}
		db.d, db.w, db.r = sqliteDialect, r, r
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	w, err := sql.Open("sqlite", u+"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=cache_size(-131072)&_pragma=temp_store(2)&"+pragmas)
	if err != nil {
		return err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", u+"?_pragma=query_only(1)&"+pragmas)
	if err != nil {
		w.Close()
		return err
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.d, db.w, db.r = sqliteDialect, w, r
	return nil
}

func (db *DB) openPostgres(u string) error {
	if db.readOnly {
		pu, err := url.Parse(u)
		if err != nil {
			return errs.E(errs.Invalid, "--db: %v", err)
		}
		q := pu.Query()
		q.Set("default_transaction_read_only", "on")
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	p, err := sql.Open("pgx", u)
	if err != nil {
		return errs.E(errs.Invalid, "--db: %v", err)
	}
	p.SetMaxOpenConns(48) // 16 committers and room for reads
	p.SetMaxIdleConns(48)
	db.d, db.w, db.r, db.url = postgresDialect, p, p, u
	return nil
}

// checkSchema returns an error naming the database cfg names unless it has Steward's
// schema at this version's migrations or newer.
func (db *DB) checkSchema(ctx context.Context, cfg Config) error {
	where := filepath.Join(cfg.DataDir, SQLiteFile)
	if cfg.URL != "" {
		if u, err := url.Parse(cfg.URL); err == nil {
			where = u.Redacted()
		}
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	var v sql.NullInt64
	if err := db.r.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&v); err != nil || !v.Valid {
		return errs.E(errs.NotFound, "no Steward database at %s: it has no schema (steward migrate creates it)", where)
	}
	if want := ms[len(ms)-1].version; v.Int64 < int64(want) {
		return errs.E(errs.Conflict, "the database at %s is at schema version %d, this steward reads version %d: run steward migrate", where, v.Int64, want)
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return errs.E(errs.Unavailable, "database does not answer: %v", err)
	}
	return nil
}

// Ready reports whether the database answers and takes writes. After a write failed for
// lack of storage it writes, and removes, a probe row to learn whether there is room
// again. Returns errs.Unavailable or errs.StorageFull.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return err
	}
	if !db.full.Load() {
		return nil
	}
	probe := make([]byte, 16<<10) // spans new pages, as a real write would
	err := db.Write(ctx, func(ctx context.Context) error {
		_, err := db.exec(ctx, "INSERT INTO storage_probe (id, body) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body", probe)
		return err
	})
	if err == nil {
		err = db.Write(ctx, func(ctx context.Context) error {
			_, err := db.exec(ctx, "DELETE FROM storage_probe")
			return err
		})
	}
	return err
}

// Close waits for pending writes to commit, then closes the database.
func (db *DB) Close() error {
	var err error
	db.closer.Do(func() {
		close(db.stop)
		db.committers.Wait()
		err = db.closeConns()
	})
	return err
}

func (db *DB) closeConns() error {
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errs.E(errs.Unavailable, "the database is closed")

// ErrReadOnly is returned by Write on a database opened with Config.ReadOnly.
var ErrReadOnly = errs.E(errs.Forbidden, "the database is open read-only")

type (
	txKey   struct{}
	connKey struct{} // the *sql.Conn the transaction under txKey runs on
	opKey   struct{}
)

// op is one caller's transaction waiting for the committer.
type op struct {
	ctx   context.Context
	fn    func(context.Context) error
	done  chan error
	after []func() // run once committed; see AfterCommit
}

// Write implements txn.Runner. Transactions that arrive together share one commit; each
// runs inside its own savepoint, so its failure undoes only its own writes.
func (db *DB) Write(ctx context.Context, fn func(context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return fn(ctx)
	}
	if db.readOnly {
		return ErrReadOnly
	}
	o := &op{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case db.ops <- o:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.stop:
		return ErrClosed
	}
	// Once queued, wait for the outcome even if ctx ends: the write may commit.
	if err := <-o.done; err != nil {
		if db.d.full(err) {
			db.full.Store(true)
			return errStorageFull(err)
		}
		return err
	}
	if db.full.Load() {
		db.full.Store(false)
	}
	for _, f := range o.after {
		f()
	}
	return nil
}

// AfterCommit implements txn.Runner.
func (db *DB) AfterCommit(ctx context.Context, f func()) {
	if o, ok := ctx.Value(opKey{}).(*op); ok {
		o.after = append(o.after, f) // only the committer running o appends
		return
	}
	f()
}

func (db *DB) commitLoop() {
	defer db.committers.Done()
	for {
		select {
		case o := <-db.ops:
			db.commitBatch(o)
			if db.d.preparesWrites {
				db.prepareWrites()
			}
		case <-db.stop:
			for { // commit what was queued before Close
				select {
				case o := <-db.ops:
					db.commitBatch(o)
				default:
					return
				}
			}
		}
	}
}

// commitBatch runs first and, where the dialect groups commits, every transaction queued
// while it runs, up to maxBatch, in one database transaction, commits once, and then
// answers each caller. first runs
// without a savepoint (most batches under light load hold one transaction); if it fails,
// the database transaction is rolled back and the queue is left for the next batch.
func (db *DB) commitBatch(first *op) {
	if err := first.ctx.Err(); err != nil {
		first.done <- err // the caller gave up before we started: do nothing
		return
	}
	// The transaction runs on a connection of its own, so a store can reach the driver's
	// connection under it (DB.insertRows streams rows with COPY on PostgreSQL).
	conn, err := db.w.Conn(context.Background())
	if err != nil {
		first.done <- fmt.Errorf("connect: %w", err)
		return
	}
	defer conn.Close()
	var tx *sql.Tx
	for attempt := 1; ; attempt++ {
		if tx, err = conn.BeginTx(context.Background(), nil); err != nil {
			first.done <- fmt.Errorf("begin: %w", err)
			return
		}
		first.after = nil
		err = callSafely(withTx(first, conn, tx), first.fn)
		if err == nil {
			break
		}
		tx.Rollback()
		if attempt == maxAttempts || !db.d.retryable(err) {
			first.done <- err
			return
		}
	}
	ok := []*op{first}
	var broken error // set when tx can no longer be used
	for db.d.groups && len(ok) < maxBatch && broken == nil {
		var o *op
		select {
		case o = <-db.ops:
		default:
		}
		if o == nil {
			break
		}
		err, fatal := db.runInSavepoint(conn, tx, o)
		switch {
		case fatal != nil:
			broken = fatal
			o.done <- fatal
		case err != nil:
			o.done <- err
		default:
			ok = append(ok, o)
		}
	}
	if broken == nil {
		if err := tx.Commit(); err != nil {
			broken = fmt.Errorf("commit: %w", err)
		}
	} else {
		tx.Rollback()
	}
	if broken != nil {
		db.log.Error("write transaction failed", "err", broken, "transactions", len(ok))
	}
	for _, o := range ok {
		o.done <- broken
	}
}

// withTx returns the context o's fn runs with: the caller's values, not its cancellation
// (a shared transaction must not be cut short by one caller), tx and the connection it
// runs on, and o for AfterCommit.
func withTx(o *op, conn *sql.Conn, tx *sql.Tx) context.Context {
	ctx := context.WithValue(context.WithoutCancel(o.ctx), txKey{}, tx)
	ctx = context.WithValue(ctx, connKey{}, conn)
	return context.WithValue(ctx, opKey{}, o)
}

// runInSavepoint runs o.fn in a savepoint of tx. It returns fn's error, after undoing
// fn's writes, and a fatal error when tx itself can no longer be used.
func (db *DB) runInSavepoint(conn *sql.Conn, tx *sql.Tx, o *op) (err, fatal error) {
	if err := o.ctx.Err(); err != nil {
		return err, nil // the caller gave up before we started: do nothing
	}
	bg := context.Background()
	if _, err := db.execTx(bg, tx, "SAVEPOINT op"); err != nil {
		return nil, fmt.Errorf("savepoint: %w", err)
	}
	err = callSafely(withTx(o, conn, tx), o.fn)
	if err != nil {
		o.after = nil // its writes are undone, so is what was to follow them
		if _, rerr := db.execTx(bg, tx, "ROLLBACK TO SAVEPOINT op"); rerr != nil {
			return nil, fmt.Errorf("rollback to savepoint: %w (after %v)", rerr, err)
		}
	}
	if _, rerr := db.execTx(bg, tx, "RELEASE SAVEPOINT op"); rerr != nil {
		return nil, fmt.Errorf("release savepoint: %w", rerr)
	}
	return err, nil
}

// callSafely turns a panic in fn into an error, so one bad transaction cannot take the
// committer, and every caller waiting on it, down.
func callSafely(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			err = fmt.Errorf("panic in transaction: %v\n%s", p, buf)
		}
	}()
	return fn(ctx)
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader returns the write transaction in ctx, if any, so a transaction reads its own
// writes; otherwise the read pool.
func (db *DB) reader(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		return tx
	}
	return db.r
}

// writer returns the write transaction in ctx. Stores call it for every write, so a write
// outside DB.Write fails loudly instead of committing without its audit entry.
func (db *DB) writer(ctx context.Context) (*sql.Tx, error) {
	tx, ok := ctx.Value(txKey{}).(*sql.Tx)
	if !ok {
		return nil, errors.New("sqlstore: write outside a transaction (call it inside DB.Write)")
	}
	return tx, nil
}

func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	tx, err := db.writer(ctx)
	if err != nil {
		return nil, err
	}
	return db.execTx(ctx, tx, q, args...)
}

// execTx runs q in tx. It is where every write of a store passes, so it is where a
// unique-constraint violation becomes an errs.Conflict (see DB.clash).
func (db *DB) execTx(ctx context.Context, tx *sql.Tx, q string, args ...any) (res sql.Result, err error) {
	if st := db.stmtIn(ctx, tx, q); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = tx.ExecContext(ctx, db.d.rebind(q), args...)
	}
	if err != nil && db.d.unique(err) {
		err = db.clash(err)
	}
	return res, err
}

// stmtIn returns q as a statement of tx prepared once on SQLite's write connection, or
// nil when it is not prepared yet (it will be, after this transaction; see
// prepareWrites) or the dialect leaves preparing to the driver.
func (db *DB) stmtIn(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	if !db.d.preparesWrites {
		return nil
	}
	if st, ok := db.stmts.Load(q); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt))
	}
	// Long statements are the multi-row inserts of batches: each size of batch is its own
	// statement, so only the first few sizes seen (the full batches) are kept.
	if len(q) <= 4096 {
		db.unprepared.Store(q, true)
	} else if db.long.Load() < maxLongStmts {
		if _, seen := db.unprepared.LoadOrStore(q, true); !seen {
			db.long.Add(1)
		}
	}
	return nil
}

// maxLongStmts is how many statements over 4 KiB stay prepared.
const maxLongStmts = 32

// prepareWrites prepares, on SQLite's single write connection, the write statements run
// since the last call, so each is parsed once rather than on every write: parsing was a
// quarter of the committer's time, through which every write passes. It runs on the
// committer between transactions, when the connection is free. (pgx caches prepared
// statements by itself.)
func (db *DB) prepareWrites() {
	db.unprepared.Range(func(k, _ any) bool {
		q := k.(string)
		db.unprepared.Delete(q)
		if st, err := db.w.Prepare(q); err == nil {
			db.stmts.Store(q, st)
		}
		return true
	})
}

func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		if st := db.stmtIn(ctx, tx, q); st != nil {
			return st.QueryContext(ctx, args...)
		}
	}
	return db.reader(ctx).QueryContext(ctx, db.d.rebind(q), args...)
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if tx, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		if st := db.stmtIn(ctx, tx, q); st != nil {
			return st.QueryRowContext(ctx, args...)
		}
	}
	return db.reader(ctx).QueryRowContext(ctx, db.d.rebind(q), args...)
}

// collect runs q and returns scan's value of every row.
func collect[T any](ctx context.Context, db *DB, scan func(scan func(...any) error) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// jsonBody returns a scan of rows holding one column, the JSON of a T; what names it in
// errors ("hold").
func jsonBody[T any](what string) func(scan func(...any) error) (*T, error) {
	return func(scan func(...any) error) (*T, error) {
		var body string
		if err := scan(&body); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			return nil, fmt.Errorf("stored %s: %w", what, err)
		}
		return &v, nil
	}
}

// inChunk is how many IDs one statement of queryIn binds.
const inChunk = 500

// queryIn runs q, whose %s is filled with placeholders, for ids a chunk at a time, and
// calls row with each row's scan.
func (db *DB) queryIn(ctx context.Context, q string, ids []string, row func(scan func(...any) error) error) error {
	args := make([]any, 0, min(len(ids), inChunk))
	for start := 0; start < len(ids); start += inChunk {
		args = args[:0]
		for _, id := range ids[start:min(start+inChunk, len(ids))] {
			args = append(args, id)
		}
		rows, err := db.query(ctx, fmt.Sprintf(q, params(len(args))), args...)
		if err != nil {
			return err
		}
		for err == nil && rows.Next() {
			err = row(rows.Scan)
		}
		if err == nil {
			err = rows.Err()
		}
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// newestFirst completes q, a SELECT whose WHERE clause is open, to read a page of rows
// in descending id order after the cursor id after ("" for the first page).
func newestFirst(q string, args []any, after string, limit int) (string, []any) {
	if after != "" {
		q += " AND id < ?"
		args = append(args, after)
	}
	return q + " ORDER BY id DESC LIMIT ?", append(args, limit)
}

// nanos and fromNanos convert times to and from the stored form.
func nanos(t time.Time) int64 { return t.UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// params returns "?, ?, ?" for n parameters.
func params(n int) string { return strings.Repeat("?, ", n-1) + "?" }

// placeholders returns "(?, ?, ?), (?, ?, ?)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	row := "(" + params(cols) + ")"
	return strings.Repeat(row+", ", rows-1) + row
}

// Count returns the number of rows in table, for tests and status reports.
func (db *DB) Count(ctx context.Context, table string) (int, error) {
	switch table {
	case "accounts", "audit_entries", "audit_checkpoints", "api_keys", "idempotency",
		"sanctions", "sanction_policies", "notices", "outbox", "webhook_deliveries", "webhook_held":
	case "bulk_actions", "bulk_targets", "user_tokens":
	case "ledger_wallets", "ledger_transfers", "ledger_entries", "ledger_holds", "ledger_withdrawals":
	case "leak_shares", "leak_relays", "leak_leaks":
	default:
		return 0, fmt.Errorf("sqlstore: count: unknown table %q", table)
	}
	var n int
	err := db.r.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n)
	return n, err
}

// upsertBody replaces the JSON body of table's row whose key column is key, or inserts
// the row when there is none, reporting whether it did; table and keyCol are this
// package's constants, never input.
func (db *DB) upsertBody(ctx context.Context, table, keyCol, key string, v any) (created bool, err error) {
	body, err := json.Marshal(v)
	if err != nil {
		return false, err
	}
	res, err := db.exec(ctx, "UPDATE "+table+" SET body = ? WHERE "+keyCol+" = ?", string(body), key)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return false, err
	}
	_, err = db.exec(ctx, "INSERT INTO "+table+" ("+keyCol+", body) VALUES (?, ?)", key, string(body))
	return err == nil, err
}
