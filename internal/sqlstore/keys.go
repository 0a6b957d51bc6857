package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
)

// Keys implements auth.Store.
type Keys struct{ db *DB }

// Keys returns the API key store.
func (db *DB) Keys() *Keys { return &Keys{db} }

var _ auth.Store = (*Keys)(nil)

const keyColumns = "id, name, role, hash, created_at, expires_at, revoked_at, replaced_by, last_used_at, team"

// keysFrom is every key with its team, if any (see migration 0031).
const keysFrom = " FROM api_keys LEFT JOIN api_key_teams ON key_id = id"

func (s *Keys) Create(ctx context.Context, k *auth.Key) (err error) {
	defer wrapErr(&err, "sqlstore.Keys.Create", k.Name)
	_, err = s.db.exec(ctx, "INSERT INTO api_keys (id, name, role, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		k.ID, k.Name, string(k.Role), k.Hash, nanos(k.CreatedAt), optNanos(k.ExpiresAt))
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "a key named %q exists already", k.Name)
	}
	if err == nil && k.Team != "" {
		_, err = s.db.exec(ctx, "INSERT INTO api_key_teams (key_id, team) VALUES (?, ?)", k.ID, k.Team)
	}
	return err
}

func (s *Keys) ByHash(ctx context.Context, hash []byte) (_ *auth.Key, err error) {
	defer wrapErr(&err, "sqlstore.Keys.ByHash", "")
	return s.one(ctx, "SELECT "+keyColumns+keysFrom+" WHERE hash = ?", hash)
}

func (s *Keys) Get(ctx context.Context, id string) (_ *auth.Key, err error) {
	defer wrapErr(&err, "sqlstore.Keys.Get", id)
	return s.one(ctx, "SELECT "+keyColumns+keysFrom+" WHERE id = ?", id)
}

func (s *Keys) InUse(ctx context.Context, name string) (_ *auth.Key, err error) {
	defer wrapErr(&err, "sqlstore.Keys.InUse", name)
	return s.one(ctx, "SELECT "+keyColumns+keysFrom+" WHERE name = ? AND revoked_at IS NULL AND replaced_by IS NULL", name)
}

func (s *Keys) List(ctx context.Context, after string, limit int) (_ []*auth.Key, err error) {
	defer wrapErr(&err, "sqlstore.Keys.List", after)
	q, args := newestFirst("SELECT "+keyColumns+keysFrom+" WHERE 1 = 1", nil, after, limit)
	return collect(ctx, s.db, scanKey, q, args...)
}

func (s *Keys) ActiveAdmins(ctx context.Context, now time.Time) (n int, err error) {
	defer wrapErr(&err, "sqlstore.Keys.ActiveAdmins", "")
	err = s.db.queryRow(ctx, "SELECT count(*) FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL AND replaced_by IS NULL AND (expires_at IS NULL OR expires_at > ?)",
		nanos(now)).Scan(&n)
	return n, err
}

func (s *Keys) Revoke(ctx context.Context, id string, at time.Time) (err error) {
	defer wrapErr(&err, "sqlstore.Keys.Revoke", id)
	return s.update(ctx, id, "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", nanos(at), id)
}

func (s *Keys) Retire(ctx context.Context, id, replacedBy string, expires time.Time) (err error) {
	defer wrapErr(&err, "sqlstore.Keys.Retire", id)
	return s.update(ctx, id, "UPDATE api_keys SET replaced_by = ?, expires_at = ? WHERE id = ? AND revoked_at IS NULL AND replaced_by IS NULL",
		replacedBy, nanos(expires), id)
}

func (s *Keys) Touch(ctx context.Context, id string, at time.Time) (err error) {
	defer wrapErr(&err, "sqlstore.Keys.Touch", id)
	_, err = s.db.exec(ctx, "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
		nanos(at), id, nanos(at))
	return err
}

// update runs a statement changing key id and returns errs.NotFound when it changed
// nothing.
func (s *Keys) update(ctx context.Context, id, q string, args ...any) error {
	res, err := s.db.exec(ctx, q, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = errs.E(errs.NotFound, "key %s is not in use", id)
	}
	return err
}

func (s *Keys) one(ctx context.Context, q string, args ...any) (*auth.Key, error) {
	k, err := scanKey(s.db.queryRow(ctx, q, args...).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such key")
	}
	return k, err
}

func scanKey(scan func(...any) error) (*auth.Key, error) {
	var k auth.Key
	var created int64
	var expires, revoked, used sql.NullInt64
	var replaced, team sql.NullString
	if err := scan(&k.ID, &k.Name, &k.Role, &k.Hash, &created, &expires, &revoked, &replaced, &used, &team); err != nil {
		return nil, err
	}
	k.CreatedAt = fromNanos(created)
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = fromOptNanos(expires), fromOptNanos(revoked), fromOptNanos(used)
	k.ReplacedBy, k.Team = replaced.String, team.String
	return &k, nil
}

// optNanos and fromOptNanos convert optional times to and from the stored form.
func optNanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return nanos(*t)
}

func fromOptNanos(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}
