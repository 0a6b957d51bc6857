package bulk

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/txn"
)

// Config holds a Service's options.
type Config struct {
	Batch int // targets sanctioned (or lifted) per transaction; default 1000 (about 50 ms of the writer on SQLite)
	Page  int // accounts read per page when scanning; default 2000
	// Readers is how many readers a dry run scans the accounts with at once; default
	// GOMAXPROCS.
	Readers int
	Now     func() time.Time // the clock; time.Now when nil
	// Duty is the share of time the runner works, from 0 (exclusive) to 1: after a step
	// that took d it rests d×(1−Duty)/Duty, leaving the rest of the machine to the API.
	// Default 1: no rest.
	Duty float64
	// Busy, when set, reports whether others need the machine (the API is serving
	// requests): the runner rests only then, and otherwise works flat out.
	Busy func() bool
	// Poll is how often the runner looks for actions started by other processes;
	// default 2 s.
	Poll time.Duration
	// Logger gets the runner's failures; none when nil.
	Logger *slog.Logger
	// Holder places and releases the wallet holds of actions that hold; nil when the
	// server keeps no ledger (an action with a hold is then refused).
	Holder Holder
	// MaxCost is the most one expression may cost (see the constant MaxCost, the
	// default): its estimate is checked at create, and an evaluation stops there.
	MaxCost uint64
}

// Service creates, dry-runs, executes and reverts bulk actions.
type Service struct {
	store    Store
	accounts accounts.Store
	enforce  *enforce.Service
	tx       txn.Runner
	audit    *audit.Recorder
	lang     *language
	// appealLang compiles appeal screens; appealProgs keeps them compiled by action
	// and version.
	appealLang  *language
	appealProgs sync.Map
	holder      Holder
	batch       int
	page        int
	readers     int
	duty        float64
	busy        func() bool
	now         func() time.Time
	poll        time.Duration
	log         *slog.Logger
	wake        chan struct{} // tells the runner there is work

	mu       sync.Mutex
	ahead    *ahead   // the next batch, being prepared
	programs sync.Map // action ID → *compiled, for the steps that fix targets
}

// NewService returns a Service over store that reads accounts from accts and writes
// sanctions through enf.
func NewService(store Store, accts accounts.Store, enf *enforce.Service, tx txn.Runner, rec *audit.Recorder, cfg Config) (*Service, error) {
	lang, err := newLanguage(cfg.MaxCost)
	if err != nil {
		return nil, fmt.Errorf("bulk: CEL environment: %w", err)
	}
	alang, err := appealLanguage(cfg.MaxCost)
	if err != nil {
		return nil, fmt.Errorf("bulk: CEL environment for appeal screens: %w", err)
	}
	s := &Service{store: store, accounts: accts, enforce: enf, tx: tx, audit: rec, lang: lang, appealLang: alang, holder: cfg.Holder,
		batch: cfg.Batch, page: cfg.Page, readers: cfg.Readers, duty: cfg.Duty, busy: cfg.Busy, now: cfg.Now, poll: cfg.Poll, log: cfg.Logger, wake: make(chan struct{}, 1)}
	if s.batch <= 0 {
		s.batch = 1000
	}
	if s.page <= 0 {
		s.page = 2000
	}
	if s.readers <= 0 {
		s.readers = runtime.GOMAXPROCS(0)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.poll <= 0 {
		s.poll = 2 * time.Second
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.duty <= 0 || s.duty > 1 {
		s.duty = 1
	}
	return s, nil
}

// CreateRequest is a new bulk action.
type CreateRequest struct {
	Name      string              `json:"name"`
	Criteria  string              `json:"criteria"`
	Screens   []Screen            `json:"screens"`
	Sanction  Template            `json:"sanction"`
	Authority authority.Authority `json:"authority"`
	// NotifyUsers says whether each target is sent a notice (default true). Webhooks that
	// subscribe get the sanctions' events either way.
	NotifyUsers *bool `json:"notify_users,omitempty"`
	// Notify is the old name of NotifyUsers, still accepted; given both, they must agree.
	Notify *bool `json:"notify,omitempty"`
	// Hold freezes each target's wallet in a currency besides sanctioning it.
	Hold *HoldSpec `json:"hold,omitempty"`
	AppealSettings
}

// notifyUsers is the request's notify_users, or its old name notify, or true.
func (r *CreateRequest) notifyUsers() bool {
	switch {
	case r.NotifyUsers != nil:
		return *r.NotifyUsers
	case r.Notify != nil:
		return *r.Notify
	}
	return true
}

// Create validates and stores a draft action. Returns errs.Invalid naming every field
// at fault: a CEL syntax or type error names its expression ("criteria",
// "screens[name]") and position; errs.Forbidden when the caller may not act on the
// authority.
func (s *Service) Create(ctx context.Context, r CreateRequest) (*Action, error) {
	now := s.now().UTC()
	a := &Action{
		ID: uuid.Must(uuid.NewV7()).String(), Name: r.Name, Criteria: r.Criteria, Screens: r.Screens,
		Sanction: r.Sanction, Authority: r.Authority, NotifyUsers: r.notifyUsers(),
		AppealSettings: r.AppealSettings, Hold: r.Hold, State: Draft, Version: 1, CreatedAt: now, UpdatedAt: now,
	}
	a.Author = principal.FromContext(ctx)
	if a.Screens == nil {
		a.Screens = []Screen{}
	}
	var fs errs.Fields
	if !namePattern.MatchString(a.Name) {
		fs.Add("name", "is required: 1 to 64 letters, digits, space or _ . : -")
	}
	if r.Notify != nil && r.NotifyUsers != nil && *r.Notify != *r.NotifyUsers {
		fs.Add("notify", "is the old name of notify_users and says the opposite; give notify_users alone")
	}
	if _, err := compileAction(s.lang, a); err != nil {
		fields := errs.FieldsOf(err)
		if fields == nil {
			return nil, err
		}
		fs = append(fs, fields...)
	}
	if a.Hold != nil {
		a.Hold.check(&fs, a.Authority, s.holder)
	}
	if _, err := a.AppealSettings.check(s.appealLang); err != nil {
		fields := errs.FieldsOf(err)
		if fields == nil {
			return nil, err
		}
		fs = append(fs, fields...)
	}
	if _, err := a.sanctionFor(Target{Account: "template", Sanction: uuid.Nil.String()}, now); err != nil {
		fields := errs.FieldsOf(err)
		if fields == nil {
			return nil, err
		}
		for _, f := range fields {
			if !strings.HasPrefix(f.Field, "authority.") { // authority is the action's own field
				f.Field = "sanction." + f.Field
			}
			fs = append(fs, f)
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	if err := enforce.MayActOn(ctx, a.Authority); err != nil {
		return nil, err
	}
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		if a.Sanction.Policy != "" {
			if _, err := s.enforce.GetPolicy(ctx, a.Sanction.Policy); errs.CodeOf(err) == errs.NotFound {
				return errs.Field("sanction.policy", "no policy %q", a.Sanction.Policy)
			} else if err != nil {
				return err
			}
		}
		if err := s.store.Insert(ctx, a); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "bulk.create", Subject: "bulk:" + a.ID, Value: r})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// The bounds of a bulk sanction's duration: those of a step of a policy's ladder
// (enforce.parseStep).
const (
	minDuration = time.Minute
	maxDuration = 100 * 365 * 24 * time.Hour
)

// sanctionFor returns the sanction a imposes on target t at now. Returns errs.Invalid
// (fields unprefixed) when the template does not make a valid sanction.
func (a *Action) sanctionFor(t Target, now time.Time) (*enforce.Sanction, error) {
	tp := a.Sanction
	sn := &enforce.Sanction{
		ID: t.Sanction, Account: t.Account, Kind: tp.Kind, Scope: tp.Scope, Start: now,
		ReasonCode: tp.ReasonCode, Policy: tp.Policy, Clause: tp.Clause, Detail: tp.Detail,
		Evidence:  append(append([]string{}, tp.Evidence...), "bulk-action:"+a.ID),
		Authority: a.Authority, Source: enforce.FromBulk, Author: a.Author, CreatedAt: now, UpdatedAt: now,
	}
	sn.Scope.Services = append([]string{}, tp.Scope.Services...)
	sn.Scope.Capabilities = append([]string{}, tp.Scope.Capabilities...)
	if tp.Duration != "" {
		d, err := time.ParseDuration(tp.Duration)
		if err != nil || d < minDuration || d > maxDuration {
			return nil, errs.Field("duration", `must be a duration from 1m to 876000h such as "72h"`)
		}
		end := now.Add(d)
		sn.End = &end
	}
	if err := enforce.CheckNew(sn); err != nil {
		return nil, err
	}
	return sn, nil
}

// Get returns the action. Returns errs.NotFound when there is none.
func (s *Service) Get(ctx context.Context, id string) (*Action, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	return s.store.Get(ctx, id)
}

// Status is an action with its rate and the time its current phase still needs.
type Status struct {
	*Action
	Rate       float64 `json:"rate"`        // targets (accounts while preparing) per second in the current phase
	ETASeconds float64 `json:"eta_seconds"` // estimated seconds left; 0 when not running
}

// StatusOf returns a's rate and estimate at the service's clock.
func (s *Service) StatusOf(a *Action) Status {
	st := Status{Action: a}
	p := a.Progress
	if p.PhaseStart.IsZero() {
		return st
	}
	el := s.now().Sub(p.PhaseStart).Seconds()
	var done, left int
	switch a.State {
	case Preparing:
		done, left = p.Scanned-p.PhaseFrom, max(p.Accounts-p.Scanned, 0)
	case Running:
		done, left = p.Done-p.PhaseFrom, p.Total-p.Done
	case Reverting:
		done, left = p.Reverted-p.PhaseFrom, p.Done-p.Reverted
	default:
		return st
	}
	if el > 0 && done > 0 {
		st.Rate = float64(done) / el
		st.ETASeconds = math.Round(float64(left)/st.Rate*10) / 10
	}
	return st
}

// Working returns the status of every action at work (preparing, running or
// reverting), oldest first.
func (s *Service) Working(ctx context.Context) ([]Status, error) {
	ids, err := s.store.Active(ctx, Preparing, Running, Reverting)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(ids))
	for _, id := range ids {
		a, err := s.store.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, s.StatusOf(a))
	}
	return out, nil
}

func checkID(id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return errs.Field("id", "must be a bulk action ID (a UUID)")
	}
	return nil
}

// transition changes the stored action with edit inside a write transaction, audits it
// as bulk.<verb>, and wakes the runner once it commits.
func (s *Service) transition(ctx context.Context, id, verb string, rec any, edit func(a *Action, now time.Time) error) (*Action, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var out *Action
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		a, err := s.store.Get(ctx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		if err := edit(a, now); err != nil {
			return err
		}
		a.Version++
		a.UpdatedAt = now
		if err := s.store.Update(ctx, a); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, audit.Change{Action: "bulk." + verb, Subject: "bulk:" + id, Value: rec}); err != nil {
			return err
		}
		s.tx.AfterCommit(ctx, s.Wake)
		out = a
		return nil
	})
	return out, err
}

// Wake tells the runner there may be work.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ExecuteRequest starts an execution.
type ExecuteRequest struct {
	CanaryPercent *float64 `json:"canary_percent,omitempty"` // default 1; 0 for no canary
	// AllowEvalErrors executes an action whose dry run found accounts on which an
	// expression fails, leaving those accounts unsanctioned. Without it such an action
	// is refused, and an execution that meets a failing evaluation pauses itself.
	AllowEvalErrors bool `json:"allow_eval_errors,omitempty"`
}

// Execute starts executing a draft: the runner fixes its targets, sanctions the canary
// share, and waits in state canary for Resume. An account on which an expression fails
// is never sanctioned; unless r.AllowEvalErrors, the runner pauses the action at the
// first such account, with the error in Action.Error. Returns errs.Conflict unless the
// action is a draft, or when its last dry run found evaluation errors and
// r.AllowEvalErrors is false; errs.Invalid for a canary share outside 0..100,
// errs.NotFound.
func (s *Service) Execute(ctx context.Context, id string, r ExecuteRequest) (*Action, error) {
	pct := 1.0
	if r.CanaryPercent != nil {
		pct = *r.CanaryPercent
	}
	if math.IsNaN(pct) || pct < 0 || pct > 100 {
		return nil, errs.Field("canary_percent", "must be from 0 to 100")
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	n, err := s.accounts.Count(ctx) // for the progress of fixing the targets
	if err != nil {
		return nil, err
	}
	seed := rand.Uint64() | 1 // never 0, which says the canary is the first targets
	return s.transition(ctx, id, "execute", struct {
		Action          string  `json:"action"`
		CanaryPercent   float64 `json:"canary_percent"`
		AllowEvalErrors bool    `json:"allow_eval_errors,omitempty"`
	}{id, pct, r.AllowEvalErrors}, func(a *Action, now time.Time) error {
		if a.State != Draft {
			return errs.E(errs.Conflict, "bulk action %s is %s; only a draft can be executed", a.ID, a.State)
		}
		if d := a.LastDryRun; d != nil && d.EvalErrors > 0 && !r.AllowEvalErrors {
			return errs.E(errs.Conflict, "bulk action %s: its dry run at %s found %d of %d accounts on which an expression fails (first: %s on account %s: %s), "+
				"besides %d matched and %d to sanction; fix the expressions in a new action, or execute with allow_eval_errors true to leave those accounts unsanctioned",
				a.ID, d.At.Format(time.RFC3339), d.EvalErrors, d.Accounts, d.FirstEvalError.Expr, d.FirstEvalError.Account, d.FirstEvalError.Message, d.Matched, d.ToSanction)
		}
		if _, err := compileAction(s.lang, a); err != nil {
			return err
		}
		a.State, a.CanaryPercent, a.AllowEvalErrors, a.CanarySeed = Preparing, pct, r.AllowEvalErrors, seed
		a.recordResumer(ctx)
		a.Progress.Accounts = n
		a.startPhase(now)
		return nil
	})
}

// Pause stops an action that is preparing, running or reverting after its current
// batch. Returns errs.Conflict in any other state, errs.NotFound.
func (s *Service) Pause(ctx context.Context, id string) (*Action, error) {
	return s.transition(ctx, id, "pause", map[string]string{"action": id}, func(a *Action, now time.Time) error {
		switch a.State {
		case Preparing, Running, Reverting:
			a.Resumes, a.State = a.State, Paused
			return nil
		case Paused, Canary:
			return nil // already waiting
		}
		return errs.E(errs.Conflict, "bulk action %s is %s; there is nothing to pause", a.ID, a.State)
	})
}

// Resume continues a paused action, or one waiting after its canary. An action the
// runner paused at an account on which an expression failed goes on leaving such
// accounts unsanctioned, as if executed with ExecuteRequest.AllowEvalErrors. Returns
// errs.Conflict in any other state, errs.NotFound.
func (s *Service) Resume(ctx context.Context, id string) (*Action, error) {
	return s.transition(ctx, id, "resume", map[string]string{"action": id}, func(a *Action, now time.Time) error {
		switch a.State {
		case Canary:
			a.State = Running
		case Paused:
			if a.Error != "" && a.Resumes == Preparing {
				a.AllowEvalErrors = true // the person has seen the failure, in a.Error
			}
			a.State, a.Resumes, a.Error = a.Resumes, "", ""
		case Preparing, Running, Reverting:
			return nil // running already
		default:
			return errs.E(errs.Conflict, "bulk action %s is %s; there is nothing to resume", a.ID, a.State)
		}
		a.recordResumer(ctx)
		a.startPhase(now)
		return nil
	})
}

func (a *Action) startPhase(now time.Time) {
	p := &a.Progress
	p.PhaseStart = now
	switch a.State {
	case Preparing:
		p.PhaseFrom = p.Scanned
	case Reverting:
		p.PhaseFrom = p.Reverted
	default:
		p.PhaseFrom = p.Done
	}
}

// RevertRequest undoes an action.
type RevertRequest struct {
	Reason string `json:"reason"`
}

// Revert stops the action and has the runner lift every sanction it made, as wrongful,
// telling each person. It works on a partly executed action. Returns errs.Invalid
// without a reason, errs.Conflict for a draft or an action reverted already,
// errs.NotFound.
func (s *Service) Revert(ctx context.Context, id string, r RevertRequest) (*Action, error) {
	if r.Reason == "" || len(r.Reason) > enforce.MaxText {
		return nil, errs.Field("reason", "is required, at most %d bytes", enforce.MaxText)
	}
	actor := principal.FromContext(ctx)
	return s.transition(ctx, id, "revert", struct {
		Action string `json:"action"`
		RevertRequest
	}{id, r}, func(a *Action, now time.Time) error {
		switch a.State {
		case Draft:
			return errs.E(errs.Conflict, "bulk action %s is a draft: it sanctioned nobody", a.ID)
		case Reverting, Reverted:
			return errs.E(errs.Conflict, "bulk action %s is %s already", a.ID, a.State)
		case Paused:
			if a.Resumes == Reverting {
				return errs.E(errs.Conflict, "bulk action %s is reverting already (paused); resume it", a.ID)
			}
		}
		a.State, a.Resumes, a.Error, a.RevertReason, a.RevertBy = Reverting, "", "", r.Reason, actor
		a.startPhase(now)
		return nil
	})
}

func newSanctionID() string { return uuid.Must(uuid.NewV7()).String() }

// TargetState is one target of an action and what the action has done to it.
type TargetState struct {
	Target
	Sanctioned bool `json:"sanctioned"` // its sanction is imposed (or was, before a revert)
	Reverted   bool `json:"reverted"`   // its sanction was lifted by the action's revert
}

// Targets returns up to limit of the targets action id has fixed, in the order it
// sanctions them, after the one numbered after (0 for the first). Returns errs.NotFound
// for an unknown action.
func (s *Service) Targets(ctx context.Context, id string, after int64, limit int) ([]TargetState, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &a.Progress
	after = max(0, min(after, int64(p.Total)))
	ts, err := s.store.Targets(ctx, a.ID, p.ordAt(a, int(after)), p.ordAt(a, p.Total), limit)
	if err != nil {
		return nil, err
	}
	out := make([]TargetState, len(ts))
	for i, t := range ts {
		t.Ord = int64(p.posOf(a, t.Ord)) // served as its place in that order: 1, 2, 3, …
		out[i] = TargetState{Target: t, Sanctioned: t.Ord <= int64(p.Done), Reverted: t.Ord <= int64(p.Reverted)}
	}
	return out, nil
}
