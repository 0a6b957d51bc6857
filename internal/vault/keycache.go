package vault

import (
	"bytes"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"
)

// keyCache holds the ciphers of recently opened data keys, so that a read does not
// unwrap its account's data key under the master key and expand it again every time.
// An entry is found by account and the wrapped key's exact bytes: after a Put (a new
// data key) or a rotation (new wrapped bytes) the old entry is never used again, and
// Erase drops the account's entry, so a destroyed key does not live on in memory. It
// holds at most max entries in two generations: when the current one is full it becomes
// the old one and the old one is dropped; an entry used from the old one moves back.
// Entries also lapse after keyCacheTTL, so a key erased through another process sharing
// the database leaves this one's memory within it.
type keyCache struct {
	mu       sync.Mutex
	max      int
	cur, old map[string]cachedCipher
}

// keyCacheTTL is how long an opened data key is kept at most.
const keyCacheTTL = 5 * time.Minute

// DefaultKeyCache is how many accounts' opened data keys a Service keeps by default.
const DefaultKeyCache = 10_000

type cachedCipher struct {
	wrapped []byte
	aead    *subtle.AESGCM
	expires time.Time
}

// newKeyCache returns a cache of up to max ciphers; nil (caching nothing) when max < 1.
func newKeyCache(max int) *keyCache {
	if max < 1 {
		return nil
	}
	return &keyCache{max: max, cur: map[string]cachedCipher{}, old: map[string]cachedCipher{}}
}

// get returns the cipher of account's data key wrapped as wrapped, or nil.
func (c *keyCache) get(account string, wrapped []byte, now time.Time) *subtle.AESGCM {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cur[account]
	if !ok {
		if e, ok = c.old[account]; ok {
			delete(c.old, account)
			c.add(account, e)
		}
	}
	if !ok || !bytes.Equal(e.wrapped, wrapped) || !now.Before(e.expires) {
		return nil
	}
	return e.aead
}

// put keeps the cipher of account's data key wrapped as wrapped.
func (c *keyCache) put(account string, wrapped []byte, a *subtle.AESGCM, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.add(account, cachedCipher{wrapped: bytes.Clone(wrapped), aead: a, expires: now.Add(keyCacheTTL)})
}

func (c *keyCache) add(account string, e cachedCipher) {
	if _, ok := c.cur[account]; !ok && len(c.cur) >= (c.max+1)/2 {
		c.old, c.cur = c.cur, make(map[string]cachedCipher, len(c.cur))
	}
	c.cur[account] = e
}

// drop forgets account's cipher.
func (c *keyCache) drop(account string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cur, account)
	delete(c.old, account)
}

// len returns how many ciphers c holds, for tests.
func (c *keyCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}
