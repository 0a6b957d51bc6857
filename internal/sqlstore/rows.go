package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// copyMin is the fewest rows insertRows copies rather than inserts: COPY costs a round
// trip more than an INSERT (pgx first asks for the columns' types), which a few rows do
// not win back.
const copyMin = 64

// rowFunc appends the values of the i-th of a batch's rows to dst, one per column.
type rowFunc func(dst []any, i int) ([]any, error)

// insertRows writes n rows, made by row, into table's cols inside the write transaction
// in ctx. Where the dialect streams rows (PostgreSQL's COPY) and there are at least
// copyMin, they are copied, each made as the stream reaches it, so making the rest
// overlaps the server storing the first; otherwise they go in multi-row INSERTs of at
// most chunk rows. Copying a batch of 1,000 sanctions, audit entries or notices costs
// much less than inserting it, on both sides: no statement of thousands of parameters
// to encode (and, at a million sanctions, to pay garbage collection for), none to bind,
// and the heap takes the rows a page at a time.
func (db *DB) insertRows(ctx context.Context, table string, cols []string, chunk, n int, row rowFunc) error {
	tx, err := db.writer(ctx)
	if err != nil {
		return err
	}
	if conn, ok := ctx.Value(connKey{}).(*sql.Conn); ok && db.d.copyRows != nil && n >= copyMin {
		err := db.d.copyRows(ctx, conn, table, cols, &copySource{row: row, n: n, at: -1})
		if err != nil && db.d.unique(err) {
			err = db.clash(err)
		}
		return err
	}
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	args := make([]any, 0, len(cols)*min(chunk, n))
	for start := 0; start < n; start += chunk {
		rows := min(chunk, n-start)
		args = args[:0]
		for i := start; i < start+rows; i++ {
			if args, err = row(args, i); err != nil {
				return err
			}
		}
		if _, err := db.execTx(ctx, tx, head+placeholders(rows, len(cols)), args...); err != nil {
			return err
		}
	}
	return nil
}

// copyPgx streams rows into table with COPY on the pgx connection under conn. The
// callback hands its error out rather than returning it, and never panics out:
// database/sql closes a connection whose callback fails with driver.ErrBadConn or
// panics, and closing waits for the transaction open on it, which waits for us.
func copyPgx(ctx context.Context, conn *sql.Conn, table string, cols []string, rows pgx.CopyFromSource) (err error) {
	if rerr := conn.Raw(func(dc any) error {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("copy into %s: panic: %v", table, p)
			}
		}()
		_, err = dc.(*stdlib.Conn).Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, rows)
		return nil
	}); rerr != nil {
		return rerr
	}
	return err
}

// copySource is a pgx.CopyFromSource of n rows made by row.
type copySource struct {
	row  rowFunc
	n    int
	at   int // the row Values returns
	vals []any
	err  error
}

func (r *copySource) Next() bool {
	r.at++
	return r.at < r.n && r.err == nil
}

// Values makes the current row in a buffer reused for every row: pgx encodes a row's
// values before it asks for the next.
func (r *copySource) Values() ([]any, error) {
	r.vals, r.err = r.row(r.vals[:0], r.at)
	return r.vals, r.err
}

func (r *copySource) Err() error { return r.err }
