package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// countingStore is a Store in memory that counts lookups.
type countingStore struct {
	Store   // user tokens: not used here
	keys    map[string]*Key
	lookups int
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
	ring := &Keyring{store: store, now: func() time.Time { return now }}
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
