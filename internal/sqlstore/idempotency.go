package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/idempotency"
)

// Idempotency implements idempotency.Store.
type Idempotency struct {
	db  *DB
	ttl time.Duration // records older are ignored, and replaced by a new one; 0: kept for ever
	now func() time.Time
}

// Idempotency returns the idempotency record store, its records kept for ever.
func (db *DB) Idempotency() *Idempotency { return &Idempotency{db: db, now: time.Now} }

// WithTTL returns the store with records expiring after ttl: a lookup ignores an
// expired record even before the retention sweeper deletes it, and a save replaces it.
func (s *Idempotency) WithTTL(ttl time.Duration) idempotency.Store {
	c := *s
	c.ttl = ttl
	return &c
}

// oldest returns the creation time, in stored form, of the oldest record in force.
func (s *Idempotency) oldest() int64 {
	if s.ttl <= 0 {
		return math.MinInt64
	}
	return nanos(s.now().Add(-s.ttl))
}

var _ idempotency.Store = (*Idempotency)(nil)

func (s *Idempotency) Lookup(ctx context.Context, principal, key string) (_ *idempotency.Record, err error) {
	defer wrapErr(&err, "sqlstore.Idempotency.Lookup", key)
	r := idempotency.Record{Principal: principal, Key: key}
	var created int64
	err = s.db.queryRow(ctx, "SELECT request_hash, status, body, created_at FROM idempotency WHERE principal = ? AND key = ? AND created_at >= ?",
		principal, key, s.oldest()).Scan(&r.RequestHash, &r.Status, &r.Body, &created)
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
	// A record expired but not yet swept gives way to the new one.
	res, err := s.db.exec(ctx, `INSERT INTO idempotency (principal, key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (principal, key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
		body = excluded.body, created_at = excluded.created_at WHERE idempotency.created_at < ?`,
		r.Principal, r.Key, r.RequestHash, r.Status, r.Body, nanos(r.CreatedAt), s.oldest())
	if err == nil {
		if n, rerr := res.RowsAffected(); rerr == nil && n == 0 {
			err = errs.E(errs.Conflict, "conflict")
		}
	}
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "idempotency key %q was used by a concurrent request", r.Key)
	}
	return err
}
