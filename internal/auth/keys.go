package auth

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// KeySpec is what a new key is made with.
type KeySpec struct {
	Role principal.Role
	Name string        // a default name (role and part of the ID) when empty
	Team string        // optional; letters, digits, '.', '_' or '-' as a name
	TTL  time.Duration // for ever when zero
}

// Create makes a key with role and name (a default name when empty), lasting ttl (for
// ever when zero), and returns the secret, which is never shown again. Returns
// errs.Invalid for a bad role, name or ttl and errs.Conflict for a name in use.
func (s *Keyring) Create(ctx context.Context, role principal.Role, name string, ttl time.Duration) (secret string, k *Key, err error) {
	return s.CreateKey(ctx, KeySpec{Role: role, Name: name, TTL: ttl})
}

// CreateKey makes a key as spec says and returns the secret, which is never shown again.
// Returns errs.Invalid naming every field at fault (role, name, team, expires) and
// errs.Conflict for a name in use.
func (s *Keyring) CreateKey(ctx context.Context, spec KeySpec) (secret string, k *Key, err error) {
	var bad errs.Fields
	if _, err := principal.ParseRole(string(spec.Role)); err != nil {
		bad.Add("role", "must be one of %v", principal.Roles)
	}
	if spec.TTL < 0 {
		bad.Add("expires", "must be a positive duration, got %v", spec.TTL)
	}
	id := uuid.Must(uuid.NewV7()).String()
	name := spec.Name
	if name == "" {
		name = string(spec.Role) + "-" + id[len(id)-8:]
	}
	if !namePattern.MatchString(name) {
		bad.Add("name", "must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	if spec.Team != "" && !namePattern.MatchString(spec.Team) {
		bad.Add("team", "must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	if err := bad.Err(); err != nil {
		return "", nil, err
	}
	secret, k = s.newKey(id, name, spec.Role, spec.TTL)
	k.Team = spec.Team
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.store.Create(ctx, k); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "key.create", Subject: k.ID, Value: k})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, k, nil
}

// newKey returns a new secret and the key holding its hash.
func (s *Keyring) newKey(id, name string, role principal.Role, ttl time.Duration) (string, *Key) {
	secret := newSecret(secretPrefix)
	k := &Key{ID: id, Name: name, Role: role, Hash: Hash(secret), CreatedAt: s.now().UTC()}
	if ttl > 0 {
		at := k.CreatedAt.Add(ttl)
		k.ExpiresAt = &at
	}
	return secret, k
}

// List returns up to limit keys, newest first, after the key with ID after ("" for the
// first page). Returns errs.Invalid for an after that is not a key ID.
func (s *Keyring) List(ctx context.Context, after string, limit int) ([]*Key, error) {
	if after != "" {
		if _, err := uuid.Parse(after); err != nil {
			return nil, errs.Field("cursor", "is not a cursor this API gave out")
		}
	}
	return s.store.List(ctx, after, limit)
}

// Revoke revokes the key and returns it as it is now. It works in the calling
// transaction when there is one. Returns errs.NotFound when there is no such key not
// revoked yet, and errs.Conflict when it is the last admin key in use: revoking it
// would leave nobody able to manage keys over the API.
func (s *Keyring) Revoke(ctx context.Context, id string) (k *Key, err error) {
	now := s.now().UTC()
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if k, err = s.store.Get(ctx, id); err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return errs.E(errs.NotFound, "key %s is revoked already", id)
		}
		// A key retiring after a rotation goes anyway: its successor is counted.
		if k.Role == principal.Admin && k.ReplacedBy == "" && k.usable(now) == nil {
			n, err := s.store.ActiveAdmins(ctx, now)
			if err != nil {
				return err
			}
			if n <= 1 {
				return errs.E(errs.Conflict, "key %s is the last admin key in use; create another before revoking it", id)
			}
		}
		if err := s.store.Revoke(ctx, id, now); err != nil {
			return err
		}
		k.RevokedAt = &now
		// Forgotten once committed: a lookup before then would cache it unrevoked.
		s.tx.AfterCommit(ctx, func() { s.forget(k.Hash) })
		return s.audit.Record(ctx, audit.Change{Action: "key.revoke", Subject: id, Value: k})
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate makes a new secret for the key named name, with its name and role, and retires
// the old key: it keeps working until grace has passed (or until it expires, if sooner),
// then is refused. The new key expires when the old one would have, counted afresh from
// now. Returns errs.NotFound when no key of that name is in use, errs.Invalid for a
// negative grace.
func (s *Keyring) Rotate(ctx context.Context, name string, grace time.Duration) (secret string, k *Key, err error) {
	if grace < 0 {
		return "", nil, errs.Field("grace", "must not be negative, got %v", grace)
	}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		old, err := s.store.InUse(ctx, name)
		if errs.CodeOf(err) == errs.NotFound {
			return errs.E(errs.NotFound, "no key named %q is in use", name)
		}
		if err != nil {
			return err
		}
		var ttl time.Duration
		if old.ExpiresAt != nil {
			ttl = old.ExpiresAt.Sub(old.CreatedAt)
		}
		secret, k = s.newKey(uuid.Must(uuid.NewV7()).String(), old.Name, old.Role, ttl)
		k.Team = old.Team
		retire := k.CreatedAt.Add(grace)
		if old.ExpiresAt != nil && old.ExpiresAt.Before(retire) {
			retire = *old.ExpiresAt
		}
		// Retire first: the name is unique among keys not revoked nor replaced.
		if err := s.store.Retire(ctx, old.ID, k.ID, retire); err != nil {
			return err
		}
		if err := s.store.Create(ctx, k); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "key.rotate", Subject: k.ID,
			Value: map[string]any{"key": k, "replaces": old.ID, "old_expires_at": retire}})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, k, nil
}

// forget drops a key from this process's cache.
func (s *Keyring) forget(hash []byte) { s.known.Delete(string(hash)) }

// touch writes key id's last_used_at when this process has not in touchEvery, in a
// transaction of its own. A failed write is dropped and tried again a minute later, not
// on the next request: a database that refuses writes (full, say) must not take a write
// attempt per request, and when a key was last used is not worth refusing one over.
func (s *Keyring) touch(ctx context.Context, id string, now time.Time) {
	if last, ok := s.used.Load(id); ok && now.Sub(last.(time.Time)) < touchEvery {
		return
	}
	s.used.Store(id, now)
	_ = s.tx.Write(context.WithoutCancel(ctx), func(ctx context.Context) error {
		return s.store.Touch(ctx, id, now.UTC())
	})
}

// ParseTTL parses a lifetime: a Go duration ("36h", "90m") or a whole number of days
// ("90d").
func ParseTTL(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 100*365 {
			return 0, errs.E(errs.Invalid, "%q is not a number of days from 1 to 36500", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errs.E(errs.Invalid, "%q is not a positive duration such as 90d, 36h or 90m", v)
	}
	return d, nil
}
