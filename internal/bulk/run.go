package bulk

import (
	"context"
	"math"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// Step does the next unit of an action's work, one write transaction: fixing a page of
// targets, sanctioning a batch, or lifting a batch. It reports whether more work
// follows without a person's say. A batch commits its sanctions (with their audit
// entries and notices) together with the action's progress, guarded by the action's
// version, so a step that races another runner, or a pause, changes nothing and
// returns errs.Conflict.
func (s *Service) Step(ctx context.Context, id string) (more bool, err error) {
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return false, err
	}
	switch a.State {
	case Preparing:
		err = s.prepare(ctx, a)
	case Running:
		err = s.sanctionBatch(ctx, a)
	case Reverting:
		err = s.revertBatch(ctx, a)
	default:
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// commit writes the action as changed by fn inside one transaction, provided nobody
// changed it since it was read at version a.Version.
// The store may run fn more than once (a retried transaction): fn must not depend on
// what an earlier run changed.
func (s *Service) commit(ctx context.Context, a *Action, fn func(ctx context.Context) error) error {
	a.Version++
	a.UpdatedAt = s.now().UTC()
	return s.tx.Write(ctx, func(ctx context.Context) error {
		// The guarded update first: it takes the action's row lock, so a concurrent
		// pause or revert either waits for this batch or makes it fail before it writes.
		if err := s.store.Update(ctx, a); err != nil {
			return err
		}
		return fn(ctx)
	})
}

// prepare scans the next page of accounts after the scan cursor and fixes the targets
// among them. On the last page it sizes the canary and starts running.
func (s *Service) prepare(ctx context.Context, a *Action) error {
	c, err := s.compiled(a)
	if err != nil {
		return err
	}
	page, err := s.accounts.List(ctx, accounts.Filter{After: a.Progress.ScanCursor, Limit: s.page, Skip: accounts.AllColumns &^ c.columns})
	if err != nil {
		return err
	}
	now := s.now()
	j := c.judge(now, &a.Sanction)
	wctx, stop := s.watch(ctx, a) // for evaluating: ends on a pause
	defer stop()
	var ts []Target
	before := a.Progress.clone() // the page's draws count only if its targets are stored
	p := &a.Progress
	next := int64(p.Total)
	failed := 0
	for _, acc := range page {
		v := j.verdict(wctx, acc, s.enforce.Active(acc.ID, now.UnixNano()))
		if v.err != nil {
			if err := context.Cause(wctx); err != nil {
				return err // shut down, or the action changed
			}
			if !a.AllowEvalErrors {
				a.Progress = before
				e := j.failure(acc.ID, v)
				return s.halt(ctx, a, e.Expr+" failed on account "+e.Account+": "+e.Message+
					"; resume to go on, leaving such accounts unsanctioned")
			}
			failed++
			continue
		}
		if !v.matched || v.spared != "" || v.already {
			continue
		}
		if a.CanarySeed != 0 {
			ts = append(ts, Target{Ord: p.drawTarget(a, acc.Region), Account: acc.ID, Sanction: newSanctionID()})
			continue
		}
		next++
		ts = append(ts, Target{Ord: next, Account: acc.ID, Sanction: newSanctionID()})
	}
	if a.CanarySeed == 0 { // executed before the canary was drawn: the first targets
		p.Total += len(ts)
	}
	p.Scanned += len(page)
	p.EvalErrors += failed
	if len(page) > 0 {
		p.ScanCursor = page[len(page)-1].ID
	}
	if len(page) < s.page {
		p.CanaryCount = 0
		switch {
		case a.CanarySeed != 0:
			// A canary asked for is never empty: when no block was complete enough to
			// draw from (fewer targets than 100/percent), the first target is it.
			p.CanaryCount = p.CanaryDrawn
			if a.CanaryPercent > 0 && p.Total > 0 && p.CanaryCount == 0 {
				p.CanaryCount = 1
			}
		case a.CanaryPercent > 0 && p.Total > 0:
			p.CanaryCount = min(p.Total, int(math.Ceil(float64(p.Total)*a.CanaryPercent/100)))
		}
		p.CanaryDone = p.CanaryCount == 0
		a.State = Running
		a.startPhase(now.UTC())
		s.programs.Delete(a.ID)
	}
	return s.commit(ctx, a, func(ctx context.Context) error {
		return s.store.AddTargets(ctx, a.ID, ts)
	})
}

// watchEvery is how often a step that evaluates expressions looks whether its action
// changed (a pause, in this process or another), to stop evaluating.
const watchEvery = 250 * time.Millisecond

// watch returns ctx, cancelled with an errs.Conflict cause once the stored action is no
// longer at a's version; stop ends the watching.
func (s *Service) watch(ctx context.Context, a *Action) (_ context.Context, stop func()) {
	wctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	version := a.Version // the caller goes on to change a
	go func() {
		t := time.NewTicker(watchEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-wctx.Done():
				return
			case <-t.C:
			}
			if cur, err := s.store.Get(wctx, a.ID); err == nil && cur.Version != version {
				cancel(errs.E(errs.Conflict, "bulk action %s changed (now %s) while the runner evaluated it", a.ID, cur.State))
				return
			}
		}
	}()
	return wctx, func() { close(done); cancel(nil) }
}

// halt pauses a, running, itself, with why as its Error, and audits it as a pause by
// Steward. A person resumes or reverts it.
func (s *Service) halt(ctx context.Context, a *Action, why string) error {
	a.Resumes, a.State, a.Error = a.State, Paused, why
	actx := principal.NewContext(audit.WithRequestID(ctx, "bulk:"+a.ID), principal.Steward)
	err := s.commit(actx, a, func(ctx context.Context) error {
		return s.audit.Record(ctx, audit.Change{Action: "bulk.pause", Subject: "bulk:" + a.ID,
			Value: map[string]string{"action": a.ID, "error": why}})
	})
	if err == nil {
		s.log.Warn("bulk: action paused itself", "action", a.ID, "error", why)
	}
	return err
}

// compiled returns a's expressions compiled, compiling them once per action (they do
// not change once it is created).
func (s *Service) compiled(a *Action) (*compiled, error) {
	if c, ok := s.programs.Load(a.ID); ok {
		return c.(*compiled), nil
	}
	c, err := compileAction(s.lang, a)
	if err != nil {
		return nil, err
	}
	s.programs.Store(a.ID, c)
	return c, nil
}

// sanctionBatch sanctions the next batch of targets, stopping at the canary's end. While
// the batch commits, the next one is prepared (see ahead).
func (s *Service) sanctionBatch(ctx context.Context, a *Action) error {
	p := &a.Progress
	batch := s.takeAhead(a, p.Done, p.sanctionUpto())
	if batch == nil {
		var err error
		if batch, err = s.prepareBatch(ctx, a, p.Done, p.sanctionUpto()); err != nil {
			return err
		}
	}
	p.Done += batch.Len()
	switch {
	case p.Done >= p.Total:
		a.State = Done
	case !p.CanaryDone && p.Done >= p.CanaryCount:
		p.CanaryDone = true
		a.State = Canary
	default:
		// The action's version once this batch commits: a pause meanwhile changes it.
		s.startAhead(ctx, *a, a.Version+1, p.Done, p.sanctionUpto())
	}
	return s.commit(principal.NewContext(audit.WithRequestID(ctx, "bulk:"+a.ID), a.Author), a, func(ctx context.Context) error {
		if err := s.enforce.WriteMany(ctx, batch); err != nil {
			return err
		}
		if a.Hold == nil {
			return nil
		}
		if s.holder == nil {
			return errs.E(errs.Conflict, "bulk action %s holds wallets, and this server keeps no ledger", a.ID)
		}
		accounts, ids := batch.Targets()
		return s.holder.HoldTargets(ctx, a.holdsOf(accounts, ids))
	})
}

// sanctionUpto returns the end (exclusive) of the targets to sanction before the runner
// stops: the canary's end until it is done.
func (p *Progress) sanctionUpto() int {
	if !p.CanaryDone {
		return p.CanaryCount
	}
	return p.Total
}

// prepareBatch reads the targets from (inclusive) up to upto (exclusive), at most a
// batch of them, and prepares their sanctions with audit entries and notices.
func (s *Service) prepareBatch(ctx context.Context, a *Action, from, upto int) (*enforce.Batch, error) {
	ts, err := s.store.Targets(ctx, a.ID, a.Progress.ordAt(a, from), a.Progress.ordAt(a, upto), s.batch)
	if err != nil {
		return nil, err
	}
	now := s.enforce.Clock()
	sns := make([]*enforce.Sanction, len(ts))
	for i, t := range ts {
		if sns[i], err = a.sanctionFor(t, now); err != nil {
			return nil, err
		}
	}
	return s.enforce.PrepareMany(principal.NewContext(audit.WithRequestID(ctx, "bulk:"+a.ID), a.Author), sns, a.NotifyUsers)
}

// ahead is a batch prepared while the batch before it commits, so the encoding,
// hashing and rendering of one batch overlap the database work of the other. It is
// used only by the step that finds the action as expected: same version (no pause,
// no other runner in between) and the same targets.
type ahead struct {
	action     string
	version    int64
	from, upto int
	ready      chan struct{}
	batch      *enforce.Batch
	err        error
}

// startAhead prepares the batch of a's targets from, upto in the background, for the
// step that will find a at version.
func (s *Service) startAhead(ctx context.Context, a Action, version int64, from, upto int) {
	ah := &ahead{action: a.ID, version: version, from: from, upto: upto, ready: make(chan struct{})}
	s.mu.Lock()
	s.ahead = ah
	s.mu.Unlock()
	go func() {
		defer close(ah.ready)
		ah.batch, ah.err = s.prepareBatch(ctx, &a, from, upto)
	}()
}

// takeAhead returns the batch prepared ahead for a's targets from, upto, waiting for
// it if need be; nil when none was (or preparing it failed).
func (s *Service) takeAhead(a *Action, from, upto int) *enforce.Batch {
	s.mu.Lock()
	ah := s.ahead
	s.ahead = nil
	s.mu.Unlock()
	if ah == nil || ah.action != a.ID || ah.version != a.Version || ah.from != from || ah.upto != upto {
		return nil
	}
	<-ah.ready
	if ah.err != nil {
		return nil // prepare it again, now
	}
	return ah.batch
}

// revertBatch lifts the sanctions of the next batch of sanctioned targets.
func (s *Service) revertBatch(ctx context.Context, a *Action) error {
	p := &a.Progress
	ts, err := s.store.Targets(ctx, a.ID, p.ordAt(a, p.Reverted), p.ordAt(a, p.Done), s.batch)
	if err != nil {
		return err
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.Sanction
	}
	p.Reverted += len(ts)
	if p.Reverted >= p.Done {
		a.State = Reverted
	}
	actx := principal.NewContext(audit.WithRequestID(ctx, "bulk:"+a.ID), a.RevertBy)
	return s.commit(actx, a, func(ctx context.Context) error {
		if _, err := s.enforce.LiftMany(ctx, ids, a.RevertReason); err != nil { // as written: every locale's notice quotes it
			return err
		}
		if a.Hold == nil || s.holder == nil {
			return nil
		}
		return s.holder.ReleaseTargets(ctx, ids, "bulk action "+a.ID+" reverted: "+a.RevertReason)
	})
}

// Run executes and reverts actions until ctx ends: at start it resumes every action
// left preparing, running or reverting (by a process that died, say), then works
// whenever woken, and looks again every poll interval (other processes sharing the
// database may start actions). It returns nil when ctx ends, after the batch in flight
// has committed.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for first := true; ; first = false {
		ids, err := s.store.Active(ctx, Preparing, Running, Reverting)
		if err != nil && ctx.Err() == nil {
			s.log.Error("bulk: list active actions", "err", err)
		}
		for _, id := range ids {
			if first { // left running by a process that stopped: its rate starts again
				s.restartPhase(ctx, id)
			}
			s.drive(ctx, id)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-t.C:
		}
	}
}

// restartPhase starts the current phase of an action again, so its rate and estimate
// leave out the time nobody worked on it.
func (s *Service) restartPhase(ctx context.Context, id string) {
	a, err := s.store.Get(ctx, id)
	if err == nil {
		a.startPhase(s.now().UTC())
		err = s.commit(ctx, a, func(context.Context) error { return nil })
	}
	if err != nil && errs.CodeOf(err) != errs.Conflict && ctx.Err() == nil {
		s.log.Error("bulk: restart the phase's clock", "action", id, "err", err)
	}
}

// drive steps one action until it waits or ends, ctx ends, or a step fails.
func (s *Service) drive(ctx context.Context, id string) {
	for ctx.Err() == nil {
		start := time.Now()
		more, err := s.Step(ctx, id)
		rest := time.Duration(float64(time.Since(start)) * (1 - s.duty) / s.duty)
		if s.busy != nil && !s.busy() {
			rest = 0
		}
		if rest > 0 && more {
			select {
			case <-ctx.Done():
			case <-time.After(rest):
			}
		}
		switch {
		case errs.CodeOf(err) == errs.Conflict:
			return // another runner, or a pause, got there first; look again later
		case errs.CodeOf(err) == errs.Invalid && ctx.Err() == nil:
			// The stored action cannot go on as it is (its expressions no longer compile,
			// say): trying again at every poll and every start would only fail again.
			a, gerr := s.store.Get(ctx, id)
			if gerr == nil {
				gerr = s.halt(ctx, a, err.Error())
			}
			if gerr != nil && errs.CodeOf(gerr) != errs.Conflict {
				s.log.Error("bulk: step failed", "action", id, "err", err, "pause", gerr)
			}
			return
		case err != nil:
			if ctx.Err() == nil {
				s.log.Error("bulk: step failed", "action", id, "err", err)
			}
			return
		case !more:
			return
		}
	}
}
