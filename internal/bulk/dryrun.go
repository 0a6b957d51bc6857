package bulk

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
)

// MaxSamples is how many account IDs a dry run lists of each group.
const MaxSamples = 20

// Counts is how one group of accounts fares.
type Counts struct {
	Accounts   int `json:"accounts"`    // evaluated
	Matched    int `json:"matched"`     // the criteria is true
	Spared     int `json:"spared"`      // matched, and a screen spared them
	Already    int `json:"already"`     // matched, not spared, and sanctioned alike already
	ToSanction int `json:"to_sanction"` // matched, not spared, not sanctioned alike
}

func (c *Counts) add(v verdict) {
	c.Accounts++
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
}

// DryRun is what executing an action now would do.
type DryRun struct {
	Action string `json:"action"`
	Counts
	SparedBy   map[string]int     `json:"spared_by"` // per screen, every screen listed
	EvalErrors int                `json:"eval_errors"`
	ByRegion   map[string]*Counts `json:"by_region"`
	ByVerified map[string]*Counts `json:"by_verified"` // "true", "false"
	ByAge      map[string]*Counts `json:"by_age"`      // see AgeBands
	Samples    Samples            `json:"samples"`
	Seconds    float64            `json:"seconds"`
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

func sample(list []string, id string) []string {
	if len(list) < MaxSamples {
		return append(list, id)
	}
	return list
}

// DryRun evaluates the action over every account, in pages read outside any write
// transaction, and reports who it would hit and who it would spare, changing nothing.
// Returns errs.NotFound, and errs.Invalid if the stored expressions no longer compile.
func (s *Service) DryRun(ctx context.Context, id string) (*DryRun, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c, err := compileAction(s.env, a)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	now := s.now()
	d := &DryRun{Action: a.ID, SparedBy: map[string]int{}, ByRegion: map[string]*Counts{},
		ByVerified: map[string]*Counts{"true": {}, "false": {}}, ByAge: map[string]*Counts{},
		Samples: Samples{Matched: []string{}, Spared: map[string][]string{}, Already: []string{}, ToSanction: []string{}}}
	for _, sc := range a.Screens {
		d.SparedBy[sc.Name] = 0
		d.Samples.Spared[sc.Name] = []string{}
	}
	for _, b := range AgeBands {
		d.ByAge[b] = &Counts{}
	}
	err = s.eachPage(ctx, func(page []*accounts.Account) {
		for _, acc := range page {
			v := c.judge(subjectOf(acc, s.enforce.Active(acc.ID, now.UnixNano())), now, &a.Sanction)
			d.tally(acc, v, now)
		}
	})
	if err != nil {
		return nil, err
	}
	d.Seconds = time.Since(start).Seconds()
	return d, nil
}

func (d *DryRun) tally(acc *accounts.Account, v verdict, now time.Time) {
	d.Counts.add(v)
	d.EvalErrors += v.evalErrs
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

// eachPage calls f with every account, a page at a time in ID order. The next page is
// read while f works on this one.
func (s *Service) eachPage(ctx context.Context, f func([]*accounts.Account)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		page []*accounts.Account
		err  error
	}
	pages := make(chan result, 2)
	go func() {
		defer close(pages)
		after := ""
		for {
			page, err := s.accounts.List(ctx, accounts.Filter{After: after, Limit: s.page})
			select {
			case pages <- result{page, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || len(page) < s.page {
				return
			}
			after = page[len(page)-1].ID
		}
	}()
	for r := range pages {
		if r.err != nil {
			return r.err
		}
		f(r.page)
	}
	return ctx.Err()
}
