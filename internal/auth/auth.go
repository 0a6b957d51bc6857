// Package auth holds the credentials principals present: API keys, each with one staff
// role, and end users' tokens, each scoped to one account. A secret is shown once when
// it is made; Steward stores only its SHA-256 hash, which is enough for secrets of 160
// random bits and lets every request be checked with one indexed lookup.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/txn"
)

// Key is a stored API key: everything but the secret.
type Key struct {
	ID   string         `json:"id"`
	Name string         `json:"name"`
	Role principal.Role `json:"role"`
	// Team is the team of the staff member holding the key, "" when none was given;
	// the vault's access log shows it to the users whose data the key reached.
	Team      string    `json:"team,omitempty"`
	Hash      []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// LastUsedAt is when a request last used the key, written at most once a minute.
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	// ReplacedBy is the ID of the key rotation made in this one's place; the two share
	// the name until this one expires.
	ReplacedBy string `json:"replaced_by,omitempty"`
}

// usable returns errs.Unauthorized if k is revoked or has expired at now.
func (k *Key) usable(now time.Time) error {
	switch {
	case k.RevokedAt != nil:
		return errs.E(errs.Unauthorized, "this API key was revoked at %s", k.RevokedAt.Format(time.RFC3339))
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return errs.E(errs.Unauthorized, "this API key expired at %s", k.ExpiresAt.Format(time.RFC3339))
	}
	return nil
}

// Store keeps keys and user tokens. Its writes must be called inside a write
// transaction (see package txn).
type Store interface {
	// Create stores k. Returns errs.Conflict if its name is taken.
	Create(ctx context.Context, k *Key) error
	// ByHash returns the key with this hash, whether or not it has expired or been
	// revoked. Returns errs.NotFound when there is none.
	ByHash(ctx context.Context, hash []byte) (*Key, error)
	// Get returns the key. Returns errs.NotFound when there is none.
	Get(ctx context.Context, id string) (*Key, error)
	// InUse returns the key named name that is neither revoked nor replaced. Returns
	// errs.NotFound when there is none.
	InUse(ctx context.Context, name string) (*Key, error)
	// List returns up to limit keys, newest first, after the key with ID after.
	List(ctx context.Context, after string, limit int) ([]*Key, error)
	// ActiveAdmins counts the admin keys neither revoked, replaced nor expired at now: a
	// key retiring after a rotation stops working after its grace period.
	ActiveAdmins(ctx context.Context, now time.Time) (int, error)
	// Revoke marks the key revoked at at. Returns errs.NotFound when there is no such
	// key not revoked yet.
	Revoke(ctx context.Context, id string, at time.Time) error
	// Retire marks the key replaced by replacedBy and expiring at expires. Returns
	// errs.NotFound when there is no such key neither revoked nor replaced.
	Retire(ctx context.Context, id, replacedBy string, expires time.Time) error
	// Touch records that the key was used at at (never moving last_used_at back).
	Touch(ctx context.Context, id string, at time.Time) error

	// CreateToken stores t.
	CreateToken(ctx context.Context, t *Token) error
	// TokenByHash returns the user token with this hash, whether or not it has expired
	// or been revoked. Returns errs.NotFound when there is none.
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	// RevokeToken marks the token revoked at at. Returns errs.NotFound when there is no
	// such token not revoked yet.
	RevokeToken(ctx context.Context, id string, at time.Time) error
}

// Accounts is what the keyring needs of the accounts: a token is only made for one that
// exists.
type Accounts interface {
	// Get returns the account. Returns errs.NotFound when there is none.
	Get(ctx context.Context, id string) (*accounts.Account, error)
}

// Keyring creates and checks keys and user tokens.
type Keyring struct {
	store    Store
	accounts Accounts
	tx       txn.Runner
	audit    *audit.Recorder
	now      func() time.Time
	// known caches keys found by hash for cacheTTL: looking a key up in the database
	// on every request was a quarter of the CPU of a single check over HTTP.
	known sync.Map // string(hash) → cachedKey
	// used holds when each key's last_used_at was last written by this process.
	used sync.Map // key ID → time.Time
}

// cacheTTL bounds how long a key is trusted from memory: a key revoked by any process
// sharing the database stops working within it. At 1 s the lookups it saves are still
// all but a few per second per key (BenchmarkCheckHTTP: see the commit that set it).
const cacheTTL = time.Second

// touchEvery is how often a key's last_used_at is written at most, per process: a write
// per request would cost more than the check it records.
const touchEvery = time.Minute

type cachedKey struct {
	key     *Key
	expires time.Time
}

// NewKeyring returns a Keyring over store.
func NewKeyring(store Store, accts Accounts, tx txn.Runner, rec *audit.Recorder) *Keyring {
	return &Keyring{store: store, accounts: accts, tx: tx, audit: rec, now: time.Now}
}

const secretPrefix = "stw_"

// newSecret returns prefix and 160 random bits in lower-case base32.
func newSecret(prefix string) string {
	var raw [20]byte
	rand.Read(raw[:])
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))
}

// Authenticate returns the principal whose secret this is: a key's staff principal, or a
// user token's end user. Returns errs.Unauthorized for an unknown or malformed secret, and
// for an expired or revoked token.
func (s *Keyring) Authenticate(ctx context.Context, secret string) (principal.Principal, error) {
	if strings.HasPrefix(secret, tokenPrefix) {
		return s.authenticateToken(ctx, secret)
	}
	k, err := s.key(ctx, secret)
	if err != nil {
		return principal.Principal{}, err
	}
	p := principal.Key(k.Name, k.Role, k.ID)
	p.Team = k.Team
	return p, nil
}

// key returns the key whose secret this is. Returns errs.Unauthorized for an unknown or
// malformed secret.
func (s *Keyring) key(ctx context.Context, secret string) (*Key, error) {
	if !strings.HasPrefix(secret, secretPrefix) || len(secret) > 100 {
		return nil, errs.E(errs.Unauthorized, "unknown API key")
	}
	hash := Hash(secret)
	now := s.now()
	var k *Key
	if c, ok := s.known.Load(string(hash)); ok && now.Before(c.(cachedKey).expires) {
		k = c.(cachedKey).key
	} else {
		var err error
		k, err = s.store.ByHash(ctx, hash)
		if errs.CodeOf(err) == errs.NotFound {
			return nil, errs.E(errs.Unauthorized, "unknown API key")
		}
		if err != nil {
			return nil, err
		}
		s.known.Store(string(hash), cachedKey{key: k, expires: now.Add(cacheTTL)})
	}
	if err := k.usable(now); err != nil {
		return nil, err
	}
	s.touch(ctx, k.ID, now)
	return k, nil
}

// Hash returns the stored form of a secret.
func Hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
