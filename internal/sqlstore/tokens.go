package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
)

// User tokens are kept by Keys, beside the API keys: auth.Store holds both.

func (s *Keys) CreateToken(ctx context.Context, t *auth.Token) (err error) {
	defer wrapErr(&err, "sqlstore.Keys.CreateToken", t.Account)
	_, err = s.db.exec(ctx, "INSERT INTO user_tokens (id, account, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		t.ID, t.Account, t.Hash, nanos(t.CreatedAt), nanos(t.ExpiresAt))
	return err
}

func (s *Keys) TokenByHash(ctx context.Context, hash []byte) (_ *auth.Token, err error) {
	defer wrapErr(&err, "sqlstore.Keys.TokenByHash", "")
	var t auth.Token
	var created, expires int64
	var revoked sql.NullInt64
	err = s.db.queryRow(ctx, "SELECT id, account, hash, created_at, expires_at, revoked_at FROM user_tokens WHERE hash = ?", hash).
		Scan(&t.ID, &t.Account, &t.Hash, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such user token")
	}
	if err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
	if revoked.Valid {
		at := fromNanos(revoked.Int64)
		t.RevokedAt = &at
	}
	return &t, nil
}

func (s *Keys) RevokeToken(ctx context.Context, id string, at time.Time) (err error) {
	defer wrapErr(&err, "sqlstore.Keys.RevokeToken", id)
	res, err := s.db.exec(ctx, "UPDATE user_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", nanos(at), id)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = errs.E(errs.NotFound, "user token %s is not in use", id)
	}
	return err
}
