package reports

import "time"

// Config tunes weighing and brigade detection. The zero value of each field means its
// default.
type Config struct {
	// NewAge is the age below which an account is new: it weighs NewFactor of
	// what its record says, and counts as related in a burst. Default 30 days.
	NewAge time.Duration
	// NewFactor and SanctionedFactor scale the weight of a new account and of one with
	// an active sanction. Default 0.25 each.
	NewFactor, SanctionedFactor float64
	// PriorStrength is how many decided reports the platform-wide prior counts as: a
	// reporter's record outweighs the prior only past that many. Default 4.
	PriorStrength float64
	// LowAccuracy is the posterior mean below which a reporter counts as related in a
	// burst. Default 0.3.
	LowAccuracy float64
	// Window is the burst window: a case is looked at for brigading over its reports
	// of the last Window. Default 1 hour.
	Window time.Duration
	// Lookback is how far before the window the target's baseline is counted. Default
	// 30 days.
	Lookback time.Duration
	// MinBurst is the fewest reports in a window that make a burst, and BurstFactor how
	// many times the target's baseline per window they must be. Defaults 20 and 10.
	MinBurst    int
	BurstFactor float64
	// RelatedShare is the share of a burst's reporters that must be related for the
	// case to be flagged. Default 0.5.
	RelatedShare float64
	// BadFaithFor is how long a reviewer's bad-faith mark zeroes a reporter's weight.
	// Default 90 days.
	BadFaithFor time.Duration
	// Rules are the signal rules the platform has set up, by rule ID. A signal of an
	// unlisted rule goes to category "other" with weight 0.5.
	Rules map[string]Rule
	// SLA is how long a case may wait in the queue for a decision. Default 72 hours.
	SLA time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Rule is a signal rule's settings.
type Rule struct {
	Category string  `json:"category"`
	Weight   float64 `json:"weight"` // a signal adds Weight × its score to its case
	// Allow, when set, is the one thing the rule may impose by itself: a restrict of
	// the listed capabilities, for at most a while, on authority "automated" with the
	// rule's ID. Never a suspension or a ban. None is allowed by default.
	Allow *Allowance `json:"allow,omitempty"`
}

// Allowance is a narrow automated restriction a policy allows a rule.
type Allowance struct {
	Capabilities []string      `json:"capabilities"`
	For          time.Duration `json:"for"`       // how long the restriction lasts
	MinScore     float64       `json:"min_score"` // signals scoring below it impose nothing
}

// MaxWindowReports caps the reports a burst is judged on: past it, the window's
// earliest reports are left out of the judgement (but still counted).
const MaxWindowReports = 5000

func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	defDur(&c.NewAge, 30*24*time.Hour)
	def(&c.NewFactor, 0.25)
	def(&c.SanctionedFactor, 0.25)
	def(&c.PriorStrength, 4)
	def(&c.LowAccuracy, 0.3)
	defDur(&c.Window, time.Hour)
	defDur(&c.Lookback, 30*24*time.Hour)
	if c.MinBurst == 0 {
		c.MinBurst = 20
	}
	def(&c.BurstFactor, 10)
	def(&c.RelatedShare, 0.5)
	defDur(&c.BadFaithFor, 90*24*time.Hour)
	defDur(&c.SLA, 72*time.Hour)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// prior returns the platform-wide rate of a category as a probability, smoothed so
// that a category without decisions starts at one half.
func prior(r Rate) float64 {
	return (float64(r.Actioned) + 1) / (float64(r.Actioned+r.Dismissed) + 2)
}

// Posterior returns the mean of the Beta posterior of a reporter's accuracy: the prior
// Beta(p·k, (1-p)·k), with p the platform-wide rate and k the prior strength, updated
// by the reporter's actioned and dismissed reports. A new reporter gets p; one lucky
// report moves it by at most 1/(k+1).
func Posterior(p, k float64, actioned, dismissed int) float64 {
	return (p*k + float64(actioned)) / (k + float64(actioned+dismissed))
}

// weigh returns the facts of a reporter and the weight of its report at now.
func (c Config) weigh(rate Rate, acc *Accuracy, created time.Time, sanctioned bool, now time.Time) (Facts, float64) {
	var f Facts
	var actioned, dismissed int
	if acc != nil {
		actioned, dismissed = acc.Actioned, acc.Dismissed
		f.BadFaith = acc.BadFaith != nil && acc.BadFaith.After(now)
	}
	f.Reports = actioned + dismissed
	f.Accuracy = Posterior(prior(rate), c.PriorStrength, actioned, dismissed)
	f.New = now.Sub(created) < c.NewAge
	f.Sanctioned = sanctioned
	w := f.Accuracy
	if f.New {
		w *= c.NewFactor
	}
	if sanctioned {
		w *= c.SanctionedFactor
	}
	if f.BadFaith {
		w = 0
	}
	return f, w
}
