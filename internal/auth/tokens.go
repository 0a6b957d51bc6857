package auth

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// Token is an end user's token: whoever holds its secret acts as its account, on the
// routes under /v1/me/ only. Every account gets one on request, a banned one too: its
// exit rights (appeal, withdraw, export) must stay reachable.
type Token struct {
	ID        string     `json:"id"`
	Account   string     `json:"account"`
	Hash      []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// How long a user token lasts: the platform asks for a lifetime within these bounds.
const (
	DefaultTokenTTL = 15 * time.Minute
	MinTokenTTL     = time.Minute
	MaxTokenTTL     = 24 * time.Hour
)

const tokenPrefix = "stu_"

// IssueToken makes a token for account lasting ttl (DefaultTokenTTL when zero) and
// returns its secret, which is never shown again. Returns errs.Invalid for a ttl out of
// bounds and errs.NotFound for an unknown account.
func (s *Keyring) IssueToken(ctx context.Context, account string, ttl time.Duration) (secret string, t *Token, err error) {
	if ttl == 0 {
		ttl = DefaultTokenTTL
	}
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return "", nil, errs.Field("ttl", "must be from %v to %v, got %v", MinTokenTTL, MaxTokenTTL, ttl)
	}
	secret = newSecret(tokenPrefix)
	now := s.now().UTC()
	t = &Token{ID: uuid.Must(uuid.NewV7()).String(), Account: account, Hash: Hash(secret),
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if _, err := s.accounts.Get(ctx, account); err != nil {
			return err
		}
		if err := s.store.CreateToken(ctx, t); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "user_token.create", Subject: account, Value: t})
	})
	if err != nil {
		return "", nil, err
	}
	return secret, t, nil
}

// RevokeToken ends the token p holds, p being an end user, and returns when. Returns
// errs.NotFound when the token is revoked already.
func (s *Keyring) RevokeToken(ctx context.Context, p principal.Principal) (time.Time, error) {
	if !p.IsUser() {
		return time.Time{}, errs.E(errs.Forbidden, "only an end user's own token can be ended this way")
	}
	now := s.now().UTC()
	return now, s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.store.RevokeToken(ctx, p.Credential, now); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "user_token.revoke", Subject: p.Account(),
			Value: map[string]any{"id": p.Credential, "revoked_at": now}})
	})
}

// authenticateToken returns the end user whose token secret this is. Tokens are not
// cached: a revoked token stops working on the next request, in every process.
func (s *Keyring) authenticateToken(ctx context.Context, secret string) (principal.Principal, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 100 {
		return principal.Principal{}, errs.E(errs.Unauthorized, "unknown user token")
	}
	t, err := s.store.TokenByHash(ctx, Hash(secret))
	switch {
	case errs.CodeOf(err) == errs.NotFound:
		return principal.Principal{}, errs.E(errs.Unauthorized, "unknown user token")
	case err != nil:
		return principal.Principal{}, err
	case t.RevokedAt != nil:
		return principal.Principal{}, errs.E(errs.Unauthorized, "this user token was ended; ask the platform for a new one")
	case !s.now().Before(t.ExpiresAt):
		return principal.Principal{}, errs.E(errs.Unauthorized, "this user token expired at %s; ask the platform for a new one", t.ExpiresAt.Format(time.RFC3339))
	}
	return principal.EndUser(t.Account, t.ID), nil
}
