package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/argon2"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/txn"
)

// User is a member of staff who signs in to the console with a password. A user has one
// staff role, the same roles API keys have, and the console enforces the same rules.
type User struct {
	ID    string         `json:"id"`
	Email string         `json:"email"`
	Role  principal.Role `json:"role"`
	// PasswordHash is the argon2id hash in PHC form, "" until the set-up link is used.
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	// SetupHash is the hash of the one-time set-up secret, nil once used.
	SetupHash    []byte     `json:"-"`
	SetupExpires *time.Time `json:"setup_expires,omitempty"`
	// Failures counts the sign-ins that failed since the last one that succeeded.
	Failures    int        `json:"failures"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
}

// Session is a signed-in browser: a member of staff in the console (Kind "staff") or an
// end user in the portal (Kind "portal"). Only the secret's hash is stored.
type Session struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Subject is the user's ID for staff, the account's ID for the portal.
	Subject string `json:"subject"`
	// Name is the principal's name: the user's email, or the account's ID.
	Name      string         `json:"name"`
	Role      principal.Role `json:"role"`
	Hash      []byte         `json:"-"`
	CSRF      string         `json:"-"` // the token every form of the session carries
	CreatedAt time.Time      `json:"created_at"`
	ExpiresAt time.Time      `json:"expires_at"`
	RevokedAt *time.Time     `json:"revoked_at,omitempty"`
}

// Session kinds.
const (
	StaffSession  = "staff"
	PortalSession = "portal"
)

// PortalLink is a one-time link opening a portal session for an account.
type PortalLink struct {
	ID        string     `json:"id"`
	Account   string     `json:"account"`
	Hash      []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	UsedAt    *time.Time `json:"used_at,omitempty"`
}

// UserStore keeps staff users, sessions and portal links. Its writes must be called
// inside a write transaction.
type UserStore interface {
	// CreateUser stores u. Returns errs.Conflict if its email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByEmail returns the user. Returns errs.NotFound when there is none.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserBySetupHash returns the user whose set-up secret has this hash, expired or not.
	// Returns errs.NotFound when there is none.
	UserBySetupHash(ctx context.Context, hash []byte) (*User, error)
	// UpdateUser writes u's password hash, set-up secret, failures and lock. Returns
	// errs.NotFound when there is no such user.
	UpdateUser(ctx context.Context, u *User) error

	// CreateSession stores s.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByHash returns the session, expired or revoked or not. Returns
	// errs.NotFound when there is none.
	SessionByHash(ctx context.Context, hash []byte) (*Session, error)
	// RevokeSession marks the session revoked at at. Returns errs.NotFound when there
	// is no such session not revoked yet.
	RevokeSession(ctx context.Context, id string, at time.Time) error

	// CreatePortalLink stores l.
	CreatePortalLink(ctx context.Context, l *PortalLink) error
	// UsePortalLink marks the link with this hash used at at and returns it, when it
	// was unused and unexpired at at. Returns errs.NotFound otherwise.
	UsePortalLink(ctx context.Context, hash []byte, at time.Time) (*PortalLink, error)
}

// Staff signs staff in and out of the console and opens portal sessions.
type Staff struct {
	store    UserStore
	accounts Accounts
	tx       txn.Runner
	audit    *audit.Recorder
	now      func() time.Time
	cfg      StaffConfig
}

// StaffConfig tunes sign-in. The zero value is the default of each field.
type StaffConfig struct {
	SessionTTL  time.Duration // a staff session's life (8 h)
	PortalTTL   time.Duration // a portal session's life (1 h)
	LinkTTL     time.Duration // a portal link's life (15 min)
	SetupTTL    time.Duration // a set-up link's life (72 h)
	MaxFailures int           // failed sign-ins in a row that lock the user (5)
	LockFor     time.Duration // how long a lock lasts (15 min)
	// Argon2 memory in KiB (19 MiB, OWASP's minimum for argon2id with t=2).
	Argon2Memory uint32
	Now          func() time.Time
}

func (c StaffConfig) withDefaults() StaffConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.SessionTTL, 8*time.Hour)
	def(&c.PortalTTL, time.Hour)
	def(&c.LinkTTL, 15*time.Minute)
	def(&c.SetupTTL, 72*time.Hour)
	def(&c.LockFor, 15*time.Minute)
	if c.MaxFailures <= 0 {
		c.MaxFailures = 5
	}
	if c.Argon2Memory == 0 {
		c.Argon2Memory = 19 * 1024
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// NewStaff returns the console's sign-in over store.
func NewStaff(store UserStore, accts Accounts, tx txn.Runner, rec *audit.Recorder, cfg StaffConfig) *Staff {
	cfg = cfg.withDefaults()
	return &Staff{store: store, accounts: accts, tx: tx, audit: rec, now: cfg.Now, cfg: cfg}
}

const (
	setupPrefix   = "sts_" // a set-up secret
	sessionPrefix = "stc_" // a console or portal session
	linkPrefix    = "stp_" // a portal link
)

// CreateUser makes a staff user with role and returns the one-time set-up secret that
// lets them choose a password. Returns errs.Invalid for a bad email or role (both named)
// and errs.Conflict for an email in use.
func (s *Staff) CreateUser(ctx context.Context, email string, role principal.Role) (setup string, u *User, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var bad errs.Fields
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		bad.Add("email", "must be an email address such as rita@example.com")
	}
	if _, err := principal.ParseRole(string(role)); err != nil {
		bad.Add("role", "must be one of %v", principal.Roles)
	}
	if err := bad.Err(); err != nil {
		return "", nil, err
	}
	now := s.now().UTC()
	setup = newSecret(setupPrefix)
	exp := now.Add(s.cfg.SetupTTL)
	u = &User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, Role: role, CreatedAt: now, SetupHash: Hash(setup), SetupExpires: &exp}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.store.CreateUser(ctx, u); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "user.create", Subject: u.ID, Value: u})
	})
	if err != nil {
		return "", nil, err
	}
	return setup, u, nil
}

// SetupUser returns the user a set-up secret is for. Returns errs.Unauthorized for an
// unknown, used or expired secret.
func (s *Staff) SetupUser(ctx context.Context, setup string) (*User, error) {
	if !strings.HasPrefix(setup, setupPrefix) || len(setup) > 100 {
		return nil, errs.E(errs.Unauthorized, "this set-up link is not valid; ask an admin for a new one")
	}
	u, err := s.store.UserBySetupHash(ctx, Hash(setup))
	if errs.CodeOf(err) == errs.NotFound {
		return nil, errs.E(errs.Unauthorized, "this set-up link is not valid or was used; ask an admin for a new one")
	}
	if err != nil {
		return nil, err
	}
	if u.SetupExpires == nil || !s.now().Before(*u.SetupExpires) {
		return nil, errs.E(errs.Unauthorized, "this set-up link expired; ask an admin for a new one")
	}
	return u, nil
}

// MinPassword is the shortest password accepted.
const MinPassword = 12

// SetPassword sets the password of the user whose set-up secret this is, and uses the
// secret up. Returns errs.Unauthorized for a bad secret and errs.Invalid (field
// "password") for a password shorter than MinPassword or longer than 256 bytes.
func (s *Staff) SetPassword(ctx context.Context, setup, password string) (*User, error) {
	if len(password) < MinPassword || len(password) > 256 {
		return nil, errs.Field("password", "must be %d to 256 characters long", MinPassword)
	}
	hash := s.hashPassword(password)
	var u *User
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		var err error
		if u, err = s.SetupUser(ctx, setup); err != nil {
			return err
		}
		u.PasswordHash, u.SetupHash, u.SetupExpires, u.Failures, u.LockedUntil = hash, nil, nil, 0, nil
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "user.set-password", Subject: u.ID, Value: map[string]any{"email": u.Email}})
	})
	return u, err
}

// errSignIn is the one answer to every failed sign-in, so that it tells nobody whether
// the email exists.
var errSignIn = errs.E(errs.Unauthorized, "the email or password is wrong")

// SignIn checks email and password and opens a staff session, returning its secret.
// Returns errs.Unauthorized for a wrong email or password, and for a locked user (saying
// until when). Each failure is counted
// (and audited) in its own transaction; MaxFailures in a row lock the user for LockFor.
func (s *Staff) SignIn(ctx context.Context, email, password string) (secret string, sess *Session, err error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := s.store.UserByEmail(ctx, email)
	if errs.CodeOf(err) == errs.NotFound || (err == nil && u.PasswordHash == "") {
		s.hashPassword(password) // as long as a real check takes
		return "", nil, errSignIn
	}
	if err != nil {
		return "", nil, err
	}
	now := s.now().UTC()
	if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		return "", nil, errs.E(errs.Unauthorized, "too many failed sign-ins: this user is locked until %s", u.LockedUntil.Format(time.RFC3339))
	}
	if !checkPassword(u.PasswordHash, password) {
		if err := s.fail(ctx, u.Email, now); err != nil {
			return "", nil, err
		}
		return "", nil, errSignIn
	}
	secret, sess = s.newSession(StaffSession, u.ID, u.Email, u.Role, now, s.cfg.SessionTTL)
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		u, err := s.store.UserByEmail(ctx, email)
		if err != nil {
			return err
		}
		if u.Failures > 0 || u.LockedUntil != nil {
			u.Failures, u.LockedUntil = 0, nil
			if err := s.store.UpdateUser(ctx, u); err != nil {
				return err
			}
		}
		if err := s.store.CreateSession(ctx, sess); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "session.create", Subject: u.ID, Value: sess})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, sess, nil
}

// fail counts a failed sign-in of the user with email, locking them at MaxFailures.
func (s *Staff) fail(ctx context.Context, email string, now time.Time) error {
	return s.tx.Write(ctx, func(ctx context.Context) error {
		u, err := s.store.UserByEmail(ctx, email) // again, inside the transaction
		if err != nil {
			return err
		}
		u.Failures++
		action := "user.sign-in-failed"
		if u.Failures >= s.cfg.MaxFailures {
			until := now.Add(s.cfg.LockFor)
			u.Failures, u.LockedUntil, action = 0, &until, "user.lock"
		}
		if err := s.store.UpdateUser(ctx, u); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: action, Subject: u.ID,
			Value: map[string]any{"email": u.Email, "failures": u.Failures, "locked_until": u.LockedUntil}})
	})
}

func (s *Staff) newSession(kind, subject, name string, role principal.Role, now time.Time, ttl time.Duration) (string, *Session) {
	secret := newSecret(sessionPrefix)
	return secret, &Session{ID: uuid.Must(uuid.NewV7()).String(), Kind: kind, Subject: subject, Name: name, Role: role,
		Hash: Hash(secret), CSRF: newSecret(""), CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

// Authenticate returns the session whose secret this is and its principal: a staff
// principal with the user's role, or the end user of a portal session. Returns
// errs.Unauthorized for an unknown, expired or revoked session. Sessions are not cached:
// a session ended anywhere stops working on the next request.
func (s *Staff) Authenticate(ctx context.Context, secret string) (*Session, principal.Principal, error) {
	if !strings.HasPrefix(secret, sessionPrefix) || len(secret) > 100 {
		return nil, principal.Principal{}, errs.E(errs.Unauthorized, "no session: sign in")
	}
	sess, err := s.store.SessionByHash(ctx, Hash(secret))
	switch {
	case errs.CodeOf(err) == errs.NotFound:
		return nil, principal.Principal{}, errs.E(errs.Unauthorized, "unknown session: sign in")
	case err != nil:
		return nil, principal.Principal{}, err
	case sess.RevokedAt != nil:
		return nil, principal.Principal{}, errs.E(errs.Unauthorized, "this session was ended: sign in again")
	case !s.now().Before(sess.ExpiresAt):
		return nil, principal.Principal{}, errs.E(errs.Unauthorized, "this session expired at %s: sign in again", sess.ExpiresAt.Format(time.RFC3339))
	}
	if sess.Kind == PortalSession {
		return sess, principal.EndUser(sess.Subject, sess.ID), nil
	}
	return sess, principal.Key(sess.Name, sess.Role, sess.ID), nil
}

// SignOut ends the session. Returns errs.NotFound when it has ended already.
func (s *Staff) SignOut(ctx context.Context, sess *Session) error {
	now := s.now().UTC()
	return s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.store.RevokeSession(ctx, sess.ID, now); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "session.revoke", Subject: sess.Subject,
			Value: map[string]any{"id": sess.ID, "revoked_at": now}})
	})
}

// CreatePortalLink makes a one-time link secret, valid for LinkTTL, that opens a portal
// session for account. It works in the calling transaction when there is one. Returns
// errs.NotFound when there is no such account.
func (s *Staff) CreatePortalLink(ctx context.Context, account string) (secret string, l *PortalLink, err error) {
	now := s.now().UTC()
	secret = newSecret(linkPrefix)
	l = &PortalLink{ID: uuid.Must(uuid.NewV7()).String(), Account: account, Hash: Hash(secret), CreatedAt: now, ExpiresAt: now.Add(s.cfg.LinkTTL)}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if _, err := s.accounts.Get(ctx, account); err != nil {
			return err
		}
		if err := s.store.CreatePortalLink(ctx, l); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "portal_link.create", Subject: account, Value: l})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, l, nil
}

// OpenPortal uses a portal link up and opens a portal session for its account,
// returning the session's secret. Returns errs.Unauthorized for a link unknown, used or
// expired.
func (s *Staff) OpenPortal(ctx context.Context, link string) (secret string, sess *Session, err error) {
	if !strings.HasPrefix(link, linkPrefix) || len(link) > 100 {
		return "", nil, errs.E(errs.Unauthorized, "this portal link is not valid")
	}
	now := s.now().UTC()
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		l, err := s.store.UsePortalLink(ctx, Hash(link), now)
		if errs.CodeOf(err) == errs.NotFound {
			return errs.E(errs.Unauthorized, "this portal link was used or expired; ask for a new one")
		}
		if err != nil {
			return err
		}
		secret, sess = s.newSession(PortalSession, l.Account, l.Account, principal.User, now, s.cfg.PortalTTL)
		if err := s.store.CreateSession(ctx, sess); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "session.create", Subject: l.Account, Value: sess})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, sess, nil
}

// Argon2id parameters besides memory: two passes, one lane, a 16-byte salt, a 32-byte key.
const (
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

func (s *Staff) hashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, s.cfg.Argon2Memory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, s.cfg.Argon2Memory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key))
}

// checkPassword reports whether password matches a hash in PHC form, with the
// parameters the hash names.
func checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
