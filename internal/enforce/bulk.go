package enforce

import (
	"context"
	"slices"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// This file holds what bulk actions need of sanctions: many sanctions imposed or lifted
// in one transaction, each with the same store writes, audit entry, announcement and
// index update as a single one.

// CheckNew normalizes a sanction built elsewhere (a bulk action's template) and checks
// it as Impose would. Returns errs.Invalid naming the fields at fault.
func CheckNew(sn *Sanction) error {
	sn.normalize()
	return sn.validate()
}

// Active returns the index's entries for account that deny (or stand) at now.
func (ix *Index) Active(account string, now int64) []Entry {
	es := ix.shardOf(account).entries(account)
	var out []Entry
	for _, x := range es {
		if now >= x.Start && now < x.End {
			out = append(out, x.Entry)
		}
	}
	return out
}

// Active returns the sanctions (warnings aside) the index holds for account that stand now.
func (s *Service) Active(account string, now int64) []Entry { return s.index.Active(account, now) }

// ManyStore is what a Store may also offer to write many sanctions in few statements;
// WriteMany uses it when the store has it.
type ManyStore interface {
	// NextSeqs takes n consecutive change sequence numbers and returns the first.
	NextSeqs(ctx context.Context, n int) (first int64, err error)
	// InsertMany stores new sanctions, the i-th written at first+i. Returns
	// errs.Conflict when a sanction ID exists already.
	InsertMany(ctx context.Context, sns []*Sanction, first int64) error
	// GetMany returns the sanctions of those IDs that exist, by ID.
	GetMany(ctx context.Context, ids []string) (map[string]*Sanction, error)
	// UpdateMany replaces stored sanctions, the i-th written at seqs[i]. Each must
	// exist: read in the same transaction, after taking the sequence numbers.
	UpdateMany(ctx context.Context, sns []*Sanction, seqs []int64) error
}

// Batch is new sanctions checked, audited and announced ahead of their write
// transaction, so the encoding, hashing and rendering happen outside the committer
// every write waits on.
type Batch struct {
	sns     []*Sanction
	entries []*audit.Entry
	told    Announcement // nil: not announced
}

// Targets returns the accounts and IDs of b's sanctions, in order.
func (b *Batch) Targets() (accounts, ids []string) {
	for _, sn := range b.sns {
		accounts, ids = append(accounts, sn.Account), append(ids, sn.ID)
	}
	return accounts, ids
}

// Len returns how many sanctions b holds.
func (b *Batch) Len() int { return len(b.sns) }

// PrepareMany checks new sanctions whose every field is set by the caller (ID, times,
// author, source), makes their audit entries and prepares their announcements: webhook
// events always, and notices to the accounts when notifyUsers is set (see Change.Quiet).
// Returns errs.Invalid for a sanction that does not validate and errs.Forbidden when the
// actor in ctx may not act on its authority.
func (s *Service) PrepareMany(ctx context.Context, sns []*Sanction, notifyUsers bool) (*Batch, error) {
	changes := make([]audit.Change, len(sns))
	for i, sn := range sns {
		if err := CheckNew(sn); err != nil {
			return nil, err
		}
		if err := mayActOn(ctx, sn.Authority); err != nil {
			return nil, err
		}
		changes[i] = audit.Change{Action: "sanction.create", Subject: sn.Account, Value: sn}
	}
	entries, err := s.audit.Entries(ctx, changes...)
	if err != nil {
		return nil, err
	}
	b := &Batch{sns: sns, entries: entries}
	if s.announce == nil || len(sns) == 0 {
		return b, nil
	}
	policies := map[string]*Policy{}
	told := make([]Change, len(sns))
	for i, sn := range sns {
		p, err := s.policyCached(ctx, policies, sn.Policy)
		if err != nil {
			return nil, err
		}
		told[i] = Change{Event: Created, Sanction: sn, Policy: p, At: sn.UpdatedAt, AppealURL: s.AppealURL(sn.ID), Quiet: !notifyUsers}
	}
	if b.told, err = s.announce.Prepare(ctx, told...); err != nil {
		return nil, err
	}
	return b, nil
}

// WriteMany stores a prepared batch, each sanction with its audit entry and its
// announcement if it was prepared with one, in one write transaction (the caller's,
// when ctx holds one), and puts them into the index once it commits. Returns
// errs.Conflict when a sanction ID exists already.
func (s *Service) WriteMany(ctx context.Context, b *Batch) error {
	if len(b.sns) == 0 {
		return nil
	}
	return s.tx.Write(ctx, func(ctx context.Context) error {
		seqs, err := s.insertMany(ctx, b.sns)
		if err != nil {
			return err
		}
		written := make([]Entry, len(b.sns))
		for i, sn := range b.sns {
			written[i] = entryCopy(sn, seqs[i])
		}
		if b.told != nil {
			if err := b.told.Write(ctx); err != nil {
				return err
			}
		}
		if err := s.audit.Append(ctx, b.entries); err != nil {
			return err
		}
		s.tx.AfterCommit(ctx, func() { s.index.Apply(s.now().UnixNano(), written...) })
		return nil
	})
}

// insertMany stores sns and returns the sequence number each was written at.
func (s *Service) insertMany(ctx context.Context, sns []*Sanction) ([]int64, error) {
	seqs := make([]int64, len(sns))
	if ms, ok := s.store.(ManyStore); ok {
		first, err := ms.NextSeqs(ctx, len(sns))
		if err != nil {
			return nil, err
		}
		for i := range seqs {
			seqs[i] = first + int64(i)
		}
		return seqs, ms.InsertMany(ctx, sns, first)
	}
	for i, sn := range sns {
		seq, err := s.store.NextSeq(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.store.Insert(ctx, sn, seq); err != nil {
			return nil, err
		}
		seqs[i] = seq
	}
	return seqs, nil
}

// LiftMany lifts the sanctions with the given IDs as wrongful, with reason, in one write
// transaction (the caller's, when ctx holds one): each is audited, announced (a notice
// saying it should not have been imposed) and taken out of the index. A sanction lifted
// before is marked wrongful without moving its lift time; one lifted as wrongful already
// is left alone. It returns how many it changed. Returns errs.NotFound for an unknown ID
// and errs.Forbidden when the actor may not act on a sanction's authority.
func (s *Service) LiftMany(ctx context.Context, ids []string, reason string) (int, error) {
	if reason == "" || len(reason) > MaxText {
		return 0, errs.Field("reason", "is required, at most %d bytes", MaxText)
	}
	actor := principal.FromContext(ctx)
	n := 0
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		n = 0
		policies := map[string]*Policy{}
		var written []Entry
		var changes []audit.Change
		var told []Change
		now := s.now().UTC()
		seqs, sns, err := s.getMany(ctx, ids)
		if err != nil {
			return err
		}
		var lifted []*Sanction
		var liftedSeqs []int64
		for i, sn := range sns {
			seq := seqs[i]
			if sn.Lifted != nil && sn.Lifted.Wrongful {
				continue
			}
			if err := mayActOn(ctx, sn.Authority); err != nil {
				return err
			}
			if sn.Lifted == nil {
				sn.Lifted = &Lift{At: now, Reason: reason, Wrongful: true, By: actor}
			} else {
				sn.Lifted.Wrongful = true
			}
			if sn.Strike != nil {
				sn.Strike.Withdrawn = true
			}
			sn.UpdatedAt = now
			lifted, liftedSeqs = append(lifted, sn), append(liftedSeqs, seq)
			changes = append(changes, audit.Change{Action: "sanction.lift", Subject: sn.Account, Value: struct {
				Sanction string `json:"sanction"`
				LiftRequest
			}{sn.ID, LiftRequest{Reason: reason, Wrongful: true}}})
			if s.announce != nil {
				p, err := s.policyCached(ctx, policies, sn.Policy)
				if err != nil {
					return err
				}
				told = append(told, Change{Event: Lifted, Sanction: sn, Policy: p, At: now, AppealURL: s.AppealURL(sn.ID)})
			}
			written = append(written, entryCopy(sn, seq))
			n++
		}
		if err := s.updateMany(ctx, lifted, liftedSeqs); err != nil {
			return err
		}
		if len(told) > 0 {
			if err := s.announceNow(ctx, told...); err != nil {
				return err
			}
		}
		if len(changes) > 0 {
			if err := s.audit.Record(ctx, changes...); err != nil {
				return err
			}
		}
		s.tx.AfterCommit(ctx, func() { s.index.Apply(s.now().UnixNano(), written...) })
		return nil
	})
	return n, err
}

// getMany takes a change sequence number for each of ids, then reads their sanctions.
// Returns errs.NotFound for an unknown ID.
func (s *Service) getMany(ctx context.Context, ids []string) ([]int64, []*Sanction, error) {
	seqs, sns := make([]int64, len(ids)), make([]*Sanction, len(ids))
	ms, ok := s.store.(ManyStore)
	if !ok {
		for i, id := range ids {
			var err error
			if seqs[i], err = s.store.NextSeq(ctx); err != nil {
				return nil, nil, err
			}
			if sns[i], err = s.store.Get(ctx, id); err != nil {
				return nil, nil, err
			}
		}
		return seqs, sns, nil
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	// The numbers first: taking them holds the sequence, so nobody changes the
	// sanctions between reading and writing them.
	first, err := ms.NextSeqs(ctx, len(ids))
	if err != nil {
		return nil, nil, err
	}
	got, err := ms.GetMany(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	for i, id := range ids {
		seqs[i] = first + int64(i)
		if sns[i] = got[id]; sns[i] == nil {
			return nil, nil, errs.E(errs.NotFound, "sanction %s not found", id)
		}
	}
	return seqs, sns, nil
}

// updateMany stores changed sanctions, the i-th written at seqs[i].
func (s *Service) updateMany(ctx context.Context, sns []*Sanction, seqs []int64) error {
	if ms, ok := s.store.(ManyStore); ok && len(sns) > 0 {
		return ms.UpdateMany(ctx, sns, seqs)
	}
	for i, sn := range sns {
		if err := s.store.Update(ctx, sn, seqs[i]); err != nil {
			return err
		}
	}
	return nil
}

// policyCached returns the policy id (nil for none), reading each once per call.
func (s *Service) policyCached(ctx context.Context, cache map[string]*Policy, id string) (*Policy, error) {
	if id == "" {
		return nil, nil
	}
	if p, ok := cache[id]; ok {
		return p, nil
	}
	p, err := s.store.GetPolicy(ctx, id)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		return nil, err
	}
	cache[id] = p
	return p, nil
}

func entryCopy(sn *Sanction, seq int64) Entry {
	e := EntryOf(sn, seq)
	e.Services, e.Capabilities = slices.Clone(e.Services), slices.Clone(e.Capabilities)
	return e
}

// GetMany returns the sanctions of ids that exist, by ID, as the store holds them.
func (s *Service) GetMany(ctx context.Context, ids []string) (map[string]*Sanction, error) {
	ms, ok := s.store.(ManyStore)
	if !ok {
		out := make(map[string]*Sanction, len(ids))
		for _, id := range ids {
			sn, err := s.store.Get(ctx, id)
			if errs.CodeOf(err) == errs.NotFound {
				continue
			} else if err != nil {
				return nil, err
			}
			out[id] = sn
		}
		return out, nil
	}
	return ms.GetMany(ctx, ids)
}

// Clock returns the service's clock reading, for callers that stamp sanctions themselves.
func (s *Service) Clock() time.Time { return s.now().UTC() }

// MayActOn returns errs.Forbidden unless the actor in ctx may impose or end a sanction
// on authority a (only compliance, admins and Steward itself act on legal orders).
func MayActOn(ctx context.Context, a authority.Authority) error { return mayActOn(ctx, a) }
