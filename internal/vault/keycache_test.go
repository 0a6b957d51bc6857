package vault

import (
	"fmt"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"
)

// The cache holds at most its bound, answers only for the exact wrapped bytes it was
// given, lapses after keyCacheTTL and forgets an account on drop.
func TestKeyCache(t *testing.T) {
	g, err := subtle.NewAESGCM(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newKeyCache(100)
	for i := range 1000 {
		c.put(fmt.Sprint("a-", i), []byte{byte(i)}, g, now)
		if c.len() > 100 {
			t.Fatalf("%d ciphers after %d puts, bound 100", c.len(), i+1)
		}
	}
	c.put("a", []byte("w1"), g, now)
	if c.get("a", []byte("w1"), now) != g {
		t.Fatal("a cipher just put is not found")
	}
	if c.get("a", []byte("w2"), now) != nil {
		t.Fatal("found for other wrapped bytes (a new data key, or a rotation)")
	}
	if c.get("a", []byte("w1"), now.Add(keyCacheTTL)) != nil {
		t.Fatal("found after its TTL")
	}
	// An entry read from the old generation survives the next turnover.
	c.put("kept", []byte("w"), g, now)
	for i := range 49 {
		c.put(fmt.Sprint("b-", i), nil, g, now)
	}
	if c.get("kept", []byte("w"), now) != g {
		t.Fatal("lost from the old generation")
	}
	c.drop("kept")
	if c.get("kept", []byte("w"), now) != nil {
		t.Fatal("found after drop")
	}
	if newKeyCache(-1).get("a", nil, now) != nil || newKeyCache(0) != nil {
		t.Fatal("a cache of no entries holds one")
	}
}
