// Package auth holds API keys and the roles they carry. A key is shown once when it is
// created; Steward stores only its SHA-256 hash, which is enough for keys of 160 random
// bits and lets every request be checked with one indexed lookup.
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

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/txn"
)

// Role is what a key may do. Every route lists the roles that may call it.
type Role string

const (
	Admin      Role = "admin"      // runs Steward: keys, webhooks, everything
	Service    Role = "service"    // the platform's backends
	Reviewer   Role = "reviewer"   // decides reports and appeals
	Agent      Role = "agent"      // customer service
	Compliance Role = "compliance" // legal orders, bulk actions
	Security   Role = "security"   // leak investigations, insider alerts
	Auditor    Role = "auditor"    // reads the audit log
)

// Roles lists every role, in a stable order.
var Roles = []Role{Admin, Service, Reviewer, Agent, Compliance, Security, Auditor}

// Staff lists the roles of people and systems that may read accounts.
var Staff = Roles

// ParseRole returns the role named s. Returns errs.Invalid for an unknown name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", errs.Field("role", "must be one of %v", Roles)
}

// Key is a stored API key: everything but the secret.
type Key struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// Store keeps keys. Create must be called inside a write transaction (see package txn).
type Store interface {
	// Create stores k. Returns errs.Conflict if its name is taken.
	Create(ctx context.Context, k *Key) error
	// ByHash returns the key with this hash. Returns errs.NotFound when there is none.
	ByHash(ctx context.Context, hash []byte) (*Key, error)
}

// Keyring creates and checks keys.
type Keyring struct {
	store Store
	tx    txn.Runner
	audit *audit.Recorder
	now   func() time.Time
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
func NewKeyring(store Store, tx txn.Runner, rec *audit.Recorder) *Keyring {
	return &Keyring{store: store, tx: tx, audit: rec, now: time.Now}
}

const secretPrefix = "stw_"

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Create makes a key with role and name (a default name when empty) and returns the
// secret, which is never shown again. Returns errs.Invalid for a bad role or name and
// errs.Conflict for a name in use.
func (s *Keyring) Create(ctx context.Context, role Role, name string) (secret string, k *Key, err error) {
	if _, err := ParseRole(string(role)); err != nil {
		return "", nil, err
	}
	id := uuid.Must(uuid.NewV7()).String()
	if name == "" {
		name = string(role) + "-" + id[len(id)-8:]
	}
	if !namePattern.MatchString(name) {
		return "", nil, errs.Field("name", "must be 1 to 64 letters, digits, '.', '_' or '-'")
	}
	var raw [20]byte
	rand.Read(raw[:])
	secret = secretPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:]))
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

// Authenticate returns the key whose secret this is. Returns errs.Unauthorized for an
// unknown or malformed secret.
func (s *Keyring) Authenticate(ctx context.Context, secret string) (*Key, error) {
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
