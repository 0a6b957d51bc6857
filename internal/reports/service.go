package reports

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/review"
	"github.com/stewardhq/steward/internal/txn"
)

// Accounts is what the service needs of the accounts: reporters and targets exist, and a
// reporter's age and links weigh its report.
type Accounts interface {
	// Get returns the account. Returns errs.NotFound when there is none.
	Get(ctx context.Context, id string) (*accounts.Account, error)
}

// Sanctions tells whether an account is under an active sanction, so its reports weigh
// less. It is implemented outside the package: reports never import enforce.
type Sanctions interface {
	Sanctioned(ctx context.Context, account string) (bool, error)
}

// Event names a case change platforms are told about.
type Event string

const (
	CaseOpened  Event = "case.opened"
	CaseFlagged Event = "case.flagged"
	CaseDecided Event = "case.decided"
)

// Announcer is told of case changes inside the write transaction that makes them, so
// what it writes (webhook events, the reporters' notices) commits with them.
type Announcer interface {
	AnnounceCase(ctx context.Context, c CaseChange) error
}

// CaseChange is one case change, as announced.
type CaseChange struct {
	Event Event
	Case  *Case
	At    time.Time
	// Reporters are told the outcome of a decided case (Case.Outcome): in their locale,
	// and without the target's identity or private details.
	Reporters []string
}

// Deps is what a Service is built over; Sanctions and Announcer may be nil.
type Deps struct {
	Store     Store
	Accounts  Accounts
	Sanctions Sanctions
	Tx        txn.Runner
	Audit     *audit.Recorder
	Announcer Announcer
	Queue     review.Store // the shared review queue; cases wait in Queue
	Imposer   Imposer      // how a decision (or an allowing rule) imposes
}

// Service takes reports and signals into cases, and learns from decided cases.
type Service struct {
	Deps
	cfg Config
}

// NewService returns a Service over d.
func NewService(d Deps, cfg Config) *Service {
	return &Service{Deps: d, cfg: cfg.withDefaults()}
}

// Config returns the service's settings, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

// Receipt says where a report or signal went.
type Receipt struct {
	ID      string `json:"id"`
	Case    string `json:"case"`
	Opened  bool   `json:"opened"` // the report opened the case
	Flagged bool   `json:"flagged"`
	// Sanction is the restriction a signal's rule imposed by itself, as a policy
	// allows it; a report never imposes anything.
	Sanction string `json:"sanction,omitempty"`
}

// Report takes r (Reporter, Target, Category, Text, Evidence and Context set) into the
// open case of its target and category. Returns errs.Invalid naming the fields at fault,
// errs.NotFound naming reporter or target when there is no such account, and errs.TooMany
// when the reporter reported the target in the category today already.
func (s *Service) Report(ctx context.Context, r *Report) (*Receipt, error) {
	if r.Evidence == nil {
		r.Evidence = []string{}
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	reporter, err := s.account(ctx, "reporter", r.Reporter)
	if err != nil {
		return nil, err
	}
	if _, err := s.account(ctx, "target", r.Target); err != nil {
		return nil, err
	}
	records, err := s.Store.Accuracy(ctx, r.Reporter)
	if err != nil {
		return nil, err
	}
	rate, err := s.Store.Rate(ctx, r.Category)
	if err != nil {
		return nil, err
	}
	sanctioned := false
	if s.Sanctions != nil {
		if sanctioned, err = s.Sanctions.Sanctioned(ctx, r.Reporter); err != nil {
			return nil, err
		}
	}
	r.Facts, r.Weight = s.cfg.weigh(rate, records[r.Category], reporter.CreatedAt, sanctioned, now)
	r.Facts.Linked = make([]string, 0, len(reporter.Linked))
	for _, l := range reporter.Linked {
		r.Facts.Linked = append(r.Facts.Linked, l.Account)
	}
	r.ID = uuid.Must(uuid.NewV7()).String()
	r.CreatedAt = now
	r.Discounted = r.Facts.BadFaith

	var rc Receipt
	err = s.Tx.Write(ctx, func(ctx context.Context) error {
		c, opened, err := s.open(ctx, r.Target, r.Category, now)
		if err != nil {
			return err
		}
		r.Case = c.ID
		if err := s.Store.InsertReport(ctx, r); err != nil {
			if errs.CodeOf(err) == errs.Conflict {
				return errs.E(errs.TooMany, "%s reported %s for %s today already; one report per target and category a day", r.Reporter, r.Target, r.Category)
			}
			return err
		}
		c.Reports++
		c.Weight += r.Weight
		flagged, err := s.judge(ctx, c, now)
		if err != nil {
			return err
		}
		rc = Receipt{ID: r.ID, Case: c.ID, Opened: opened, Flagged: c.Flagged(FlagBrigade)}
		if err := s.save(ctx, c, now); err != nil {
			return err
		}
		changes := []audit.Change{{Action: "report.create", Subject: r.Target, Value: r}}
		if flagged {
			changes = append(changes, audit.Change{Action: "case.flag", Subject: r.Target, Value: c})
		}
		if err := s.Audit.Record(ctx, changes...); err != nil {
			return err
		}
		if opened {
			if err := s.announce(ctx, CaseOpened, c, now); err != nil {
				return err
			}
		}
		if flagged {
			return s.announce(ctx, CaseFlagged, c, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rc, nil
}

// account returns the account id, naming field when there is none.
func (s *Service) account(ctx context.Context, field, id string) (*accounts.Account, error) {
	a, err := s.Accounts.Get(ctx, id)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, &errs.Error{Code: errs.NotFound, Message: field + ": no account " + id,
			Fields: []errs.FieldError{{Field: field, Message: "no account " + id}}}
	}
	return a, err
}

// open returns the open case of target and category, locked, opening it if need be.
func (s *Service) open(ctx context.Context, target, category string, now time.Time) (*Case, bool, error) {
	return s.Store.OpenCase(ctx, &Case{
		ID: uuid.Must(uuid.NewV7()).String(), Target: target, Category: category, State: Open,
		Flags: []string{}, OpenedAt: now, UpdatedAt: now, Version: 1,
	})
}

// save bumps c's version and stores it, its score brought up to date.
func (s *Service) save(ctx context.Context, c *Case, now time.Time) error {
	c.rescore()
	c.UpdatedAt = now
	c.Version++
	if err := s.Store.UpdateCase(ctx, c); err != nil {
		return err
	}
	return s.enqueue(ctx, c, now)
}

// Queue is the review queue cases wait in.
const Queue = "cases"

// harm is a case's place in the review queue: its score, in thousandths.
func harm(c *Case) int64 { return int64(c.Score * 1000) }

// enqueue puts an open case in the review queue at its score, or moves it there; a case
// a reviewer holds keeps its place until the lease ends (Put would end the lease).
func (s *Service) enqueue(ctx context.Context, c *Case, now time.Time) error {
	if s.Queue == nil || c.State != Open {
		return nil
	}
	it, err := s.Queue.Get(ctx, Queue, c.ID)
	switch {
	case errs.CodeOf(err) == errs.NotFound:
		it = &review.Item{Queue: Queue, ID: c.ID, DueAt: c.OpenedAt.Add(s.cfg.SLA), CreatedAt: c.OpenedAt}
	case err != nil:
		return err
	case it.Holder != "" && now.Before(it.LeaseUntil):
		return nil
	case it.Harm == harm(c):
		return nil
	}
	it.Harm = harm(c)
	return s.Queue.Put(ctx, it)
}

func (s *Service) announce(ctx context.Context, ev Event, c *Case, now time.Time) error {
	return s.tell(ctx, CaseChange{Event: ev, Case: c, At: now})
}

func (s *Service) tell(ctx context.Context, ch CaseChange) error {
	if s.Announcer == nil {
		return nil
	}
	return s.Announcer.AnnounceCase(ctx, ch)
}

// judge looks at c's burst window and, when it is a brigade, flags c and discounts the
// related reports not discounted yet. It reports whether it flagged c just now.
func (s *Service) judge(ctx context.Context, c *Case, now time.Time) (bool, error) {
	start := s.cfg.windowStart(now)
	if c.Reports < s.cfg.MinBurst && !c.Flagged(FlagBrigade) {
		return false, nil // too few reports to make a burst: spare the reads
	}
	window, err := s.Store.CaseReports(ctx, c.ID, start, MaxWindowReports)
	if err != nil {
		return false, err
	}
	if len(window) < s.cfg.MinBurst && !c.Flagged(FlagBrigade) {
		return false, nil
	}
	before, err := s.Store.CountReports(ctx, c.Target, c.Category, start.Add(-s.cfg.Lookback), start)
	if err != nil {
		return false, err
	}
	j := s.cfg.judge(window, before)
	was := c.Flagged(FlagBrigade)
	if !was && !s.cfg.flags(j) {
		return false, nil
	}
	if !was {
		c.Flags = append(c.Flags, FlagBrigade)
	}
	var ids []string
	for _, r := range window {
		if j.related[r.ID] && !r.Discounted {
			ids = append(ids, r.ID)
			c.Discounted += r.Weight
		}
	}
	if len(ids) > 0 {
		if err := s.Store.Discount(ctx, ids); err != nil {
			return false, err
		}
	}
	if was && c.Cluster != nil && j.cluster.Reporters < c.Cluster.Reporters {
		return false, nil // the burst is passing: keep the cluster at its height
	}
	c.Cluster = &j.cluster
	return !was, nil
}

// Signal takes an automated signal into the open case of its account and its rule's
// category. Returns errs.Invalid naming the fields at fault and errs.NotFound naming
// account when there is no such account.
func (s *Service) Signal(ctx context.Context, sg *Signal) (*Receipt, error) {
	if err := sg.validate(); err != nil {
		return nil, err
	}
	if _, err := s.account(ctx, "account", sg.Account); err != nil {
		return nil, err
	}
	rule, ok := s.cfg.Rules[sg.Rule]
	if !ok {
		rule = Rule{Category: "other", Weight: 0.5}
	}
	now := s.cfg.Now().UTC()
	sg.ID, sg.CreatedAt, sg.Category, sg.Weight = uuid.Must(uuid.NewV7()).String(), now, rule.Category, rule.Weight*sg.Score
	var rc Receipt
	err := s.Tx.Write(ctx, func(ctx context.Context) error {
		c, opened, err := s.open(ctx, sg.Account, sg.Category, now)
		if err != nil {
			return err
		}
		sg.Case = c.ID
		if err := s.Store.InsertSignal(ctx, sg); err != nil {
			return err
		}
		c.Signals++
		c.SignalWeight += sg.Weight
		sn, err := s.automated(ctx, sg, rule)
		if err != nil {
			return err
		}
		if sn != "" {
			c.Automated = append(c.Automated, sn)
		}
		if err := s.save(ctx, c, now); err != nil {
			return err
		}
		rc = Receipt{ID: sg.ID, Case: c.ID, Opened: opened, Flagged: c.Flagged(FlagBrigade), Sanction: sn}
		if err := s.Audit.Record(ctx, audit.Change{Action: "signal.create", Subject: sg.Account, Value: sg}); err != nil {
			return err
		}
		if opened {
			return s.announce(ctx, CaseOpened, c, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rc, nil
}

// CheckCaseID returns an Invalid error naming field unless id has the form of a case ID.
func CheckCaseID(field, id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return errs.Field(field, "must be a case ID (a UUID)")
	}
	return nil
}

// Case returns the case. Returns errs.Invalid for a malformed ID and errs.NotFound when
// there is none.
func (s *Service) Case(ctx context.Context, id string) (*Case, error) {
	if err := CheckCaseID("id", id); err != nil {
		return nil, err
	}
	return s.Store.GetCase(ctx, id)
}

// MaxCaseReports caps the reports and signals a case's detail lists.
const MaxCaseReports = 1000

// Detail is a case with its reports and signals (the first MaxCaseReports of each).
type Detail struct {
	*Case
	ReportList []*Report `json:"report_list"`
	SignalList []*Signal `json:"signal_list"`
}

// Detail returns the case with its reports and signals.
func (s *Service) Detail(ctx context.Context, id string) (*Detail, error) {
	c, err := s.Case(ctx, id)
	if err != nil {
		return nil, err
	}
	rs, err := s.Store.CaseReports(ctx, id, time.Time{}, MaxCaseReports)
	if err != nil {
		return nil, err
	}
	ss, err := s.Store.CaseSignals(ctx, id, MaxCaseReports)
	if err != nil {
		return nil, err
	}
	return &Detail{Case: c, ReportList: rs, SignalList: ss}, nil
}

// MaxPage is the most cases one page lists.
const MaxPage = 500

// List returns a page of cases. Returns errs.Invalid naming the filter's bad fields.
func (s *Service) List(ctx context.Context, f Filter) ([]*Case, error) {
	var fs errs.Fields
	if f.State == "" {
		f.State = Open
	}
	if f.State != Open && f.State != Decided {
		fs.Add("state", "must be %q or %q", Open, Decided)
	}
	if f.Category != "" && !validCategory(f.Category) {
		fs.Add("category", "must be one of %q", Categories)
	}
	if f.Flag != "" && f.Flag != FlagBrigade {
		fs.Add("flag", "must be %q", FlagBrigade)
	}
	if f.Limit <= 0 || f.Limit > MaxPage+1 { // one more: a caller looks one ahead for its next page
		fs.Add("limit", "must be 1 to %d", MaxPage)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return s.Store.ListCases(ctx, f)
}

// Reporter returns an account's accuracy per category it has a record in: its record,
// the posterior mean, and whether it is marked as acting in bad faith.
func (s *Service) Reporter(ctx context.Context, id string) ([]Standing, error) {
	if _, err := s.account(ctx, "id", id); err != nil {
		return nil, err
	}
	records, err := s.Store.Accuracy(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]Standing, 0, len(records))
	now := s.cfg.Now()
	for _, cat := range Categories {
		a, ok := records[cat]
		if !ok {
			continue
		}
		rate, err := s.Store.Rate(ctx, cat)
		if err != nil {
			return nil, err
		}
		out = append(out, Standing{Accuracy: *a, Prior: prior(rate),
			Posterior:   Posterior(prior(rate), s.cfg.PriorStrength, a.Actioned, a.Dismissed),
			BadFaithNow: a.BadFaith != nil && a.BadFaith.After(now)})
	}
	return out, nil
}

// Standing is a reporter's accuracy in one category.
type Standing struct {
	Accuracy
	Prior       float64 `json:"prior"`     // the platform-wide rate
	Posterior   float64 `json:"posterior"` // the Beta posterior's mean
	BadFaithNow bool    `json:"bad_faith"`
}

// learn teaches c's reporters from its decision: those of an actioned case gain
// accuracy in its category, those of a dismissed one lose it. It returns the reporters,
// each once. Call it inside the decision's write transaction.
func (s *Service) learn(ctx context.Context, c *Case, actioned bool) (reporters []string, err error) {
	rs, err := s.Store.CaseReports(ctx, c.ID, time.Time{}, 1<<30)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		reporters = append(reporters, r.Reporter)
	}
	slices.Sort(reporters)
	reporters = slices.Compact(reporters)
	return reporters, s.Store.Learn(ctx, c.Category, reporters, actioned)
}

// MarkBadFaith marks reporters of the case as acting in bad faith in its category for
// Config.BadFaithFor: their reports on it stop counting, and their later reports weigh
// nothing until then. Returns errs.Invalid naming reporters not on the case.
func (s *Service) MarkBadFaith(ctx context.Context, id string, reporters []string) (*Case, error) {
	if err := CheckCaseID("id", id); err != nil {
		return nil, err
	}
	if len(reporters) == 0 {
		return nil, errs.Field("reporters", "is required: the reporters acting in bad faith")
	}
	now := s.cfg.Now().UTC()
	until := now.Add(s.cfg.BadFaithFor)
	var c *Case
	err := s.Tx.Write(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.Store.GetCase(ctx, id); err != nil {
			return err
		}
		rs, err := s.Store.CaseReports(ctx, id, time.Time{}, 1<<30)
		if err != nil {
			return err
		}
		mine := map[string][]*Report{}
		for _, r := range rs {
			mine[r.Reporter] = append(mine[r.Reporter], r)
		}
		var fs errs.Fields
		var ids []string
		for i, who := range reporters {
			if len(mine[who]) == 0 {
				fs.Add(fieldIndex("reporters", i), "%q made no report on this case", who)
			}
			for _, r := range mine[who] {
				if !r.Discounted {
					ids = append(ids, r.ID)
					c.Discounted += r.Weight
					r.Discounted = true
				}
			}
		}
		if err := fs.Err(); err != nil {
			return err
		}
		unique := slices.Clone(reporters)
		slices.Sort(unique)
		if err := s.Store.MarkBadFaith(ctx, c.Category, slices.Compact(unique), until); err != nil {
			return err
		}
		if err := s.Store.Discount(ctx, ids); err != nil {
			return err
		}
		if err := s.save(ctx, c, now); err != nil {
			return err
		}
		return s.Audit.Record(ctx, audit.Change{Action: "case.bad_faith", Subject: c.Target,
			Value: map[string]any{"case": id, "reporters": reporters, "until": until}})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
