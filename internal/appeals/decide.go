package appeals

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// Decision is a reviewer's decision on an appeal they hold.
type Decision struct {
	Outcome Outcome   `json:"outcome"`
	Note    string    `json:"note"`
	Until   time.Time `json:"until,omitzero"` // reduce: the sanction's new end
}

func (d *Decision) check(qa bool, now time.Time) error {
	var fs errs.Fields
	switch {
	case qa && d.Outcome != Confirm && d.Outcome != Reimpose:
		fs.Add("outcome", `a released appeal under quality review is decided "confirm" or "reimpose"`)
	case !qa && d.Outcome != Uphold && d.Outcome != Overturn && d.Outcome != Reduce:
		fs.Add("outcome", `must be "uphold", "overturn" or "reduce"`)
	}
	if d.Note == "" || len(d.Note) > MaxNote {
		fs.Add("note", "is required, at most %d bytes: it tells the user why", MaxNote)
	}
	if d.Outcome == Reduce && !d.Until.After(now) {
		fs.Add("until", "is required for reduce: the sanction's new end, in the future (RFC 3339)")
	}
	if d.Outcome != Reduce && !d.Until.IsZero() {
		fs.Add("until", "only a reduce moves the sanction's end")
	}
	return fs.Err()
}

// Decide decides an appeal the reviewer in ctx holds the lease of. Overturn lifts the
// sanction as wrongful (its strike withdrawn, the apology notice); reduce moves its end;
// uphold leaves it and tells the user why, and that they may ask once for a second
// review. A released appeal under quality review is confirmed, or reimposed (the
// sanction is imposed again). Returns errs.Invalid naming the fields at fault,
// errs.Forbidden when four eyes keep the reviewer off it, errs.Conflict when the
// reviewer does not hold its lease or it is decided already, errs.NotFound.
func (s *Service) Decide(ctx context.Context, id string, d Decision) (*Appeal, error) {
	if err := CheckID("id", id); err != nil {
		return nil, err
	}
	p := principal.FromContext(ctx)
	var out *Appeal
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		ctx = context.WithValue(ctx, deciding{}, true)
		a, err := s.store.Get(ctx, id)
		if err != nil {
			return err
		}
		now := s.clock()
		qa := a.State == Released && a.QA
		if a.State != Open && !qa {
			return errs.E(errs.Conflict, "appeal %s is %s: there is nothing to decide", a.ID, a.State)
		}
		it, err := s.queue.Get(ctx, Queue, a.ID)
		if err != nil {
			return err
		}
		if err := it.MayDecide(p, now); err != nil {
			return err
		}
		if err := d.check(qa, now); err != nil {
			return err
		}
		sn, err := s.enforce.Get(ctx, a.Sanction)
		if err != nil {
			return err
		}
		if !qa && !a.Provisional && !sn.ActiveAt(now) {
			// The sanction ended or was lifted first: nothing is left to decide.
			a.State, a.UpdatedAt = Closed, now
			if err := s.finish(ctx, a, "appeal.close", EventClosed, now); err != nil {
				return err
			}
			out = a
			return nil
		}
		reason := "appeal " + a.ID + ": " + d.Note
		switch d.Outcome {
		case Overturn:
			_, err = s.enforce.LiftMany(ctx, []string{sn.ID}, reason)
		case Reduce:
			if a.Provisional {
				err = s.reimpose(ctx, a, sn, &d.Until)
			} else {
				_, err = s.enforce.Amend(ctx, sn.ID, d.Until)
			}
		case Uphold:
			if a.Provisional {
				err = s.reimpose(ctx, a, sn, nil)
			}
		case Reimpose:
			err = s.reimpose(ctx, a, sn, nil)
		}
		if err != nil {
			return err
		}
		if !qa {
			a.State = Decided
		}
		a.Outcome, a.Note, a.DecidedBy, a.DecidedAt, a.UpdatedAt = d.Outcome, d.Note, p, &now, now
		a.Reviewers = append(a.Reviewers, p)
		if d.Outcome == Reduce {
			a.Until = &d.Until
		}
		if err := s.finish(ctx, a, "appeal.decide", EventDecided, now); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// finish stores a's change, takes it out of the queue, audits and announces it.
func (s *Service) finish(ctx context.Context, a *Appeal, action, event string, now time.Time) error {
	a.Rescreen = false
	if err := s.store.Update(ctx, a); err != nil {
		return err
	}
	if err := s.queue.Remove(ctx, Queue, a.ID); err != nil {
		return err
	}
	a.Lease = nil
	if err := s.record(ctx, action, a, a); err != nil {
		return err
	}
	return s.tell(ctx, Change{Event: event, Appeal: a, At: now})
}

// reimpose imposes sn again, as it was, from now: a provisional lift or a release was
// wrong. until, when set, is its new end; otherwise it keeps what was left of it.
func (s *Service) reimpose(ctx context.Context, a *Appeal, sn *enforce.Sanction, until *time.Time) error {
	now := s.clock()
	re := &enforce.Sanction{
		ID: uuid.Must(uuid.NewV7()).String(), Account: sn.Account, Kind: sn.Kind, Scope: sn.Scope, Start: now,
		ReasonCode: sn.ReasonCode, Policy: sn.Policy, Clause: sn.Clause, Detail: sn.Detail,
		Evidence: append(append([]string{}, sn.Evidence...), "appeal:"+a.ID, "reimposes:"+sn.ID), Authority: sn.Authority,
		Source: enforce.Manual,
	}
	switch {
	case until != nil:
		re.End = until
	case sn.End != nil && sn.Lifted != nil:
		end := now.Add(sn.End.Sub(sn.Lifted.At))
		re.End = &end
	}
	if re.Kind == enforce.Ban {
		re.End = nil
	}
	_, err := s.enforce.Impose(ctx, re)
	return err
}

// Withdraw withdraws an open appeal; only its account's holder may. Returns
// errs.NotFound for another's appeal, errs.Conflict when it is not open.
func (s *Service) Withdraw(ctx context.Context, id string) (*Appeal, error) {
	return s.mine(ctx, id, func(ctx context.Context, a *Appeal, now time.Time) error {
		if a.State != Open {
			return errs.E(errs.Conflict, "appeal %s is %s: only an open appeal can be withdrawn", a.ID, a.State)
		}
		a.State, a.UpdatedAt = Withdrawn, now
		return s.finish(ctx, a, "appeal.withdraw", EventClosed, now)
	})
}

// SecondReview reopens an upheld appeal for a different reviewer; a user may ask once.
// Returns errs.NotFound for another's appeal, errs.Conflict when it was not upheld or
// had its second review.
func (s *Service) SecondReview(ctx context.Context, id string) (*Appeal, error) {
	return s.mine(ctx, id, func(ctx context.Context, a *Appeal, now time.Time) error {
		switch {
		case a.State != Decided || a.Outcome != Uphold:
			return errs.E(errs.Conflict, "appeal %s was not upheld: a second review is for an upheld appeal", a.ID)
		case a.Round > 1:
			return errs.E(errs.Conflict, "appeal %s had its second review already", a.ID)
		}
		sn, err := s.enforce.Get(ctx, a.Sanction)
		if err != nil {
			return err
		}
		if !sn.ActiveAt(now) {
			return errs.E(errs.Conflict, "sanction %s has ended: there is nothing left to review", sn.ID)
		}
		a.State, a.Round, a.Outcome, a.Note, a.DecidedBy, a.DecidedAt, a.UpdatedAt = Open, 2, "", "", principal.Principal{}, nil, now
		a.CreatedAt = now // its age in the queue starts again
		it, err := s.item(ctx, a, sn, now)
		if err != nil {
			return err
		}
		a.Rescreen = false // people only, this time
		if err := s.store.Update(ctx, a); err != nil {
			return err
		}
		if err := s.queue.Put(ctx, it); err != nil {
			return err
		}
		if err := s.record(ctx, "appeal.second_review", a, a); err != nil {
			return err
		}
		return s.tell(ctx, Change{Event: EventReopened, Appeal: a, At: now})
	})
}

// mine runs edit on the appeal id of the end user in ctx, inside a write transaction.
func (s *Service) mine(ctx context.Context, id string, edit func(ctx context.Context, a *Appeal, now time.Time) error) (*Appeal, error) {
	if err := CheckID("id", id); err != nil {
		return nil, err
	}
	p := principal.FromContext(ctx)
	var out *Appeal
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		a, err := s.store.Get(ctx, id)
		if err != nil {
			return err
		}
		if p.Account() != a.Account {
			return errs.E(errs.NotFound, "appeal %s not found", id)
		}
		if err := edit(ctx, a, s.clock()); err != nil {
			return err
		}
		out = a
		return nil
	})
	return out, err
}

// Prepare implements enforce.Announcer: a sanction lifted by anyone but appeals itself
// (a bulk action's revert, a person's lift) closes its open appeals, with a notice, in
// the lift's own transaction.
func (s *Service) Prepare(ctx context.Context, cs ...enforce.Change) (enforce.Announcement, error) {
	var lifted []string
	for _, c := range cs {
		if c.Event == enforce.Lifted {
			lifted = append(lifted, c.Sanction.ID)
		}
	}
	return closer{s, lifted}, nil
}

type closer struct {
	s      *Service
	lifted []string
}

func (c closer) Write(ctx context.Context) error {
	if len(c.lifted) == 0 || ctx.Value(deciding{}) != nil {
		return nil
	}
	open, err := c.s.store.OpenForMany(ctx, c.lifted)
	if err != nil {
		return err
	}
	now := c.s.clock()
	for _, a := range open {
		if a.Provisional {
			continue // lifted by its own deadline; people still decide
		}
		a.State, a.UpdatedAt = Closed, now
		if err := c.s.finish(ctx, a, "appeal.close", EventClosed, now); err != nil {
			return err
		}
	}
	return nil
}
