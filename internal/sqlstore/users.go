package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
)

// Users implements auth.UserStore: the console's staff users, the sessions of the
// console and the portal, and portal links.
type Users struct{ db *DB }

// Users returns the staff user and session store.
func (db *DB) Users() *Users { return &Users{db} }

var _ auth.UserStore = (*Users)(nil)

const userColumns = "id, email, role, password_hash, created_at, setup_hash, setup_expires, failures, locked_until"

func (s *Users) CreateUser(ctx context.Context, u *auth.User) (err error) {
	defer wrapErr(&err, "sqlstore.Users.CreateUser", u.Email)
	_, err = s.db.exec(ctx, "INSERT INTO staff_users ("+userColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		u.ID, u.Email, string(u.Role), u.PasswordHash, nanos(u.CreatedAt), u.SetupHash, optNanos(u.SetupExpires), u.Failures, optNanos(u.LockedUntil))
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "a user with email %q exists already", u.Email)
	}
	return err
}

func (s *Users) UserByEmail(ctx context.Context, email string) (_ *auth.User, err error) {
	defer wrapErr(&err, "sqlstore.Users.UserByEmail", email)
	return s.user(ctx, "SELECT "+userColumns+" FROM staff_users WHERE email = ?", email)
}

func (s *Users) UserBySetupHash(ctx context.Context, hash []byte) (_ *auth.User, err error) {
	defer wrapErr(&err, "sqlstore.Users.UserBySetupHash", "")
	return s.user(ctx, "SELECT "+userColumns+" FROM staff_users WHERE setup_hash = ?", hash)
}

func (s *Users) UpdateUser(ctx context.Context, u *auth.User) (err error) {
	defer wrapErr(&err, "sqlstore.Users.UpdateUser", u.ID)
	return changed(s.db.exec(ctx, "UPDATE staff_users SET password_hash = ?, setup_hash = ?, setup_expires = ?, failures = ?, locked_until = ? WHERE id = ?",
		u.PasswordHash, u.SetupHash, optNanos(u.SetupExpires), u.Failures, optNanos(u.LockedUntil), u.ID))("user " + u.ID)
}

func (s *Users) user(ctx context.Context, q string, args ...any) (*auth.User, error) {
	var u auth.User
	var created int64
	var setupExp, locked sql.NullInt64
	err := s.db.queryRow(ctx, q, args...).Scan(&u.ID, &u.Email, &u.Role, &u.PasswordHash, &created, &u.SetupHash, &setupExp, &u.Failures, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such user")
	}
	if err != nil {
		return nil, err
	}
	u.CreatedAt, u.SetupExpires, u.LockedUntil = fromNanos(created), fromOptNanos(setupExp), fromOptNanos(locked)
	return &u, nil
}

// changed returns a check that a statement changed a row, errs.NotFound naming what
// when it changed none.
func changed(res sql.Result, err error) func(what string) error {
	return func(what string) error {
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = errs.E(errs.NotFound, "no such %s", what)
		}
		return err
	}
}
