package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
)

// Keys implements auth.Store.
type Keys struct{ db *DB }

// Keys returns the API key store.
func (db *DB) Keys() *Keys { return &Keys{db} }

var _ auth.Store = (*Keys)(nil)

func (s *Keys) Create(ctx context.Context, k *auth.Key) (err error) {
	defer wrapErr(&err, "sqlstore.Keys.Create", k.Name)
	_, err = s.db.exec(ctx, "INSERT INTO api_keys (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)",
		k.ID, k.Name, string(k.Role), k.Hash, nanos(k.CreatedAt))
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "a key named %q exists already", k.Name)
	}
	return err
}

func (s *Keys) ByHash(ctx context.Context, hash []byte) (_ *auth.Key, err error) {
	defer wrapErr(&err, "sqlstore.Keys.ByHash", "")
	var k auth.Key
	var created int64
	err = s.db.queryRow(ctx, "SELECT id, name, role, hash, created_at FROM api_keys WHERE hash = ?", hash).
		Scan(&k.ID, &k.Name, &k.Role, &k.Hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such key")
	}
	if err != nil {
		return nil, err
	}
	k.CreatedAt = fromNanos(created)
	return &k, nil
}
