package ledger

import (
	"context"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// mayHold returns errs.Forbidden unless the actor in ctx may place or release a hold
// on authority kind k: compliance acts on legal orders, security (and compliance) on
// platform risk; admins and Steward itself on both.
func mayHold(ctx context.Context, k authority.Kind) error {
	switch principal.FromContext(ctx).Role {
	case principal.Admin, principal.System, principal.Compliance:
		return nil
	case principal.Security:
		if k != authority.LegalOrder {
			return nil
		}
	}
	if k == authority.LegalOrder {
		return errs.E(errs.Forbidden, "only compliance holds and releases funds under a legal order")
	}
	return errs.E(errs.Forbidden, "only security and compliance hold and release funds for platform risk")
}

// PlaceHold holds r's amount (or all) of the account's wallet in r's currency, opening
// the wallet if it has none yet. Returns errs.Invalid naming every field at fault
// (and an account that does not exist), errs.Forbidden when the caller may not act on
// its authority.
func (s *Service) PlaceHold(ctx context.Context, r HoldRequest) (*Hold, error) {
	now := s.now().UTC()
	if err := r.validate(now); err != nil {
		return nil, err
	}
	if err := mayHold(ctx, r.Authority.Kind); err != nil {
		return nil, err
	}
	h := &Hold{ID: newID(), Account: r.Account, Currency: r.Currency, All: r.All, Amount: r.Amount, Authority: r.Authority,
		Reason: r.Reason, ExpiresAt: r.ExpiresAt, Author: principal.FromContext(ctx), CreatedAt: now}
	if h.All {
		h.Amount = 0
	}
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		return s.placeHold(ctx, h)
	})
	if err != nil {
		return nil, err
	}
	return h, nil
}

// placeHold writes h inside the caller's transaction, with the wallet locked: a
// withdrawal committed after it sees it.
func (s *Service) placeHold(ctx context.Context, h *Hold) error {
	b, err := s.lock(ctx, []WalletKey{{UserName(h.Account), h.Currency}}, h.CreatedAt)
	if err != nil {
		if errs.CodeOf(err) == errs.Invalid {
			return errs.Field("account", "no account %q", h.Account)
		}
		return err
	}
	w := b.wallets[WalletKey{UserName(h.Account), h.Currency}]
	h.Wallet = w.ID
	w.Holds++
	if err := s.store.InsertHold(ctx, h); err != nil {
		return err
	}
	if err := s.store.UpdateWallets(ctx, []*Wallet{w}); err != nil {
		return err
	}
	if err := s.audit.Record(ctx, audit.Change{Action: "ledger.hold", Subject: h.Account, Value: h}); err != nil {
		return err
	}
	return s.announce(ctx, HoldNotice{Event: HoldPlaced, Hold: h, At: h.CreatedAt})
}

// Hold returns the hold. Returns errs.NotFound when there is none.
func (s *Service) Hold(ctx context.Context, id string) (*Hold, error) {
	if !validUUID(id) {
		return nil, errs.E(errs.NotFound, "hold %q not found", id)
	}
	return s.store.GetHold(ctx, id)
}

// ReleaseRequest is what a release is asked with: all of the hold, or Amount of it.
type ReleaseRequest struct {
	All    bool
	Amount int64
	Reason string
}

// RequestRelease releases some or all of hold id: at once for a platform risk hold, and
// for a legal order's once a second person approves it (see ApproveRelease). Returns
// errs.NotFound, errs.Invalid naming the fields at fault, errs.Forbidden when the caller
// may not act on its authority, errs.Conflict for a hold released already.
func (s *Service) RequestRelease(ctx context.Context, id string, r ReleaseRequest) (*Release, error) {
	var fs errs.Fields
	if !r.All {
		checkAmount(&fs, "amount", r.Amount)
	}
	if r.Reason == "" || len(r.Reason) > MaxReason {
		fs.Add("reason", "is required: at most %d bytes saying why", MaxReason)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	h, err := s.Hold(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayHold(ctx, h.Authority.Kind); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	rel := &Release{ID: newID(), Hold: id, All: r.All, Amount: r.Amount, Reason: r.Reason, State: Requested,
		RequestedBy: principal.FromContext(ctx), CreatedAt: now}
	if r.All {
		rel.Amount = 0
	}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		h, err := s.store.GetHold(ctx, id) // again, in the transaction
		if err != nil {
			return err
		}
		switch {
		case h.ReleasedAt != nil:
			return errs.E(errs.Conflict, "hold %s is released already", id)
		case h.All && !r.All:
			return errs.Field("amount", `must be "all": the hold holds all of the wallet`)
		case !h.All && !r.All && r.Amount > h.Amount:
			return errs.Field("amount", "is more than the %d the hold still holds", h.Amount)
		}
		if h.Authority.Kind == authority.LegalOrder {
			if err := s.store.InsertRelease(ctx, rel); err != nil {
				return err
			}
			return s.audit.Record(ctx, audit.Change{Action: "ledger.release.request", Subject: h.Account, Value: rel})
		}
		return s.apply(ctx, h, rel, true)
	})
	if err != nil {
		return nil, err
	}
	return rel, nil
}

// ApproveRelease applies the requested release rid of hold id, approved by the caller,
// who must not be its requester. Returns errs.NotFound, errs.Forbidden (the requester,
// or a caller who may not act on the hold's authority), errs.Conflict when it is
// applied already or the hold is released.
func (s *Service) ApproveRelease(ctx context.Context, id, rid string) (*Release, error) {
	h, err := s.Hold(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayHold(ctx, h.Authority.Kind); err != nil {
		return nil, err
	}
	var rel *Release
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		var err error
		if rel, err = s.release(ctx, id, rid); err != nil {
			return err
		}
		h, err := s.store.GetHold(ctx, id)
		if err != nil {
			return err
		}
		if h.ReleasedAt != nil {
			return errs.E(errs.Conflict, "hold %s is released already", id)
		}
		me := principal.FromContext(ctx)
		if me.Is(rel.RequestedBy) {
			return errs.E(errs.Forbidden, "a release of a legal order's hold is approved by someone other than %s, who asked for it", rel.RequestedBy)
		}
		rel.ApprovedBy = &me
		return s.apply(ctx, h, rel, false)
	})
	if err != nil {
		return nil, err
	}
	return rel, nil
}

// release returns the requested release rid of hold id.
func (s *Service) release(ctx context.Context, id, rid string) (*Release, error) {
	if !validUUID(rid) {
		return nil, errs.E(errs.NotFound, "release %q not found", rid)
	}
	rel, err := s.store.GetRelease(ctx, rid)
	if err != nil {
		return nil, err
	}
	if rel.Hold != id {
		return nil, errs.E(errs.NotFound, "release %s is not of hold %s", rid, id)
	}
	if rel.State != Requested {
		return nil, errs.E(errs.Conflict, "release %s is %s already", rid, rel.State)
	}
	return rel, nil
}

// apply frees what rel releases of h, with h's wallet locked, and stores both.
func (s *Service) apply(ctx context.Context, h *Hold, rel *Release, insert bool) error {
	now := s.now().UTC()
	b, err := s.lock(ctx, []WalletKey{{UserName(h.Account), h.Currency}}, now)
	if err != nil {
		return err
	}
	w := b.wallets[WalletKey{UserName(h.Account), h.Currency}]
	if rel.All || rel.Amount >= h.Amount {
		h.Amount, h.ReleasedAt = 0, &now
		w.Holds--
		if err := s.store.UpdateWallets(ctx, []*Wallet{w}); err != nil {
			return err
		}
	} else {
		h.Amount -= rel.Amount
	}
	rel.State, rel.AppliedAt = Applied, &now
	if err := s.store.UpdateHold(ctx, h); err != nil {
		return err
	}
	if insert {
		err = s.store.InsertRelease(ctx, rel)
	} else {
		err = s.store.UpdateRelease(ctx, rel)
	}
	if err != nil {
		return err
	}
	if err := s.audit.Record(ctx, audit.Change{Action: "ledger.release", Subject: h.Account, Value: rel}); err != nil {
		return err
	}
	return s.announce(ctx, HoldNotice{Event: HoldReleased, Hold: h, Release: rel, At: now})
}
