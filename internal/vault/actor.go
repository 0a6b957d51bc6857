package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// ActorNames says how the vault's audit entries name the member of staff who acted.
// Those entries are what a user's access log shows, leaf bytes and all, so the choice
// is made when an entry is written: no reader can be shown less than its leaf holds.
type ActorNames string

// The platform's choices (serve --access-log-names).
const (
	// NamesPseudonym names staff by a stable pseudonym ("staff-" and 8 hex digits of an
	// HMAC of who they are under a key derived from the vault's commitment key): the same
	// person has the same pseudonym in every entry, and only Steward can tell who it is.
	NamesPseudonym ActorNames = "pseudonym"
	NamesName      ActorNames = "name" // the key's name, in clear
	NamesNone      ActorNames = "none" // role and team only
)

// ParseActorNames returns the choice named s. Returns errs.Invalid for any other.
func ParseActorNames(s string) (ActorNames, error) {
	switch n := ActorNames(s); n {
	case NamesPseudonym, NamesName, NamesNone:
		return n, nil
	}
	return "", errs.Field("access-log-names", "must be pseudonym, name or none, not %q", s)
}

// pseudonymLabel derives the pseudonym key from the commitment key.
const pseudonymLabel = "steward/vault/pseudonym"

// Pseudonym returns the pseudonym of p under NamesPseudonym: "staff-" and 8 hex digits
// of an HMAC of p's identity (see principal.Identity), so a key rotated or given another
// role keeps it.
func (s *Service) Pseudonym(ctx context.Context, p principal.Principal) (string, error) {
	_, commit, err := s.secrets(ctx)
	if err != nil {
		return "", err
	}
	k := hmac.New(sha256.New, commit)
	k.Write([]byte(pseudonymLabel))
	m := hmac.New(sha256.New, k.Sum(nil))
	m.Write([]byte(p.Identity()))
	return "staff-" + hex.EncodeToString(m.Sum(nil))[:8], nil
}

// recorded returns ctx with its principal as the vault's entries record it: a member of
// staff named as the platform chose, with their role and team; anyone else as they are.
func (s *Service) recorded(ctx context.Context) (context.Context, error) {
	p := principal.FromContext(ctx)
	if !p.IsStaff() || s.names == NamesName {
		return ctx, nil
	}
	shown := principal.Principal{Role: p.Role, Team: p.Team}
	if s.names == NamesPseudonym {
		var err error
		if shown.Name, err = s.Pseudonym(ctx, p); err != nil {
			return nil, err
		}
		if err := s.recordActor(ctx, shown.Name, p); err != nil {
			return nil, err
		}
	}
	return principal.NewContext(ctx, shown), nil
}

// recordActor records who pseudonym is (see WhoIs), once per person per process. It
// runs before the entries that name the pseudonym are written: in the caller's write
// transaction when there is one, else in one of its own. Either way the mapping commits
// no later than the first entry naming it, so every pseudonym an entry holds can be
// named; a mapping whose entry then fails is harmless (it names nobody's data). The
// process learns it is recorded only once that commits.
func (s *Service) recordActor(ctx context.Context, pseudonym string, p principal.Principal) error {
	if _, ok := s.actors.Load(pseudonym); ok {
		return nil
	}
	return s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.store.PutActor(ctx, pseudonym, p, s.now().UTC()); err != nil {
			return err
		}
		s.tx.AfterCommit(ctx, func() { s.actors.Store(pseudonym, true) })
		return nil
	})
}

// WhoIs returns the member of staff that pseudonym names in the vault's entries, with
// the role and team they were first recorded in: for security's investigations alone
// (a user's access log shows the pseudonym, never this). Returns errs.Forbidden for a
// caller not in the security role (nor Steward itself), errs.NotFound for a pseudonym
// the vault never recorded.
func (s *Service) WhoIs(ctx context.Context, pseudonym string) (principal.Principal, error) {
	if p := principal.FromContext(ctx); p.Role != principal.Security && !p.IsSystem() {
		return principal.Principal{}, errs.E(errs.Forbidden, "only security may learn who a pseudonym is")
	}
	return s.store.GetActor(ctx, pseudonym)
}
