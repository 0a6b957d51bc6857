package vault

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"

	"github.com/stewardhq/steward/internal/errs"
)

// The vault's own keys besides the master key: the index, commitment and seal keys,
// each 32 random bytes stored wrapped by the master key.

// Secret names.
const (
	secretIndex  = "index"
	secretCommit = "commit"
	secretSeal   = "seal"
)

// secretAD and wrapAD bind a wrapped key to what it is for, so one cannot be passed
// off as another. A secret's "account" begins with #, which no account ID does.
func secretAD(name string) string { return "#" + name }

func wrapAD(account string) []byte { return []byte("steward/vault/key:" + account) }

// Start loads the index and commitment keys, making them the first time. It fails when
// the master key cannot open them: a master key file that is not the one they were
// made under.
func (s *Service) Start(ctx context.Context) error {
	_, _, err := s.secrets(ctx)
	return err
}

func (s *Service) secrets(ctx context.Context) (index, commit []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.indexKey != nil {
		return s.indexKey, s.commitKey, nil
	}
	if index, err = s.secret(ctx, secretIndex); err != nil {
		return nil, nil, err
	}
	if commit, err = s.secret(ctx, secretCommit); err != nil {
		return nil, nil, err
	}
	seal, err := s.secret(ctx, secretSeal)
	if err != nil {
		return nil, nil, err
	}
	s.indexKey, s.commitKey, s.sealKey = index, commit, seal
	return index, commit, nil
}

// sealedPrefix marks a value SealSecret sealed.
const sealedPrefix = "vault:v1:"

// SealSecret seals a secret Steward must keep and use again (a webhook's signing
// secret), bound to what it is for (e.g. "webhook:" and the webhook's name), under the
// seal key the master key wraps; OpenSecret opens it.
func (s *Service) SealSecret(ctx context.Context, purpose, secret string) (string, error) {
	if _, _, err := s.secrets(ctx); err != nil {
		return "", err
	}
	g, err := subtle.NewAESGCM(s.sealKey)
	if err != nil {
		return "", fmt.Errorf("vault: seal key: %w", err)
	}
	ct, err := g.Encrypt([]byte(secret), []byte(purpose))
	if err != nil {
		return "", fmt.Errorf("vault: seal: %w", err)
	}
	return sealedPrefix + base64.StdEncoding.EncodeToString(ct), nil
}

// OpenSecret opens what SealSecret sealed for purpose; a value it did not seal (one
// stored before secrets were sealed) is returned as it is.
func (s *Service) OpenSecret(ctx context.Context, purpose, sealed string) (string, error) {
	b64, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return sealed, nil
	}
	if _, _, err := s.secrets(ctx); err != nil {
		return "", err
	}
	ct, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("vault: open %s: %w", purpose, err)
	}
	g, err := subtle.NewAESGCM(s.sealKey)
	if err != nil {
		return "", fmt.Errorf("vault: seal key: %w", err)
	}
	plain, err := g.Decrypt(ct, []byte(purpose))
	if err != nil {
		return "", fmt.Errorf("vault: open %s: %w", purpose, err)
	}
	return string(plain), nil
}

func (s *Service) secret(ctx context.Context, name string) ([]byte, error) {
	sec, err := s.store.GetSecret(ctx, name)
	if errs.CodeOf(err) == errs.NotFound {
		key := make([]byte, 32)
		rand.Read(key)
		w, id, werr := s.master.Wrap(key, wrapAD(secretAD(name)))
		if werr != nil {
			return nil, werr
		}
		err = s.tx.Write(ctx, func(ctx context.Context) error {
			return s.store.AddSecret(ctx, &Secret{Name: name, MasterKey: id, Wrapped: w})
		})
		if err == nil {
			return key, nil
		}
		if errs.CodeOf(err) == errs.Conflict { // another process made it first
			sec, err = s.store.GetSecret(ctx, name)
		}
	}
	if err != nil {
		return nil, err
	}
	key, err := s.master.Unwrap(sec.Wrapped, wrapAD(secretAD(name)))
	if err != nil {
		return nil, fmt.Errorf("vault: the master key does not open the %s key: is it the key this database was made with? %w", name, err)
	}
	return key, nil
}

// Commitment returns the account's commitment: "pii:" and the hex HMAC-SHA256 of its ID
// under the commitment key. Audit entries of the vault name it as their subject.
func (s *Service) Commitment(ctx context.Context, account string) (string, error) {
	_, commit, err := s.secrets(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, commit)
	m.Write([]byte(account))
	return "pii:" + hex.EncodeToString(m.Sum(nil)), nil
}

// blindIndex returns the blind-index hash of a normalised value of field.
func blindIndex(key []byte, field, value string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(field))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return m.Sum(nil)
}
