package ledger

import (
	"context"
	"strconv"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// This file holds what a bulk action needs of holds: many placed in its batch's
// transaction, each with an ID the action chose, and released again by its revert.

// HoldMany places a hold for each request, with the ID of the same index, inside the
// caller's write transaction; a hold whose ID exists already is left as it is (a batch
// run again places none twice). Each is checked, audited and announced as PlaceHold
// does. Returns errs.Invalid naming the request at fault ("holds[3].currency"),
// errs.Forbidden when the caller may not act on an authority.
func (s *Service) HoldMany(ctx context.Context, ids []string, reqs []HoldRequest) error {
	now := s.now().UTC()
	for i := range reqs {
		if err := reqs[i].validate(now); err != nil {
			return errs.Fields(errs.FieldsOf(err)).Prefix("holds[" + strconv.Itoa(i) + "].").Err()
		}
		if err := mayHold(ctx, reqs[i].Authority.Kind); err != nil {
			return err
		}
	}
	return s.tx.Write(ctx, func(ctx context.Context) error {
		for i, r := range reqs {
			if _, err := s.store.GetHold(ctx, ids[i]); err == nil {
				continue
			} else if errs.CodeOf(err) != errs.NotFound {
				return err
			}
			h := &Hold{ID: ids[i], Account: r.Account, Currency: r.Currency, All: r.All, Amount: r.Amount, Authority: r.Authority,
				Reason: r.Reason, ExpiresAt: r.ExpiresAt, Author: principal.FromContext(ctx), CreatedAt: now}
			if h.All {
				h.Amount = 0
			}
			if err := s.placeHold(ctx, h); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReleaseMany asks for the release of all of each hold of ids that exists and still
// holds, inside the caller's write transaction, as RequestRelease does: a platform-risk
// hold is released at once, a legal order's waits for a second person's approval. It
// returns how many it asked for.
func (s *Service) ReleaseMany(ctx context.Context, ids []string, reason string) (int, error) {
	n := 0
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		n = 0
		for _, id := range ids {
			h, err := s.store.GetHold(ctx, id)
			if errs.CodeOf(err) == errs.NotFound {
				continue
			} else if err != nil {
				return err
			}
			if h.ReleasedAt != nil {
				continue
			}
			if _, err := s.RequestRelease(ctx, id, ReleaseRequest{All: true, Reason: reason}); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}
