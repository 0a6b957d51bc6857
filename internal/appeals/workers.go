package appeals

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/review"
)

// rescreenBatch is how many appeals one re-screening transaction settles.
const rescreenBatch = 500

// Rescreener is the worker that re-screens appeals against bulk actions' sanctions.
type Rescreener struct{ s *Service }

// Timer is the worker that marks appeals past their deadline.
type Timer struct{ s *Service }

// Rescreener returns the re-screening worker.
func (s *Service) Rescreener() *Rescreener { return &Rescreener{s} }

// Timer returns the SLA timer worker.
func (s *Service) Timer() *Timer { return &Timer{s} }

// Run re-screens appeals as they are filed (and those filed through other processes,
// every Poll) until ctx ends.
func (r *Rescreener) Run(ctx context.Context) error {
	return r.s.loop(ctx, r.s.wake, func(ctx context.Context) (bool, error) {
		n, err := r.s.RescreenOnce(ctx)
		return n == rescreenBatch, err
	})
}

// Run marks appeals whose deadline passed, every Poll, until ctx ends.
func (t *Timer) Run(ctx context.Context) error {
	return t.s.loop(ctx, nil, func(ctx context.Context) (bool, error) {
		n, err := t.s.BreachOnce(ctx)
		return n == rescreenBatch, err
	})
}

// loop calls step until ctx ends: again at once while it says there is more, else
// after Poll or a wake-up; a failing step is logged and retried after a back-off.
func (s *Service) loop(ctx context.Context, wake <-chan struct{}, step func(ctx context.Context) (more bool, err error)) error {
	back := s.poll
	for {
		more, err := step(ctx)
		wait := s.poll
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.log.Error("appeals: worker step failed", "err", err, "retry_in", back)
			wait, back = back, min(back*2, time.Minute)
		case more:
			back = s.poll
			continue
		default:
			back = s.poll
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// RescreenOnce re-screens up to a batch of appeals waiting for it, in one transaction,
// and returns how many. A spared account's appeal is released: its sanction is lifted as
// wrongful, and a share of releases (the action's qa_percent) goes to a person for
// quality review. The rest join the queue for people. Steward itself acts.
func (s *Service) RescreenOnce(ctx context.Context) (int, error) {
	ctx = principal.NewContext(audit.WithRequestID(ctx, "appeals:rescreen"), principal.Steward)
	as, err := s.store.ToRescreen(ctx, rescreenBatch)
	if err != nil || len(as) == 0 {
		return 0, err
	}
	// Judge outside the transaction: it reads only.
	type verdict struct {
		screen string
		sn     *enforce.Sanction
		act    *bulk.Action
	}
	vs := make([]verdict, len(as))
	now := s.clock()
	for i, a := range as {
		sn, err := s.enforce.Get(ctx, a.Sanction)
		if err != nil {
			return 0, err
		}
		vs[i].sn = sn
		act, err := s.bulk.Get(ctx, a.BulkAction)
		if err != nil {
			return 0, err
		}
		vs[i].act = act
		acct, err := s.accounts.Get(ctx, a.Account)
		if errs.CodeOf(err) == errs.NotFound {
			continue // people decide
		} else if err != nil {
			return 0, err
		}
		var active []enforce.Entry
		for _, e := range s.enforce.Active(a.Account, now.UnixNano()) {
			if e.Sanction != sn.ID {
				active = append(active, e)
			}
		}
		vs[i].screen, err = s.bulk.Rescreen(ctx, a.BulkAction, acct, active, subjectOf(a))
		if err != nil {
			s.log.Warn("appeals: re-screening failed; people decide", "appeal", a.ID, "err", err)
			vs[i].screen = ""
		}
	}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		ctx = context.WithValue(ctx, deciding{}, true)
		now := s.clock()
		var lift []string
		var told []Change
		for i, a := range as {
			cur, err := s.store.Get(ctx, a.ID)
			if err != nil {
				return err
			}
			if !cur.Rescreen || cur.State != Open {
				continue // withdrawn or closed meanwhile
			}
			a = cur
			v := vs[i]
			a.Rescreen, a.Screened, a.UpdatedAt = false, v.screen, now
			it := &review.Item{Queue: Queue, ID: a.ID, Harm: a.Harm, DueAt: a.DueAt, CreatedAt: a.CreatedAt}
			if v.screen == "" || !v.sn.ActiveAt(now) {
				// People decide: it joins the queue, kept from those who made the sanction.
				for _, x := range append([]principal.Principal{v.sn.Author}, v.act.Deciders()...) {
					it.Excluded = append(it.Excluded, x.Identity())
				}
				if err := s.store.Update(ctx, a); err != nil {
					return err
				}
				if err := s.queue.Put(ctx, it); err != nil {
					return err
				}
				continue
			}
			a.State = Released
			a.QA = s.random()*100 < v.act.AppealSettings.QA()
			lift = append(lift, a.Sanction)
			if err := s.store.Update(ctx, a); err != nil {
				return err
			}
			if a.QA { // a person checks the release; low in the queue, no deadline pressure
				it.Harm, it.DueAt = 0, now.Add(7*24*time.Hour)
				if err := s.queue.Put(ctx, it); err != nil {
					return err
				}
			}
			if err := s.record(ctx, "appeal.release", a, struct {
				Appeal string `json:"appeal"`
				Screen string `json:"screen"`
				QA     bool   `json:"qa"`
			}{a.ID, a.Screened, a.QA}); err != nil {
				return err
			}
			told = append(told, Change{Event: EventReleased, Appeal: a, At: now})
		}
		if len(lift) > 0 {
			if _, err := s.enforce.LiftMany(ctx, lift, "an automatic check of your appeal found this was a mistake: your account no longer meets the action's criteria, or a screen spares it"); err != nil {
				return err
			}
		}
		return s.tell(ctx, told...)
	})
	return len(as), err
}

func subjectOf(a *Appeal) bulk.AppealSubject {
	sub := bulk.AppealSubject{Statement: a.Statement, Channel: string(a.Channel), Evidence: make([]bulk.AppealEvidence, len(a.Evidence))}
	for i, e := range a.Evidence {
		sub.Evidence[i] = bulk.AppealEvidence(e)
	}
	return sub
}

// BreachOnce marks up to a batch of appeals past their deadline, raising them above
// every appeal on time and announcing appeal.sla_breached; an appeal against a bulk
// action that says "on_sla_breach": "release" has its sanction lifted provisionally
// (not as wrongful) until a person decides. Returns how many it marked.
func (s *Service) BreachOnce(ctx context.Context) (int, error) {
	ctx = principal.NewContext(audit.WithRequestID(ctx, "appeals:sla"), principal.Steward)
	n := 0
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		ctx = context.WithValue(ctx, deciding{}, true)
		now := s.clock()
		ids, err := s.queue.Breach(ctx, Queue, now, rescreenBatch)
		if err != nil || len(ids) == 0 {
			return err
		}
		n = len(ids)
		got, err := s.store.GetMany(ctx, ids)
		if err != nil {
			return err
		}
		var told []Change
		for _, id := range ids {
			a := got[id]
			if a == nil || a.State != Open {
				continue
			}
			a.Breached, a.UpdatedAt = true, now
			if a.BulkAction != "" && !a.Provisional {
				act, err := s.bulk.Get(ctx, a.BulkAction)
				if err != nil && errs.CodeOf(err) != errs.NotFound {
					return err
				}
				if act != nil && act.AppealSettings.OnSLABreach == "release" {
					if _, err := s.enforce.Lift(ctx, a.Sanction, enforce.LiftRequest{
						Reason: "the deadline for deciding your appeal passed: lifted provisionally until a person decides"}); err != nil && errs.CodeOf(err) != errs.Conflict {
						return err
					}
					a.Provisional = true
				}
			}
			if err := s.store.Update(ctx, a); err != nil {
				return err
			}
			if err := s.record(ctx, "appeal.sla_breach", a, struct {
				Appeal      string    `json:"appeal"`
				DueAt       time.Time `json:"due_at"`
				Provisional bool      `json:"provisional"`
			}{a.ID, a.DueAt, a.Provisional}); err != nil {
				return err
			}
			told = append(told, Change{Event: EventSLABreached, Appeal: a, At: now})
		}
		return s.tell(ctx, told...)
	})
	return n, err
}
