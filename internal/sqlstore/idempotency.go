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

func (s *Idempotency) Lookup(ctx context.Context, principal, key string) (*idempotency.Record, error) {
	r := idempotency.Record{Principal: principal, Key: key}
	var created int64
	err := s.db.queryRow(ctx, "SELECT request_hash, status, body, created_at FROM idempotency WHERE principal = ? AND key = ?",
		principal, key).Scan(&r.RequestHash, &r.Status, &r.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.CreatedAt = fromNanos(created)
	return &r, nil
}

func (s *Idempotency) Save(ctx context.Context, r *idempotency.Record) error {
	_, err := s.db.exec(ctx, "INSERT INTO idempotency (principal, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		r.Principal, r.Key, r.RequestHash, r.Status, r.Body, nanos(r.CreatedAt))
	if s.db.d.unique(err) {
		return errs.E(errs.Conflict, "idempotency key %q was used by a concurrent request", r.Key)
	}
	return err
}
