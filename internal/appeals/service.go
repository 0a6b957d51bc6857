package appeals

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/review"
	"github.com/stewardhq/steward/internal/txn"
)

// Queue is the review queue appeals wait in.
const Queue = "appeals"

// Events announced for appeals.
const (
	EventCreated     = "appeal.created"
	EventDecided     = "appeal.decided"
	EventReleased    = "appeal.released"
	EventSLABreached = "appeal.sla_breached"
	EventClosed      = "appeal.closed"
	EventReopened    = "appeal.second_review"
)

// Change is one appeal change, as announced.
type Change struct {
	Event  string
	Appeal *Appeal
	At     time.Time
}

// Announcer tells the appealing account (and webhooks) of appeal changes: a notice in
// the account's locale for what the user must hear of (received with its deadline,
// upheld with the reasons and the right to a second review, closed) and an event for
// each. Announce is called inside the change's write transaction.
type Announcer interface {
	AnnounceAppeals(ctx context.Context, cs ...Change) error
}

// Funds reports whether an account has funds held, which makes waiting costlier. The
// ledger implements it; nil when there is none.
type Funds interface {
	Held(ctx context.Context, account string) (bool, error)
}

// Config holds a Service's options.
type Config struct {
	Announcer Announcer
	Funds     Funds
	Now       func() time.Time // time.Now when nil
	// Poll is how often the workers look for work another process made; default 1 s.
	Poll time.Duration
	// Random draws the quality-review sample, from [0, 1); rand.Float64 when nil.
	Random func() float64
	Logger *slog.Logger
}

// Service files, queues and decides appeals.
type Service struct {
	store    Store
	queue    review.Store
	enforce  *enforce.Service
	bulk     *bulk.Service
	accounts accounts.Store
	tx       txn.Runner
	audit    *audit.Recorder
	announce Announcer
	funds    Funds
	now      func() time.Time
	poll     time.Duration
	random   func() float64
	log      *slog.Logger
	wake     chan struct{}
}

// NewService returns a Service over store and the review queue.
func NewService(store Store, queue review.Store, enf *enforce.Service, bk *bulk.Service, accts accounts.Store, tx txn.Runner, rec *audit.Recorder, cfg Config) *Service {
	s := &Service{store: store, queue: queue, enforce: enf, bulk: bk, accounts: accts, tx: tx, audit: rec,
		announce: cfg.Announcer, funds: cfg.Funds, now: cfg.Now, poll: cfg.Poll, random: cfg.Random, log: cfg.Logger, wake: make(chan struct{}, 1)}
	if s.now == nil {
		s.now = time.Now
	}
	if s.poll <= 0 {
		s.poll = time.Second
	}
	if s.random == nil {
		s.random = rand.Float64
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

func (s *Service) clock() time.Time { return s.now().UTC() }

// bulkOf returns the bulk action that made sn, or "".
func bulkOf(sn *enforce.Sanction) string {
	if sn.Source != enforce.FromBulk {
		return ""
	}
	for _, e := range sn.Evidence {
		if id, ok := strings.CutPrefix(e, "bulk-action:"); ok {
			return id
		}
	}
	return ""
}

// harmOf scores what waiting costs the account: a ban over a suspension over a
// restriction, every service over some, funds held, a bulk action's sweep (which
// catches the innocent with the guilty), and the account's age (an old account has more
// to lose).
func harmOf(sn *enforce.Sanction, acct *accounts.Account, fromBulk, held bool, now time.Time) int64 {
	var h int64
	switch sn.Kind {
	case enforce.Ban:
		h += 3000
	case enforce.Suspend:
		h += 2000
	case enforce.Restrict:
		h += 1000
	}
	if slices.Contains(sn.Scope.Services, enforce.AllServices) {
		h += 500
	}
	if held {
		h += 1500
	}
	if fromBulk {
		h += 500
	}
	if acct != nil && !acct.CreatedAt.IsZero() {
		h += min(int64(now.Sub(acct.CreatedAt).Hours()/(24*365)), 20) * 25
	}
	return h
}

// deciding marks a context in which appeals itself lifts or amends a sanction, so that
// the announcement hook (Prepare) does not close the appeal doing it.
type deciding struct{}

func (s *Service) record(ctx context.Context, action string, a *Appeal, v any) error {
	return s.audit.Record(ctx, audit.Change{Action: action, Subject: a.Account, Value: v})
}

func (s *Service) tell(ctx context.Context, cs ...Change) error {
	if s.announce == nil || len(cs) == 0 {
		return nil
	}
	return s.announce.AnnounceAppeals(ctx, cs...)
}

// File files an appeal. An end user files for their own account; staff (an agent) file
// on a user's behalf, naming the account, with channel "agent". Always allowed, even
// under a ban. Returns errs.Invalid naming every field at fault, errs.NotFound for a
// sanction the account does not have, errs.Conflict naming the open appeal when the
// sanction has one, or when the sanction has been lifted.
func (s *Service) File(ctx context.Context, f Filing) (*Appeal, error) {
	p := principal.FromContext(ctx)
	agent := !p.IsUser()
	if !agent {
		f.Account, f.Channel = p.Account(), ByUser
	}
	if err := f.check(agent); err != nil {
		return nil, err
	}
	if f.Evidence == nil {
		f.Evidence = []Evidence{}
	}
	var out *Appeal
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		sn, err := s.enforce.Get(ctx, f.Sanction)
		if errs.CodeOf(err) == errs.NotFound || err == nil && sn.Account != f.Account {
			return errs.E(errs.NotFound, "account %s has no sanction %s", f.Account, f.Sanction)
		}
		if err != nil {
			return err
		}
		now := s.clock()
		if sn.Lifted != nil {
			return errs.E(errs.Conflict, "sanction %s was lifted at %s: there is nothing to appeal", sn.ID, sn.Lifted.At.Format(time.RFC3339))
		}
		if open, err := s.store.OpenFor(ctx, sn.ID); err == nil {
			return errs.E(errs.Conflict, "sanction %s has an open appeal already: %s", sn.ID, open.ID)
		} else if errs.CodeOf(err) != errs.NotFound {
			return err
		}
		a := &Appeal{
			ID: uuid.Must(uuid.NewV7()).String(), Account: f.Account, Sanction: sn.ID, Policy: sn.Policy, SanctionKind: sn.Kind,
			Channel: f.Channel, Statement: f.Statement, Evidence: f.Evidence, State: Open, Round: 1,
			FiledBy: p, CreatedAt: now, UpdatedAt: now,
		}
		it, err := s.item(ctx, a, sn, now)
		if err != nil {
			return err
		}
		if err := s.store.Insert(ctx, a); err != nil {
			return err
		}
		if !a.Rescreen { // a bulk action's appeal joins the queue if re-screening keeps it
			if err := s.queue.Put(ctx, it); err != nil {
				return err
			}
		}
		if err := s.record(ctx, "appeal.file", a, a); err != nil {
			return err
		}
		if err := s.tell(ctx, Change{Event: EventCreated, Appeal: a, At: now}); err != nil {
			return err
		}
		if a.Rescreen {
			s.tx.AfterCommit(ctx, s.Wake)
		}
		out = a
		return nil
	})
	return out, err
}

// item fills in what the queue needs of a new appeal against sn (bulk action, deadline,
// harm, who may not decide it) and returns its queue item.
func (s *Service) item(ctx context.Context, a *Appeal, sn *enforce.Sanction, now time.Time) (*review.Item, error) {
	sla := DefaultSLA
	if sn.Policy != "" {
		if pol, err := s.enforce.GetPolicy(ctx, sn.Policy); err == nil && pol.AppealSLA > 0 {
			sla = time.Duration(pol.AppealSLA)
		}
	}
	excluded := []principal.Principal{sn.Author}
	if id := bulkOf(sn); id != "" {
		act, err := s.bulk.Get(ctx, id)
		if err != nil && errs.CodeOf(err) != errs.NotFound {
			return nil, err
		}
		if act != nil {
			a.BulkAction, a.Rescreen = id, true
			sla = act.AppealSettings.SLAOf(sla)
			excluded = append(excluded, act.Deciders()...)
		}
	}
	acct, err := s.accounts.Get(ctx, a.Account)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		return nil, err
	}
	held := false
	if s.funds != nil {
		if held, err = s.funds.Held(ctx, a.Account); err != nil {
			return nil, err
		}
	}
	a.Harm = harmOf(sn, acct, a.BulkAction != "", held, now)
	if a.AccountAtFiling == nil {
		a.AccountAtFiling = acct
	}
	a.DueAt = now.Add(sla)
	it := &review.Item{Queue: Queue, ID: a.ID, Harm: a.Harm, DueAt: a.DueAt, CreatedAt: a.CreatedAt}
	for _, x := range append(excluded, a.Reviewers...) {
		if x.Name != "" && !slices.Contains(it.Excluded, x.Identity()) {
			it.Excluded = append(it.Excluded, x.Identity())
		}
	}
	return it, nil
}

// Get returns the appeal. An end user gets only their own (errs.NotFound for another's).
func (s *Service) Get(ctx context.Context, id string) (*Appeal, error) {
	if err := CheckID("id", id); err != nil {
		return nil, err
	}
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if p := principal.FromContext(ctx); p.IsUser() && p.Account() != a.Account {
		return nil, errs.E(errs.NotFound, "appeal %s not found", id)
	}
	return a.shown(s.clock()), nil
}

// List returns a page of appeals. An end user lists only their own.
func (s *Service) List(ctx context.Context, f Filter) ([]*Appeal, error) {
	var fs errs.Fields
	switch f.State {
	case "", Open, Claimed, Decided, Released, Withdrawn, Closed:
	default:
		fs.Add("state", "must be one of open, claimed, decided, released, withdrawn, closed")
	}
	if f.BulkAction != "" {
		if _, err := uuid.Parse(f.BulkAction); err != nil {
			fs.Add("bulk_action", "must be a bulk action ID (a UUID)")
		}
	}
	if f.Policy != "" && !enforce.ValidCode(f.Policy) {
		fs.Add("policy", "must be a policy ID: %s", enforce.CodeRule)
	}
	if f.After != "" {
		if err := CheckID("cursor", f.After); err != nil {
			fs.Add("cursor", "is not a cursor this API gave out")
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	if p := principal.FromContext(ctx); p.IsUser() {
		f.Account = p.Account()
	}
	f.Now = s.clock()
	as, err := s.store.List(ctx, f)
	for _, a := range as {
		a.shown(f.Now)
	}
	return as, err
}

// Claim leases up to n open appeals to the reviewer in ctx, in priority order, never
// one against their own sanction or bulk action.
func (s *Service) Claim(ctx context.Context, r review.ClaimRequest) ([]*Appeal, error) {
	n, lease, err := r.Check()
	if err != nil {
		return nil, err
	}
	p := principal.FromContext(ctx)
	var out []*Appeal
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		now := s.clock()
		ids, err := s.queue.Claim(ctx, Queue, p.Identity(), n, now, now.Add(lease))
		if err != nil || len(ids) == 0 {
			out = []*Appeal{}
			return err
		}
		got, err := s.store.GetMany(ctx, ids)
		if err != nil {
			return err
		}
		out = make([]*Appeal, 0, len(ids))
		for _, id := range ids {
			if a := got[id]; a != nil {
				out = append(out, a.shown(now))
			}
		}
		return s.audit.Record(ctx, audit.Change{Action: "appeal.claim", Subject: "queue:" + Queue, Value: struct {
			Appeals []string  `json:"appeals"`
			Until   time.Time `json:"until"`
		}{ids, now.Add(lease)}})
	})
	return out, err
}

// Wake tells the workers there may be work.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// StatsReply is the appeals' counts and ages, overall and by group.
type StatsReply struct {
	Overall      Stats            `json:"overall"`
	ByPolicy     map[string]Stats `json:"by_policy"`
	ByBulkAction map[string]Stats `json:"by_bulk_action"`
	ByReviewer   map[string]Stats `json:"by_reviewer"` // by principal identity; decided appeals only
}

func statsOf(r Row) Stats {
	st := Stats{Open: r.Open, Breaches: r.Breaches, Decided: r.Decided, Overturned: r.Overturned, Upheld: r.Upheld, Released: r.Released, Total: r.Total}
	if r.Decided > 0 {
		st.OverturnRate = float64(r.Overturned) / float64(r.Decided)
	}
	if r.Total > 0 {
		st.ReleaseRate = float64(r.Released) / float64(r.Total)
	}
	return st
}

// Stats returns open appeals and their median and p95 age, breaches, and overturn and
// release rates: overall, per policy, per bulk action and per reviewer.
func (s *Service) Stats(ctx context.Context) (*StatsReply, error) {
	out := &StatsReply{ByPolicy: map[string]Stats{}, ByBulkAction: map[string]Stats{}, ByReviewer: map[string]Stats{}}
	all, err := s.store.Sums(ctx, "", "")
	if err != nil {
		return nil, err
	}
	if len(all) > 0 {
		out.Overall = statsOf(all[0])
	}
	ages, err := s.store.OpenAges(ctx, s.clock(), 0.5, 0.95)
	if err != nil {
		return nil, err
	}
	out.Overall.MedianAgeSec, out.Overall.P95AgeSec = ages[0].Seconds(), ages[1].Seconds()
	for by, m := range map[string]map[string]Stats{"policy": out.ByPolicy, "bulk_action": out.ByBulkAction, "reviewer": out.ByReviewer} {
		rows, err := s.store.Sums(ctx, by, "")
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if r.Key != "" {
				m[r.Key] = statsOf(r)
			}
		}
	}
	return out, nil
}

// BulkCounts are the appeals against one bulk action's sanctions.
type BulkCounts struct {
	Filed      int `json:"filed"`
	Released   int `json:"released"`
	Overturned int `json:"overturned"`
	Upheld     int `json:"upheld"`
	Open       int `json:"open"`
}

// ForBulk returns the counts of the appeals against the bulk action's sanctions.
func (s *Service) ForBulk(ctx context.Context, action string) (BulkCounts, error) {
	rows, err := s.store.Sums(ctx, "bulk_action", action)
	if err != nil || len(rows) == 0 {
		return BulkCounts{}, err
	}
	r := rows[0]
	return BulkCounts{Filed: r.Total, Released: r.Released, Overturned: r.Overturned, Upheld: r.Upheld, Open: r.Open}, nil
}
