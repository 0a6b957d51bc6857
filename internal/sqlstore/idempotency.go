package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/idempotency"
)

// Idempotency implements idempotency.Store.
type Idempotency struct{ db *DB }

// Idempotency returns the idempotency record store.
func (db *DB) Idempotency() *Idempotency { return &Idempotency{db} }

var _ idempotency.Store = (*Idempotency)(nil)

func (s *Idempotency) Lookup(ctx context.Context, principal, key string) (_ *idempotency.Record, err error) {
	defer wrapErr(&err, "sqlstore.Idempotency.Lookup", key)
	r := idempotency.Record{Principal: principal, Key: key}
	var created int64
	err = s.db.queryRow(ctx, "SELECT request_hash, status, body, created_at FROM idempotency WHERE principal = ? AND key = ?",
		principal, key).Scan(&r.RequestHash, &r.Status, &r.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no answer is stored for idempotency key %q", key)
	}
	if err != nil {
		return nil, err
	}
	r.CreatedAt = fromNanos(created)
	return &r, nil
}

func (s *Idempotency) Save(ctx context.Context, r *idempotency.Record) (err error) {
	defer wrapErr(&err, "sqlstore.Idempotency.Save", r.Key)
	_, err = s.db.exec(ctx, "INSERT INTO idempotency (principal, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		r.Principal, r.Key, r.RequestHash, r.Status, r.Body, nanos(r.CreatedAt))
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "idempotency key %q was used by a concurrent request", r.Key)
	}
	return err
}
