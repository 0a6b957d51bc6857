package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
)

// Sessions and portal links are kept by Users: auth.UserStore holds both.

const sessionColumns = "id, kind, subject, name, role, hash, csrf, created_at, expires_at, revoked_at"

func (s *Users) CreateSession(ctx context.Context, ss *auth.Session) (err error) {
	defer wrapErr(&err, "sqlstore.Users.CreateSession", ss.Subject)
	_, err = s.db.exec(ctx, "INSERT INTO web_sessions ("+sessionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		ss.ID, ss.Kind, ss.Subject, ss.Name, string(ss.Role), ss.Hash, ss.CSRF, nanos(ss.CreatedAt), nanos(ss.ExpiresAt), optNanos(ss.RevokedAt))
	return err
}

func (s *Users) SessionByHash(ctx context.Context, hash []byte) (_ *auth.Session, err error) {
	defer wrapErr(&err, "sqlstore.Users.SessionByHash", "")
	var ss auth.Session
	var created, expires int64
	var revoked sql.NullInt64
	err = s.db.queryRow(ctx, "SELECT "+sessionColumns+" FROM web_sessions WHERE hash = ?", hash).
		Scan(&ss.ID, &ss.Kind, &ss.Subject, &ss.Name, &ss.Role, &ss.Hash, &ss.CSRF, &created, &expires, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such session")
	}
	if err != nil {
		return nil, err
	}
	ss.CreatedAt, ss.ExpiresAt, ss.RevokedAt = fromNanos(created), fromNanos(expires), fromOptNanos(revoked)
	return &ss, nil
}

func (s *Users) RevokeSession(ctx context.Context, id string, at time.Time) (err error) {
	defer wrapErr(&err, "sqlstore.Users.RevokeSession", id)
	return changed(s.db.exec(ctx, "UPDATE web_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", nanos(at), id))("session in use " + id)
}

func (s *Users) CreatePortalLink(ctx context.Context, l *auth.PortalLink) (err error) {
	defer wrapErr(&err, "sqlstore.Users.CreatePortalLink", l.Account)
	_, err = s.db.exec(ctx, "INSERT INTO portal_links (id, account, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		l.ID, l.Account, l.Hash, nanos(l.CreatedAt), nanos(l.ExpiresAt))
	return err
}

func (s *Users) UsePortalLink(ctx context.Context, hash []byte, at time.Time) (_ *auth.PortalLink, err error) {
	defer wrapErr(&err, "sqlstore.Users.UsePortalLink", "")
	// The update is the claim: of two uses at once, one changes the row.
	if err := changed(s.db.exec(ctx, "UPDATE portal_links SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at > ?",
		nanos(at), hash, nanos(at)))("unused portal link"); err != nil {
		return nil, err
	}
	var l auth.PortalLink
	var created, expires int64
	var used sql.NullInt64
	err = s.db.queryRow(ctx, "SELECT id, account, hash, created_at, expires_at, used_at FROM portal_links WHERE hash = ?", hash).
		Scan(&l.ID, &l.Account, &l.Hash, &created, &expires, &used)
	if err != nil {
		return nil, err
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = fromNanos(created), fromNanos(expires), fromOptNanos(used)
	return &l, nil
}
