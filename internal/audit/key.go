package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Key is the log's signing key: an Ed25519 key in the signed-note format of
// golang.org/x/mod/sumdb/note. Its name is the log's origin, the first line of every
// checkpoint.
type Key struct {
	Signer      note.Signer
	VerifierKey string // "name+hash+key", public
}

// Origin returns the log's origin line: the key's name.
func (k *Key) Origin() string { return k.Signer.Name() }

// ParseKey parses a note signer key ("PRIVATE+KEY+name+hash+key").
func ParseKey(skey string) (*Key, error) {
	skey = strings.TrimSpace(skey)
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("audit: signing key: %w", err)
	}
	// The key is PRIVATE+KEY+name+hash+base64(1 ‖ Ed25519 seed); note.NewSigner checked it.
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, errors.New("audit: signing key: not an Ed25519 key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("audit: verifier key: %w", err)
	}
	return &Key{Signer: signer, VerifierKey: vkey}, nil
}

// LoadKey reads the signing key in the file at path.
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read signing key: %w", err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// LoadOrCreateKey reads the signing key at path, or creates one there (mode 0600) named
// steward.audit/ and eight random hex digits when there is no file yet.
func LoadOrCreateKey(path string) (k *Key, created bool, err error) {
	k, err = LoadKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	var b [4]byte
	rand.Read(b[:])
	skey, _, err := note.GenerateKey(rand.Reader, "steward.audit/"+hex.EncodeToString(b[:]))
	if err != nil {
		return nil, false, fmt.Errorf("audit: generate signing key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("audit: create key directory: %w", err)
	}
	// Written aside and linked into place, so a process starting at the same time either
	// finds no key or a whole one, and exactly one key wins.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".audit-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("audit: create signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(skey + "\n")
	if err = errors.Join(err, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return nil, false, fmt.Errorf("audit: write signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		k, err = LoadKey(path)
		return k, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("audit: create signing key: %w", err)
	}
	k, err = ParseKey(skey)
	return k, err == nil, err
}
