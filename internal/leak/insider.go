package leak

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/principal"
)

// ActionInsider is an insider alert: subject staff:NAME; value: the hour and the
// unusual counts.
const ActionInsider = "leak.insider"

// AlertInsider is the kind of an insider alert.
const AlertInsider = "insider.unusual_access"

// Activity is what one member of staff did in one hour, as the vault's entries and the
// shares record it.
type Activity struct {
	Actor    string // as recorded: a key's name or the vault's pseudonym for it
	Role     principal.Role
	Hour     time.Time // its start
	Reveals  int
	Lookups  int
	Shared   int // records shared
	Accounts int // distinct accounts revealed or looked up, plus the accounts shared
}

// Insider-alert thresholds: an hour is unusual in a count when the count is at least
// InsiderFloor, more than InsiderOwnFactor times the median of the person's own active
// hours of the InsiderBaseline before, and more than InsiderPeerFactor times the median
// of their role's other members' active hours over the same days.
const (
	InsiderFloor      = 20
	InsiderOwnFactor  = 5
	InsiderPeerFactor = 3
	InsiderBaseline   = 7 * 24 * time.Hour
)

// Unusual is one count of an hour far above its baselines.
type Unusual struct {
	Metric string  `json:"metric"` // reveals, lookups, shared or accounts
	Count  int     `json:"count"`
	Own    float64 `json:"own"`   // the median of the person's own active hours before
	Peers  float64 `json:"peers"` // the median of their role's other members' active hours
}

func (a Activity) metrics() [4]int { return [4]int{a.Reveals, a.Lookups, a.Shared, a.Accounts} }

var metricNames = [4]string{"reveals", "lookups", "shared", "accounts"}

func median(xs []int) float64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Sorted(slices.Values(xs))
	n := len(xs)
	if n%2 == 1 {
		return float64(xs[n/2])
	}
	return float64(xs[n/2-1]+xs[n/2]) / 2
}

// unusual returns the counts of cur far above the person's own hours (own, before
// cur's) and their peers' (any hours of the window).
func unusual(cur Activity, own, peers []Activity) []Unusual {
	var out []Unusual
	for m, name := range metricNames {
		var o, p []int
		for _, a := range own {
			o = append(o, a.metrics()[m])
		}
		for _, a := range peers {
			p = append(p, a.metrics()[m])
		}
		v := cur.metrics()[m]
		mo, mp := median(o), median(p)
		if v >= InsiderFloor && float64(v) > InsiderOwnFactor*mo && float64(v) > InsiderPeerFactor*mp {
			out = append(out, Unusual{Metric: name, Count: v, Own: mo, Peers: mp})
		}
	}
	return out
}

// CheckInsiders raises an insider alert (AlertInsider, through the Alerter, audited) for
// each member of staff whose counts in the hour holding at are far above their own and
// their role's baselines (see InsiderFloor), once per person and hour, and returns the
// alerts it raised. People are known by their key's name (pseudonyms resolved through
// the vault), so a person's reveals and shares count together.
func (s *Service) CheckInsiders(ctx context.Context, at time.Time) ([]Alert, error) {
	hour := at.UTC().Truncate(time.Hour)
	acts, err := s.store.Activity(ctx, hour.Add(-InsiderBaseline), hour.Add(time.Hour))
	if err != nil {
		return nil, err
	}
	type key struct {
		name string
		hour time.Time
	}
	staff := staffNames{v: s.vault, known: map[string]string{}}
	merged := map[key]*Activity{}
	pseudonyms := map[string]string{}
	for _, a := range acts {
		name, err := staff.name(ctx, a.Actor)
		if err != nil {
			return nil, err
		}
		if name != a.Actor {
			pseudonyms[name] = a.Actor
		}
		k := key{name, a.Hour.UTC()}
		m := merged[k]
		if m == nil {
			m = &Activity{Actor: name, Role: a.Role, Hour: k.hour}
			merged[k] = m
		}
		m.Reveals += a.Reveals
		m.Lookups += a.Lookups
		m.Shared += a.Shared
		m.Accounts += a.Accounts
	}
	var current []*Activity
	for k, m := range merged {
		if k.hour.Equal(hour) && m.Role != principal.System && m.Role != "" {
			current = append(current, m)
		}
	}
	slices.SortFunc(current, func(a, b *Activity) int { return strings.Compare(a.Actor, b.Actor) })
	var raised []Alert
	for _, cur := range current {
		var own, peers []Activity
		for k, m := range merged {
			switch {
			case k.name == cur.Actor && k.hour.Before(hour):
				own = append(own, *m)
			case k.name != cur.Actor && m.Role == cur.Role:
				peers = append(peers, *m)
			}
		}
		found := unusual(*cur, own, peers)
		if len(found) == 0 {
			continue
		}
		a := Alert{Kind: AlertInsider, At: s.now().UTC(), Actor: cur.Actor, Pseudonym: pseudonyms[cur.Actor], Role: string(cur.Role),
			Hour: hour, Unusual: found}
		created := false
		err := s.tx.Write(ctx, func(ctx context.Context) error {
			var err error
			if created, err = s.store.PutInsiderAlert(ctx, a.Actor, hour); err != nil || !created {
				return err
			}
			if err := s.audit.Record(ctx, audit.Change{Action: ActionInsider, Subject: a.Subject(),
				Value: map[string]any{"hour": hour, "role": a.Role, "unusual": found}}); err != nil {
				return err
			}
			if s.alert != nil {
				return s.alert.Alert(ctx, a)
			}
			return nil
		})
		if err != nil {
			return raised, err
		}
		if created {
			raised = append(raised, a)
		}
	}
	return raised, nil
}

// InsiderWatch checks the current and the previous hour for insider alerts every Poll.
type InsiderWatch struct {
	s    *Service
	poll time.Duration
}

// Insiders returns the worker that raises insider alerts.
func (s *Service) Insiders() *InsiderWatch { return &InsiderWatch{s: s, poll: s.insiderPoll} }

// Run checks until ctx ends; a failed check is tried again at the next tick.
func (w *InsiderWatch) Run(ctx context.Context) error {
	tick := time.NewTicker(w.poll)
	defer tick.Stop()
	for {
		_, _ = w.Tick(ctx) // a failed check is tried again at the next tick
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Tick checks the previous hour (whose last minutes the last tick may have missed) and
// the current one, and returns the alerts raised.
func (w *InsiderWatch) Tick(ctx context.Context) ([]Alert, error) {
	ctx = principal.NewContext(audit.WithRequestID(ctx, "insider-watch"), principal.Steward)
	now := w.s.now()
	prev, err := w.s.CheckInsiders(ctx, now.Add(-time.Hour))
	if err != nil {
		return prev, err
	}
	cur, err := w.s.CheckInsiders(ctx, now)
	return append(prev, cur...), err
}
