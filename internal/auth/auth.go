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
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/txn"
)

// Key is a stored API key: everything but the secret.
type Key struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Role      principal.Role `json:"role"`
	Hash      []byte         `json:"-"`
	CreatedAt time.Time      `json:"created_at"`
}

// Store keeps keys and user tokens. Its writes must be called inside a write
// transaction (see package txn).
type Store interface {
	// Create stores k. Returns errs.Conflict if its name is taken.
	Create(ctx context.Context, k *Key) error
	// ByHash returns the key with this hash. Returns errs.NotFound when there is none.
	ByHash(ctx context.Context, hash []byte) (*Key, error)

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
}

// cacheTTL bounds how long a key is trusted from memory; a revoked key (when keys can be
// revoked) stops working within it.
const cacheTTL = 30 * time.Second

type cachedKey struct {
	key     *Key
	expires time.Time
}

// NewKeyring returns a Keyring over store.
func NewKeyring(store Store, accts Accounts, tx txn.Runner, rec *audit.Recorder) *Keyring {
	return &Keyring{store: store, accounts: accts, tx: tx, audit: rec, now: time.Now}
}

const secretPrefix = "stw_"

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Create makes a key with role and name (a default name when empty) and returns the
// secret, which is never shown again. Returns errs.Invalid for a bad role or name and
// errs.Conflict for a name in use.
func (s *Keyring) Create(ctx context.Context, role principal.Role, name string) (secret string, k *Key, err error) {
	if _, err := principal.ParseRole(string(role)); err != nil {
		return "", nil, err
	}
	id := uuid.Must(uuid.NewV7()).String()
	if name == "" {
		name = string(role) + "-" + id[len(id)-8:]
	}
	if !namePattern.MatchString(name) {
		return "", nil, errs.Field("name", "must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	secret = newSecret(secretPrefix)
	k = &Key{ID: id, Name: name, Role: role, Hash: Hash(secret), CreatedAt: s.now().UTC()}
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
	return principal.Key(k.Name, k.Role, k.ID), nil
}

// key returns the key whose secret this is. Returns errs.Unauthorized for an unknown or
// malformed secret.
func (s *Keyring) key(ctx context.Context, secret string) (*Key, error) {
	if !strings.HasPrefix(secret, secretPrefix) || len(secret) > 100 {
		return nil, errs.E(errs.Unauthorized, "unknown API key")
	}
	hash := Hash(secret)
	now := s.now()
	if c, ok := s.known.Load(string(hash)); ok && now.Before(c.(cachedKey).expires) {
		return c.(cachedKey).key, nil
	}
	k, err := s.store.ByHash(ctx, hash)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, errs.E(errs.Unauthorized, "unknown API key")
	}
	if err != nil {
		return nil, err
	}
	s.known.Store(string(hash), cachedKey{key: k, expires: now.Add(cacheTTL)})
	return k, nil
}

// Hash returns the stored form of a secret.
func Hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
