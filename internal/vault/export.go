package vault

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// Export reveals the same fields of many accounts for a purpose, for a copy leaving
// Steward (a partner share): checked as Reveal checks (roles, fields, ticket), and
// counted as one reveal per account against the caller's daily limit for the purpose, so
// a share cannot carry more than the purpose lets one person see in a day. The vault
// writes no entry per account: within runs in the same write transaction, after the
// records are read, and records the export (one entry with a commitment to the set).
// Returns errs.Invalid naming the accounts without personal data, errs.TooMany beyond
// the daily limit (nothing is counted then), and what Reveal returns for req.
func (s *Service) Export(ctx context.Context, accts []string, req RevealRequest, within func(ctx context.Context) error) ([]*PII, error) {
	purpose, err := s.allowed(ctx, &req)
	if err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	day := s.now().UTC().Format(time.DateOnly)
	recs := make([]*Record, len(accts))
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		n, err := s.store.AddReveals(ctx, actor.Name, purpose.Name, day, len(accts))
		if err != nil {
			return err
		}
		if n > purpose.PerActorDaily {
			return errs.E(errs.TooMany, "%s may reveal %d records a day for purpose %q; this export of %d would make %d",
				actor.Name, purpose.PerActorDaily, purpose.Name, len(accts), n)
		}
		var fs errs.Fields
		for i, a := range accts {
			r, err := s.store.GetRecord(ctx, a)
			if errs.CodeOf(err) == errs.NotFound {
				fs.Add("accounts", "[%d] %q has no personal data", i, a)
				continue
			}
			if err != nil {
				return err
			}
			recs[i] = r
		}
		if err := fs.Err(); err != nil {
			return err
		}
		return within(ctx)
	})
	if err != nil {
		return nil, err
	}
	out := make([]*PII, len(recs))
	for i, r := range recs {
		p, err := s.open(r)
		if err != nil {
			return nil, err
		}
		out[i] = p.only(req.Fields)
	}
	return out, nil
}

// Match returns the accounts (at most MaxLookup) whose field has value, already
// normalised (see NormalizeValue), through the blind index, recording nothing: the
// caller records the search it is part of (a leak investigation's one entry).
func (s *Service) Match(ctx context.Context, field, value string) ([]string, error) {
	index, _, err := s.secrets(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.Lookup(ctx, field, blindIndex(index, field, value), MaxLookup)
}
