package vault

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Master is the master key: a Tink AEAD keyset (AES-256-GCM) whose primary key wraps new
// data keys and whose every key unwraps those it wrapped. A rotation adds a new primary
// and, once every data key is re-wrapped under it, retires the old ones; until then both
// open what they wrapped. Safe for concurrent use.
type Master struct {
	path string // the keyset's file; "" for a key held only in memory

	mu      sync.RWMutex
	handle  *keyset.Handle
	aead    tink.AEAD
	primary uint32
	modTime time.Time // the file's, when last read
	checked time.Time // when the file was last looked at
}

// RefreshEvery is how often Wrap looks whether the key file changed (another process's
// rotation added a primary), so every process wraps under a new primary within it.
const RefreshEvery = time.Second

// NewMemoryMaster returns a new master key held only in memory: for tests and for
// wiring that has no data directory. What it wraps is lost with the process.
func NewMemoryMaster() (*Master, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("vault: generate master key: %w", err)
	}
	m := &Master{}
	return m, m.set(h)
}

// MemoryMaster returns the process's one master key held in memory, made on first use:
// the key of every Service configured without one, so that the services of several Apps
// over one test database open each other's data (as processes sharing a key file do).
var MemoryMaster = sync.OnceValues(NewMemoryMaster)

// LoadMaster reads the master keyset in the file at path (Tink's JSON keyset format).
func LoadMaster(path string) (*Master, error) {
	m := &Master{path: path}
	return m, m.Reload()
}

// LoadOrCreateMaster reads the master keyset at path, or creates one there (mode 0600)
// when there is no file yet, as the audit signing key is made.
func LoadOrCreateMaster(path string) (m *Master, created bool, err error) {
	m, err = LoadMaster(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return m, false, err
	}
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, false, fmt.Errorf("vault: generate master key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("vault: create key directory: %w", err)
	}
	// Written aside and linked into place: of two processes starting at once exactly
	// one key wins, and the other reads it.
	tmp, err := writeTemp(path, h)
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		m, err = LoadMaster(path)
		return m, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("vault: create master key: %w", err)
	}
	m = &Master{path: path}
	return m, true, m.Reload()
}

func readKeyset(path string) (*keyset.Handle, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vault: read master key: %w", err)
	}
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(b)))
	if err != nil {
		return nil, fmt.Errorf("vault: master key in %s: %w", path, err)
	}
	return h, nil
}

// writeTemp writes h beside path, mode 0600, synced, and returns the file's name.
func writeTemp(path string, h *keyset.Handle) (string, error) {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return "", fmt.Errorf("vault: encode master key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".master-key-*")
	if err != nil {
		return "", fmt.Errorf("vault: write master key: %w", err)
	}
	_, err = tmp.Write(append(buf.Bytes(), '\n'))
	if err = errors.Join(err, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("vault: write master key: %w", err)
	}
	return tmp.Name(), nil
}

func (m *Master) set(h *keyset.Handle) error {
	a, err := aead.New(h)
	if err != nil {
		return fmt.Errorf("vault: master key: %w", err)
	}
	p, err := h.Primary()
	if err != nil {
		return fmt.Errorf("vault: master key: %w", err)
	}
	m.mu.Lock()
	m.handle, m.aead, m.primary = h, a, p.KeyID()
	m.mu.Unlock()
	return nil
}

// Primary returns the ID of the key that wraps new data keys.
func (m *Master) Primary() uint32 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.primary
}

// Wrap encrypts key (bound to ad) under the primary key and returns it with that key's ID.
func (m *Master) Wrap(key, ad []byte) ([]byte, uint32, error) {
	m.refresh()
	m.mu.RLock()
	a, id := m.aead, m.primary
	m.mu.RUnlock()
	w, err := a.Encrypt(key, ad)
	if err != nil {
		return nil, 0, fmt.Errorf("vault: wrap: %w", err)
	}
	return w, id, nil
}

// Unwrap decrypts what Wrap returned, under whichever key of the keyset wrapped it. A
// key it does not know may be one another process's rotation added: it reads the file
// again once before giving up.
func (m *Master) Unwrap(wrapped, ad []byte) ([]byte, error) {
	m.mu.RLock()
	a := m.aead
	m.mu.RUnlock()
	key, err := a.Decrypt(wrapped, ad)
	if err == nil || m.path == "" || m.knows(wrapped) {
		if err != nil {
			return nil, fmt.Errorf("vault: unwrap: %w", err)
		}
		return key, nil
	}
	if err := m.Reload(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	a = m.aead
	m.mu.RUnlock()
	if key, err = a.Decrypt(wrapped, ad); err != nil {
		return nil, fmt.Errorf("vault: unwrap: %w", err)
	}
	return key, nil
}

// WrappedBy returns the ID of the key that wrapped w (Tink's 5-byte prefix).
func WrappedBy(w []byte) uint32 {
	if len(w) < 5 || w[0] != 1 {
		return 0
	}
	return binary.BigEndian.Uint32(w[1:5])
}

// knows reports whether the keyset holds the key that wrapped w.
func (m *Master) knows(w []byte) bool {
	id := WrappedBy(w)
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, k := range m.handle.KeysetInfo().GetKeyInfo() {
		if k.GetKeyId() == id {
			return true
		}
	}
	return false
}

// Reload reads the keyset's file again.
func (m *Master) Reload() error {
	if m.path == "" {
		return nil
	}
	fi, err := os.Stat(m.path)
	if err != nil {
		return fmt.Errorf("vault: read master key: %w", err)
	}
	h, err := readKeyset(m.path)
	if err != nil {
		return err
	}
	if err := m.set(h); err != nil {
		return err
	}
	m.mu.Lock()
	m.modTime, m.checked = fi.ModTime(), time.Now()
	m.mu.Unlock()
	return nil
}

// refresh reloads the file if it changed, looking at most once per RefreshEvery.
func (m *Master) refresh() {
	if m.path == "" {
		return
	}
	now := time.Now()
	m.mu.Lock()
	due := now.Sub(m.checked) >= RefreshEvery
	if due {
		m.checked = now
	}
	mod := m.modTime
	m.mu.Unlock()
	if !due {
		return
	}
	if fi, err := os.Stat(m.path); err == nil && !fi.ModTime().Equal(mod) {
		m.Reload() // on failure the keys in hand still serve; Unwrap reports what they cannot open
	}
}

// KeyIDs returns the IDs of every key in the keyset.
func (m *Master) KeyIDs() []uint32 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var ids []uint32
	for _, k := range m.handle.KeysetInfo().GetKeyInfo() {
		ids = append(ids, k.GetKeyId())
	}
	return ids
}

// AddPrimary adds a new key, makes it the primary and saves the keyset (atomically, by
// renaming a synced file over the old one); the old keys stay, still opening what they
// wrapped. It returns the new key's ID.
func (m *Master) AddPrimary() (uint32, error) {
	return m.edit(func(km *keyset.Manager) (uint32, error) {
		id, err := km.Add(aead.AES256GCMKeyTemplate())
		if err != nil {
			return 0, err
		}
		return id, km.SetPrimary(id)
	})
}

// Retire removes every key but the primary and saves the keyset: what they wrapped can
// no longer be opened.
func (m *Master) Retire() error {
	_, err := m.edit(func(km *keyset.Manager) (uint32, error) {
		for _, id := range m.KeyIDs() {
			if id != m.Primary() {
				if err := km.Delete(id); err != nil {
					return 0, err
				}
			}
		}
		return 0, nil
	})
	return err
}

func (m *Master) edit(f func(*keyset.Manager) (uint32, error)) (uint32, error) {
	m.mu.RLock()
	km := keyset.NewManagerFromHandle(m.handle)
	m.mu.RUnlock()
	id, err := f(km)
	if err != nil {
		return 0, fmt.Errorf("vault: master key: %w", err)
	}
	h, err := km.Handle()
	if err != nil {
		return 0, fmt.Errorf("vault: master key: %w", err)
	}
	if m.path != "" {
		tmp, err := writeTemp(m.path, h)
		if err != nil {
			return 0, err
		}
		if err := os.Rename(tmp, m.path); err != nil {
			os.Remove(tmp)
			return 0, fmt.Errorf("vault: save master key: %w", err)
		}
		return id, m.Reload()
	}
	return id, m.set(h)
}
