package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
)

// Accounts implements accounts.Store.
type Accounts struct{ db *DB }

// Accounts returns the account store.
func (db *DB) Accounts() *Accounts { return &Accounts{db} }

var _ accounts.Store = (*Accounts)(nil)

const accountCols = "id, region, verified, created_at, locale, attributes, linked, updated_at"

func (s *Accounts) Get(ctx context.Context, id string) (_ *accounts.Account, err error) {
	defer wrapErr(&err, "sqlstore.Accounts.Get", id)
	row := s.db.queryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = ?", id)
	a, err := scanAccount(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "account %q not found", id)
	}
	return a, err
}

func (s *Accounts) GetMany(ctx context.Context, ids []string) (_ map[string]*accounts.Account, err error) {
	defer wrapErr(&err, "sqlstore.Accounts.GetMany", "")
	out := make(map[string]*accounts.Account, len(ids))
	err = s.db.queryIn(ctx, "SELECT "+accountCols+" FROM accounts WHERE id IN (%s)", ids, func(scan func(...any) error) error {
		a, err := scanAccount(scan)
		if err == nil {
			out[a.ID] = a
		}
		return err
	})
	return out, err
}

func (s *Accounts) List(ctx context.Context, f accounts.Filter) (_ []*accounts.Account, err error) {
	defer wrapErr(&err, "sqlstore.Accounts.List", f.After)
	cols := accounts.AllColumns &^ f.Skip
	names, _ := (&accountRow{}).columns(cols)
	q := "SELECT " + names + " FROM accounts WHERE id > ?"
	args := []any{f.After}
	if f.Region != "" {
		q += " AND region = ?"
		args = append(args, f.Region)
	}
	list, _, err := s.readPage(ctx, q+" ORDER BY id LIMIT ?", append(args, f.Limit), cols, f.Limit, nil, nil)
	return list, err
}

func (s *Accounts) Scan(ctx context.Context, o accounts.ScanOptions, f func(part int, page []*accounts.Account) error) (err error) {
	defer wrapErr(&err, "sqlstore.Accounts.Scan", "")
	ranges, err := s.scanRanges(ctx, max(o.Parts, 1))
	if err != nil {
		return err
	}
	page := max(o.Page, 1)
	g, ctx := errgroup.WithContext(ctx)
	for part, r := range ranges {
		g.Go(func() error {
			var buf *[]accounts.Account // the last page's accounts, when o.Reuse
			if o.Reuse {
				buf = new([]accounts.Account)
			}
			for {
				list, last, err := s.scanPage(ctx, r, accounts.AllColumns&^o.Skip, page, buf)
				if err != nil {
					return err
				}
				if len(list) > 0 {
					if err := f(part, list); err != nil {
						return err
					}
				}
				if len(list) < page {
					return nil
				}
				r.after = last
			}
		})
	}
	return g.Wait()
}

// scanRange is a part of the accounts table: rowids in (after, last] where the dialect
// has rowidScans (SQLite); otherwise IDs in (after, last], last "" meaning no end.
type scanRange struct{ after, last any }

// scanRanges splits the accounts table into up to n ranges of about equal size. SQLite
// splits the rowids, in whose order it reads a table fastest; PostgreSQL splits the IDs
// at a sample of them.
func (s *Accounts) scanRanges(ctx context.Context, n int) ([]scanRange, error) {
	if s.db.d.rowidScans {
		var lo, hi sql.NullInt64
		if err := s.db.queryRow(ctx, "SELECT min(rowid), max(rowid) FROM accounts").Scan(&lo, &hi); err != nil {
			return nil, err
		}
		if !lo.Valid {
			return nil, nil
		}
		from, span := lo.Int64-1, hi.Int64-lo.Int64+1
		out := make([]scanRange, 0, n)
		for i := range int64(n) {
			out = append(out, scanRange{from + span*i/int64(n), from + span*(i+1)/int64(n)})
		}
		return out, nil
	}
	// About a thousand sampled blocks' IDs are plenty to cut at.
	rows, err := s.db.query(ctx, "SELECT id FROM accounts TABLESAMPLE SYSTEM (least(100, 100000.0 / greatest(1, (SELECT reltuples FROM pg_class WHERE oid = 'accounts'::regclass)))) ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []scanRange{}
	after := ""
	for i := 1; i < n && len(ids) > 0; i++ {
		cut := ids[len(ids)*i/n]
		if cut > after {
			out = append(out, scanRange{after, cut})
			after = cut
		}
	}
	return append(out, scanRange{after, ""}), nil
}

// scanPage reads up to limit accounts of r from its start, with the optional columns
// cols, and returns the position of the last one. With reuse, it reads them into the
// accounts *reuse holds, if any, and leaves them there for the next call.
func (s *Accounts) scanPage(ctx context.Context, r scanRange, cols accounts.Columns, limit int, reuse *[]accounts.Account) ([]*accounts.Account, any, error) {
	names, _ := (&accountRow{}).columns(cols)
	if s.db.d.rowidScans {
		var rowid int64
		list, _, err := s.readPage(ctx, "SELECT rowid, "+names+" FROM accounts WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?",
			[]any{r.after, r.last, limit}, cols, limit, reuse, &rowid)
		return list, rowid, err
	}
	q, args := "SELECT "+names+" FROM accounts WHERE id > ?", []any{r.after}
	if r.last != "" {
		q, args = q+" AND id <= ?", append(args, r.last)
	}
	list, last, err := s.readPage(ctx, q+" ORDER BY id LIMIT ?", append(args, limit), cols, limit, reuse, nil)
	return list, last, err
}

// readPage runs q, which selects first (when not nil) and the account columns cols, and
// returns up to limit accounts and the ID of the last. With reuse, it reads them into the
// accounts *reuse holds, if any, and leaves them there for the next call.
func (s *Accounts) readPage(ctx context.Context, q string, args []any, cols accounts.Columns, limit int, reuse *[]accounts.Account, first any) ([]*accounts.Account, string, error) {
	var row accountRow
	_, dest := row.columns(cols)
	if first != nil {
		dest = append([]any{first}, dest...)
	}
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	list := make([]*accounts.Account, 0, min(limit, 4096))
	// Accounts are allocated many at a time; with reuse, a page's worth kept by the caller.
	var slab []accounts.Account
	if reuse != nil {
		if len(*reuse) != limit {
			*reuse = make([]accounts.Account, limit)
		}
		slab = *reuse
	}
	used := 0
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, "", err
		}
		if used == len(slab) { // never with reuse: its slab holds a whole page
			slab, used = make([]accounts.Account, max(1, min(limit-len(list), 4096))), 0
		}
		a := &slab[used]
		used++
		if err := row.fill(a, cols); err != nil {
			return nil, "", err
		}
		list = append(list, a)
	}
	if err := rows.Err(); err != nil || len(list) == 0 {
		return list, "", err
	}
	return list, list[len(list)-1].ID, nil
}

func scanAccount(scan func(...any) error) (*accounts.Account, error) {
	var r accountRow
	_, dest := r.columns(accounts.AllColumns)
	if err := scan(dest...); err != nil {
		return nil, err
	}
	return r.account(accounts.AllColumns)
}

// accountRow is an accounts row as scanned, to be reused from row to row.
type accountRow struct {
	id, region, locale, attrs, linked string
	verified                          bool
	created, updated                  int64
}

// columns returns the column list that reads an account with the optional columns
// cols, and where to scan them.
func (r *accountRow) columns(cols accounts.Columns) (string, []any) {
	if cols == accounts.AllColumns {
		return accountCols, []any{&r.id, &r.region, &r.verified, &r.created, &r.locale, &r.attrs, &r.linked, &r.updated}
	}
	names, dest := "id, region, verified, created_at", []any{&r.id, &r.region, &r.verified, &r.created}
	if cols&accounts.WithLocale != 0 {
		names, dest = names+", locale", append(dest, &r.locale)
	}
	if cols&accounts.WithAttributes != 0 {
		names, dest = names+", attributes", append(dest, &r.attrs)
	}
	if cols&accounts.WithLinked != 0 {
		names, dest = names+", linked", append(dest, &r.linked)
	}
	if cols&accounts.WithUpdatedAt != 0 {
		names, dest = names+", updated_at", append(dest, &r.updated)
	}
	return names, dest
}

// account returns the account r holds, read with the optional columns cols.
func (r *accountRow) account(cols accounts.Columns) (*accounts.Account, error) {
	var a accounts.Account
	return &a, r.fill(&a, cols)
}

// fill sets a to the account r holds, read with the optional columns cols, decoding
// the attributes into a's map if it has one.
func (r *accountRow) fill(a *accounts.Account, cols accounts.Columns) error {
	attrs := a.Attributes
	*a = accounts.Account{ID: r.id, Region: r.region, Verified: r.verified, CreatedAt: fromNanos(r.created)}
	if cols&accounts.WithLocale != 0 {
		a.Locale = r.locale
	}
	if cols&accounts.WithUpdatedAt != 0 {
		a.UpdatedAt = fromNanos(r.updated)
	}
	var err error
	if cols&accounts.WithAttributes != 0 {
		if a.Attributes, err = decodeAttributesInto(r.attrs, attrs); err != nil {
			return fmt.Errorf("account %s: attributes: %w", a.ID, err)
		}
	}
	if cols&accounts.WithLinked != 0 {
		if a.Linked, err = decodeLinked(r.linked); err != nil {
			return fmt.Errorf("account %s: linked: %w", a.ID, err)
		}
	}
	return nil
}

func (s *Accounts) Count(ctx context.Context) (_ int, err error) {
	defer wrapErr(&err, "sqlstore.Accounts.Count", "")
	return s.db.Count(ctx, "accounts")
}

func (s *Accounts) Locales(ctx context.Context, ids []string) (_ map[string]string, err error) {
	defer wrapErr(&err, "sqlstore.Accounts.Locales", "")
	out := make(map[string]string, len(ids))
	err = s.db.queryIn(ctx, "SELECT id, locale FROM accounts WHERE id IN (%s)", ids, func(scan func(...any) error) error {
		var id, locale string
		if err := scan(&id, &locale); err != nil {
			return err
		}
		out[id] = locale
		return nil
	})
	return out, err
}

// accountArgs returns a's columns in accountCols order.
func accountArgs(a *accounts.Account) ([]any, error) {
	attrs, err := json.Marshal(a.Attributes)
	if err != nil {
		return nil, err
	}
	linked, err := json.Marshal(a.Linked)
	if err != nil {
		return nil, err
	}
	return []any{a.ID, a.Region, a.Verified, nanos(a.CreatedAt), a.Locale, string(attrs), string(linked), nanos(a.UpdatedAt)}, nil
}

const upsertTail = ` ON CONFLICT (id) DO UPDATE SET region = excluded.region, verified = excluded.verified,
	created_at = excluded.created_at, locale = excluded.locale, attributes = excluded.attributes,
	linked = excluded.linked, updated_at = excluded.updated_at`

func (s *Accounts) Put(ctx context.Context, a *accounts.Account) (_ bool, err error) {
	defer wrapErr(&err, "sqlstore.Accounts.Put", a.ID)
	args, err := accountArgs(a)
	if err != nil {
		return false, err
	}
	// Insert-or-nothing tells exactly whether the row is new, on both databases.
	res, err := s.db.exec(ctx, "INSERT INTO accounts ("+accountCols+") VALUES "+placeholders(1, 8)+" ON CONFLICT (id) DO NOTHING", args...)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	_, err = s.db.exec(ctx, `UPDATE accounts SET region = ?, verified = ?, created_at = ?, locale = ?,
		attributes = ?, linked = ?, updated_at = ? WHERE id = ?`, append(args[1:], a.ID)...)
	return false, err
}

// putChunk is how many accounts one statement of PutMany writes: 8 columns × 500 rows
// stays under both databases' limits on bound parameters.
const putChunk = 500

func (s *Accounts) PutMany(ctx context.Context, as []*accounts.Account) (_ int, err error) {
	defer wrapErr(&err, "sqlstore.Accounts.PutMany", "")
	tx, err := s.db.writer(ctx)
	if err != nil {
		return 0, err
	}
	var upsert, count *sql.Stmt
	defer func() {
		for _, st := range []*sql.Stmt{upsert, count} {
			if st != nil {
				st.Close()
			}
		}
	}()
	created, prepared := 0, 0
	args := make([]any, 0, putChunk*8)
	ids := make([]any, 0, putChunk)
	for start := 0; start < len(as); start += putChunk {
		chunk := as[start:min(start+putChunk, len(as))]
		if len(chunk) != prepared {
			prepared = len(chunk)
			if upsert != nil {
				upsert.Close()
				count.Close()
			}
			upsert, err = tx.PrepareContext(ctx, s.db.d.rebind("INSERT INTO accounts ("+accountCols+") VALUES "+placeholders(len(chunk), 8)+upsertTail))
			if err != nil {
				return 0, err
			}
			count, err = tx.PrepareContext(ctx, s.db.d.rebind("SELECT count(*) FROM accounts WHERE id IN ("+params(len(chunk))+")"))
			if err != nil {
				return 0, err
			}
		}
		args, ids = args[:0], ids[:0]
		for _, a := range chunk {
			row, err := accountArgs(a)
			if err != nil {
				return 0, err
			}
			args = append(args, row...)
			ids = append(ids, a.ID)
		}
		var existing int
		if err := count.QueryRowContext(ctx, ids...).Scan(&existing); err != nil {
			return 0, err
		}
		if _, err := upsert.ExecContext(ctx, args...); err != nil {
			return 0, err
		}
		created += len(chunk) - existing
	}
	return created, nil
}
