package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
)

// Accounts implements accounts.Store.
type Accounts struct{ db *DB }

// Accounts returns the account store.
func (db *DB) Accounts() *Accounts { return &Accounts{db} }

var _ accounts.Store = (*Accounts)(nil)

const accountCols = "id, region, verified, created_at, locale, attributes, linked, updated_at"

func (s *Accounts) Get(ctx context.Context, id string) (*accounts.Account, error) {
	row := s.db.queryRow(ctx, "SELECT "+accountCols+" FROM accounts WHERE id = ?", id)
	a, err := scanAccount(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "account %q not found", id)
	}
	return a, err
}

func (s *Accounts) List(ctx context.Context, f accounts.Filter) ([]*accounts.Account, error) {
	q := "SELECT " + accountCols + " FROM accounts WHERE id > ?"
	args := []any{f.After}
	if f.Region != "" {
		q += " AND region = ?"
		args = append(args, f.Region)
	}
	return collect(ctx, s.db, scanAccount, q+" ORDER BY id LIMIT ?", append(args, f.Limit)...)
}

func scanAccount(scan func(...any) error) (*accounts.Account, error) {
	var a accounts.Account
	var created, updated int64
	var attrs, linked string
	if err := scan(&a.ID, &a.Region, &a.Verified, &created, &a.Locale, &attrs, &linked, &updated); err != nil {
		return nil, err
	}
	a.CreatedAt, a.UpdatedAt = fromNanos(created), fromNanos(updated)
	var err error
	if a.Attributes, err = decodeAttributes(attrs); err != nil {
		return nil, fmt.Errorf("account %s: attributes: %w", a.ID, err)
	}
	if a.Linked, err = decodeLinked(linked); err != nil {
		return nil, fmt.Errorf("account %s: linked: %w", a.ID, err)
	}
	return &a, nil
}

// localeChunk is how many IDs one statement of Locales asks for.
const localeChunk = 500

func (s *Accounts) Locales(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	args := make([]any, 0, localeChunk)
	for start := 0; start < len(ids); start += localeChunk {
		args = args[:0]
		for _, id := range ids[start:min(start+localeChunk, len(ids))] {
			args = append(args, id)
		}
		rows, err := s.db.query(ctx, "SELECT id, locale FROM accounts WHERE id IN ("+params(len(args))+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, locale string
			if err := rows.Scan(&id, &locale); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = locale
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
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

func (s *Accounts) Put(ctx context.Context, a *accounts.Account) (bool, error) {
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

func (s *Accounts) PutMany(ctx context.Context, as []*accounts.Account) (int, error) {
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
