package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// countingStore is a Store in memory that counts lookups.
type countingStore struct {
	Store   // user tokens: not used here
	keys    map[string]*Key
	lookups int
	touches int
	full    bool // Touch fails, as on a full disk
}

func (s *countingStore) Touch(context.Context, string, time.Time) error {
	s.touches++
	if s.full {
		return errs.E(errs.Unavailable, "storage full")
	}
	return nil
}

func (s *countingStore) Create(_ context.Context, k *Key) error {
	s.keys[string(k.Hash)] = k
	return nil
}

func (s *countingStore) ByHash(_ context.Context, hash []byte) (*Key, error) {
	s.lookups++
	if k, ok := s.keys[string(hash)]; ok {
		return k, nil
	}
	return nil, errs.E(errs.NotFound, "no such key")
}

func TestAuthenticateCachesKnownKeysForAWhile(t *testing.T) {
	store := &countingStore{keys: map[string]*Key{}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ring := &Keyring{store: store, tx: inline{}, now: func() time.Time { return now }}
	secret := "stw_abcdefghijklmnopqrstuvwxyz234567"
	store.keys[string(Hash(secret))] = &Key{ID: "k1", Name: "backend", Role: principal.Service}
	ctx := context.Background()

	for range 3 {
		p, err := ring.Authenticate(ctx, secret)
		if err != nil || p.Credential != "k1" || p.Name != "backend" || p.Role != principal.Service {
			t.Fatalf("authenticate: %+v, %v", p, err)
		}
	}
	if store.lookups != 1 {
		t.Fatalf("%d store lookups for 3 requests within the TTL, want 1", store.lookups)
	}
	now = now.Add(cacheTTL + time.Second)
	if _, err := ring.Authenticate(ctx, secret); err != nil || store.lookups != 2 {
		t.Fatalf("after the TTL: err=%v, lookups=%d, want a fresh lookup", err, store.lookups)
	}
	for range 2 {
		if _, err := ring.Authenticate(ctx, "stw_unknown"); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("unknown key: %v", err)
		}
	}
	if store.lookups != 4 {
		t.Fatalf("unknown keys must not be cached (a typo fixed must work at once): %d lookups", store.lookups)
	}
}

// tokenStore is a Store of user tokens in memory, over accounts that all exist.
type tokenStore struct {
	Store  // keys: not used here
	tokens map[string]*Token
}

func (s *tokenStore) CreateToken(_ context.Context, t *Token) error {
	s.tokens[string(t.Hash)] = t
	return nil
}

func (s *tokenStore) TokenByHash(_ context.Context, hash []byte) (*Token, error) {
	if t, ok := s.tokens[string(hash)]; ok {
		c := *t
		return &c, nil
	}
	return nil, errs.E(errs.NotFound, "no such token")
}

func (s *tokenStore) RevokeToken(_ context.Context, id string, at time.Time) error {
	for _, t := range s.tokens {
		if t.ID == id && t.RevokedAt == nil {
			t.RevokedAt = &at
			return nil
		}
	}
	return errs.E(errs.NotFound, "no such token")
}

type anyAccount struct{}

func (anyAccount) Get(_ context.Context, id string) (*accounts.Account, error) {
	return &accounts.Account{ID: id}, nil
}

type inline struct{}

func (inline) Write(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
func (inline) AfterCommit(_ context.Context, f func())                         { f() }

type nowhere struct{}

func (nowhere) Append(context.Context, []*audit.Entry) error { return nil }

// A user token works until the instant it expires, and not after; it is looked up on
// every request, so its end is seen at once.
func TestUserTokenExpires(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	store := &tokenStore{tokens: map[string]*Token{}}
	ring := NewKeyring(store, anyAccount{}, inline{}, audit.NewRecorder(nowhere{}))
	ring.now = func() time.Time { return now }
	ctx := context.Background()
	secret, tok, err := ring.IssueToken(ctx, "u-1", MinTokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	now = tok.ExpiresAt.Add(-time.Nanosecond)
	if p, err := ring.Authenticate(ctx, secret); err != nil || p.Account() != "u-1" {
		t.Fatalf("just before expiry: %+v, %v", p, err)
	}
	now = tok.ExpiresAt
	if _, err := ring.Authenticate(ctx, secret); errs.CodeOf(err) != errs.Unauthorized || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("at expiry: %v, want unauthorized, saying it expired", err)
	}
	if _, err := ring.Authenticate(ctx, "stu_"+strings.Repeat("a", 200)); errs.CodeOf(err) != errs.Unauthorized {
		t.Fatalf("an overlong secret: %v", err)
	}
	if _, err := ring.RevokeToken(ctx, principal.Key("backend", principal.Service, "k1")); errs.CodeOf(err) != errs.Forbidden {
		t.Fatalf("a staff key ending a user token: %v, want forbidden", err)
	}
}

// A key in memory is still checked against its expiry on every request, and its
// last_used_at is written once a minute at most, not once a request.
func TestCachedKeyExpiresAndIsTouchedOnceAMinute(t *testing.T) {
	store := &countingStore{keys: map[string]*Key{}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ring := &Keyring{store: store, tx: inline{}, now: func() time.Time { return now }}
	secret := "stw_abcdefghijklmnopqrstuvwxyz234567"
	expires := now.Add(cacheTTL / 2)
	store.keys[string(Hash(secret))] = &Key{ID: "k1", Name: "backend", Role: principal.Service, ExpiresAt: &expires}
	ctx := context.Background()
	for range 5 {
		if _, err := ring.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	if store.touches != 1 {
		t.Fatalf("%d last_used_at writes for 5 requests, want 1", store.touches)
	}
	now = expires
	if _, err := ring.Authenticate(ctx, secret); errs.CodeOf(err) != errs.Unauthorized || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("a cached key at its expiry: %v, want unauthorized saying it expired", err)
	}
	if store.lookups != 1 {
		t.Fatalf("%d lookups, want the expiry seen from the cache", store.lookups)
	}
	store.keys[string(Hash(secret))].ExpiresAt = nil
	now = now.Add(touchEvery)
	if _, err := ring.Authenticate(ctx, secret); err != nil || store.touches != 2 {
		t.Fatalf("a minute later: %v, %d touches, want 2", err, store.touches)
	}
}

func TestParseTTL(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseTTL(in); err != nil || got != want {
			t.Errorf("ParseTTL(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "-1d", "1.5d", "d", "0s", "-3h", "abc", "36501d"} {
		if _, err := ParseTTL(in); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("ParseTTL(%q): %v, want invalid", in, err)
		}
	}
}

// A last_used_at write that fails is not tried again on every request: a database
// refusing writes would otherwise take one per request.
func TestFailedTouchWaitsAMinute(t *testing.T) {
	store := &countingStore{keys: map[string]*Key{}, full: true}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ring := &Keyring{store: store, tx: inline{}, now: func() time.Time { return now }}
	secret := "stw_abcdefghijklmnopqrstuvwxyz234567"
	store.keys[string(Hash(secret))] = &Key{ID: "k1", Name: "backend", Role: principal.Service}
	for range 3 {
		if _, err := ring.Authenticate(context.Background(), secret); err != nil {
			t.Fatalf("a failed last_used_at write refused the request: %v", err)
		}
	}
	if store.touches != 1 {
		t.Fatalf("%d write attempts for 3 requests, want 1", store.touches)
	}
}
