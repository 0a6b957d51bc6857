package bulk

import (
	"context"
	"slices"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
)

// MaxSamples is how many account IDs a dry run lists of each group.
const MaxSamples = 20

// Counts is how one group of accounts fares. Each account is in one of: not matched,
// EvalErrors, or Matched (then in one of Spared, Already, ToSanction).
type Counts struct {
	Accounts   int `json:"accounts"`    // evaluated
	Matched    int `json:"matched"`     // the criteria is true, and no screen failed
	Spared     int `json:"spared"`      // matched, and a screen spared them
	Already    int `json:"already"`     // matched, not spared, and sanctioned alike already
	ToSanction int `json:"to_sanction"` // matched, not spared, not sanctioned alike
	// EvalErrors are the accounts on which the criteria or a screen failed at run time:
	// neither matched nor spared; an execution does not sanction them.
	EvalErrors int `json:"eval_errors"`
}

func (c *Counts) add(v verdict) {
	c.Accounts++
	if v.err != nil {
		c.EvalErrors++
		return
	}
	if !v.matched {
		return
	}
	c.Matched++
	switch {
	case v.spared != "":
		c.Spared++
	case v.already:
		c.Already++
	default:
		c.ToSanction++
	}
}

// Samples lists up to MaxSamples account IDs of each group, the first in ID order.
type Samples struct {
	Matched    []string            `json:"matched"`
	Spared     map[string][]string `json:"spared"` // by screen
	Already    []string            `json:"already"`
	ToSanction []string            `json:"to_sanction"`
	EvalErrors []string            `json:"eval_errors"`
}

// EvalError is an evaluation that failed: on which account, in which expression, why.
type EvalError struct {
	Account string `json:"account"`
	Expr    string `json:"expr"` // "criteria" or "screens[name]"
	Message string `json:"message"`
}

// DryRun is what executing an action now would do.
type DryRun struct {
	Action string `json:"action"`
	Counts
	SparedBy map[string]int `json:"spared_by"` // per screen, every screen listed
	// FirstEvalError is the failed evaluation on the account with the smallest ID.
	FirstEvalError *EvalError         `json:"first_eval_error,omitempty"`
	ByRegion       map[string]*Counts `json:"by_region"`
	ByVerified     map[string]*Counts `json:"by_verified"` // "true", "false"
	ByAge          map[string]*Counts `json:"by_age"`      // see AgeBands
	Samples        Samples            `json:"samples"`
	Seconds        float64            `json:"seconds"`
}

// DryRunSummary is what an action keeps of its last dry run.
type DryRunSummary struct {
	At time.Time `json:"at"` // of the first dry run in a row that found these counts
	Counts
	FirstEvalError *EvalError `json:"first_eval_error,omitempty"`
}

// AgeBands are the account-age bands of a dry run's breakdown.
var AgeBands = []string{"<30d", "30d-1y", "1y-5y", ">=5y"}

func ageBand(age time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case age < 30*day:
		return AgeBands[0]
	case age < 365*day:
		return AgeBands[1]
	case age < 5*365*day:
		return AgeBands[2]
	}
	return AgeBands[3]
}

// sample adds id to list, the up to MaxSamples smallest IDs seen, in order.
func sample(list []string, id string) []string {
	if len(list) == MaxSamples && id >= list[MaxSamples-1] {
		return list
	}
	i, found := slices.BinarySearch(list, id)
	if found {
		return list
	}
	list = slices.Insert(list, i, id)
	return list[:min(len(list), MaxSamples)]
}

// DryRun evaluates the action over every account, read in parallel outside any write
// transaction, and reports who it would hit and who it would spare, changing nothing
// but the draft's LastDryRun (see Execute). It stops when ctx ends. Returns
// errs.NotFound, and errs.Invalid if the stored expressions no longer compile.
func (s *Service) DryRun(ctx context.Context, id string) (*DryRun, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := compileAction(s.lang, a)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	now := s.now()
	parts := make([]*DryRun, s.readers)
	judges := make([]*judge, s.readers)
	for i := range parts {
		parts[i], judges[i] = newDryRun(a), c.judge(now, &a.Sanction)
	}
	// Only the columns the expressions read, into memory reused page after page: a
	// page's accounts are judged and dropped (the samples keep IDs, which are not reused).
	o := accounts.ScanOptions{Parts: s.readers, Page: s.page, Skip: accounts.AllColumns &^ c.columns, Reuse: true}
	err = s.accounts.Scan(ctx, o, func(part int, page []*accounts.Account) error {
		d, j := parts[part], judges[part]
		for _, acc := range page {
			v := j.verdict(ctx, acc, s.enforce.Active(acc.ID, now.UnixNano()))
			if v.err != nil {
				if err := ctx.Err(); err != nil {
					return err // stopped, not failed
				}
				if d.FirstEvalError == nil || acc.ID < d.FirstEvalError.Account {
					d.FirstEvalError = j.failure(acc.ID, v)
				}
			}
			d.tally(acc, v, now)
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	d := parts[0]
	for _, p := range parts[1:] {
		d.merge(p)
	}
	d.Seconds = time.Since(start).Seconds()
	sum := &DryRunSummary{At: now.UTC(), Counts: d.Counts, FirstEvalError: d.FirstEvalError}
	if a.State == Draft && !sum.same(a.LastDryRun) {
		if err := s.keepDryRun(ctx, a.ID, sum); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// same reports whether d found what o found. A dry run that finds what the last one did
// writes nothing: a write would make every reader connection of SQLite drop its page
// cache, and the next dry run read every page again (BenchmarkDryRun: 12% slower).
func (d *DryRunSummary) same(o *DryRunSummary) bool {
	if o == nil || d.Counts != o.Counts || (d.FirstEvalError == nil) != (o.FirstEvalError == nil) {
		return false
	}
	return d.FirstEvalError == nil || *d.FirstEvalError == *o.FirstEvalError
}

// keepDryRun stores sum as the last dry run of draft id, and audits it.
func (s *Service) keepDryRun(ctx context.Context, id string, sum *DryRunSummary) error {
	return s.tx.Write(ctx, func(ctx context.Context) error {
		a, err := s.store.Get(ctx, id)
		if err != nil || a.State != Draft {
			return err // executed meanwhile: its execute saw the dry run before
		}
		a.LastDryRun = sum
		a.Version++
		a.UpdatedAt = s.now().UTC()
		if err := s.store.Update(ctx, a); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: "bulk.dry_run", Subject: "bulk:" + id, Value: struct {
			Action string `json:"action"`
			*DryRunSummary
		}{id, sum}})
	})
}

// newDryRun returns an empty dry run of a, listing every screen and age band.
func newDryRun(a *Action) *DryRun {
	d := &DryRun{Action: a.ID, SparedBy: map[string]int{}, ByRegion: map[string]*Counts{},
		ByVerified: map[string]*Counts{"true": {}, "false": {}}, ByAge: map[string]*Counts{},
		Samples: Samples{Matched: []string{}, Spared: map[string][]string{}, Already: []string{}, ToSanction: []string{}, EvalErrors: []string{}}}
	for _, sc := range a.Screens {
		d.SparedBy[sc.Name] = 0
		d.Samples.Spared[sc.Name] = []string{}
	}
	for _, b := range AgeBands {
		d.ByAge[b] = &Counts{}
	}
	return d
}

func (d *DryRun) tally(acc *accounts.Account, v verdict, now time.Time) {
	d.Counts.add(v)
	r := d.ByRegion[acc.Region]
	if r == nil {
		r = &Counts{}
		d.ByRegion[acc.Region] = r
	}
	r.add(v)
	if acc.Verified {
		d.ByVerified["true"].add(v)
	} else {
		d.ByVerified["false"].add(v)
	}
	d.ByAge[ageBand(now.Sub(acc.CreatedAt))].add(v)
	if v.err != nil {
		d.Samples.EvalErrors = sample(d.Samples.EvalErrors, acc.ID)
	}
	if !v.matched {
		return
	}
	d.Samples.Matched = sample(d.Samples.Matched, acc.ID)
	switch {
	case v.spared != "":
		d.SparedBy[v.spared]++
		d.Samples.Spared[v.spared] = sample(d.Samples.Spared[v.spared], acc.ID)
	case v.already:
		d.Samples.Already = sample(d.Samples.Already, acc.ID)
	default:
		d.Samples.ToSanction = sample(d.Samples.ToSanction, acc.ID)
	}
}

// merge adds the tallies of o, a dry run of the same action over other accounts, to d.
func (d *DryRun) merge(o *DryRun) {
	d.Counts.plus(&o.Counts)
	if e := o.FirstEvalError; e != nil && (d.FirstEvalError == nil || e.Account < d.FirstEvalError.Account) {
		d.FirstEvalError = e
	}
	for name, n := range o.SparedBy {
		d.SparedBy[name] += n
	}
	for _, m := range []struct{ to, from map[string]*Counts }{{d.ByRegion, o.ByRegion}, {d.ByVerified, o.ByVerified}, {d.ByAge, o.ByAge}} {
		for k, c := range m.from {
			if m.to[k] == nil {
				m.to[k] = &Counts{}
			}
			m.to[k].plus(c)
		}
	}
	merge := func(to, from []string) []string {
		for _, id := range from {
			to = sample(to, id)
		}
		return to
	}
	d.Samples.Matched = merge(d.Samples.Matched, o.Samples.Matched)
	d.Samples.Already = merge(d.Samples.Already, o.Samples.Already)
	d.Samples.ToSanction = merge(d.Samples.ToSanction, o.Samples.ToSanction)
	d.Samples.EvalErrors = merge(d.Samples.EvalErrors, o.Samples.EvalErrors)
	for name, ids := range o.Samples.Spared {
		d.Samples.Spared[name] = merge(d.Samples.Spared[name], ids)
	}
}

func (c *Counts) plus(o *Counts) {
	c.Accounts += o.Accounts
	c.Matched += o.Matched
	c.Spared += o.Spared
	c.Already += o.Already
	c.ToSanction += o.ToSanction
	c.EvalErrors += o.EvalErrors
}
