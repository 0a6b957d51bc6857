package enforce

import (
	"fmt"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
)

// Policy is a platform rule with a strike ladder: each strike under it that still counts
// moves the next one a step up.
type Policy struct {
	ID         string            `json:"id"`
	Title      map[string]string `json:"title"`  // locale → title; every locale of accounts.Locales
	Clause     map[string]string `json:"clause"` // locale → the clause's text
	ReasonCode string            `json:"reason_code"`
	// Ladder lists the steps: "warning", a duration such as "72h", or "permanent".
	Ladder []string `json:"ladder"`
	// Scope is what the ladder's sanctions deny: a step with a duration suspends the
	// services (or, with capabilities only, restricts them) for that long.
	Scope Scope `json:"scope"`
	// StrikeLifetime is how long a strike counts towards the next step.
	StrikeLifetime Duration `json:"strike_lifetime"`
	// AppealSLA is how long people have to decide an appeal against a sanction under
	// this policy; zero for the appeals' default (72 h).
	AppealSLA Duration  `json:"appeal_sla,omitzero"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DefaultStrikeLifetime is how long a strike counts when a policy does not say.
const DefaultStrikeLifetime = 365 * 24 * time.Hour

// Ladder steps other than durations.
const (
	StepWarning   = "warning"
	StepPermanent = "permanent"
	MaxLadder     = 16
)

// Step is one rung of a ladder, resolved.
type Step struct {
	Kind     Kind
	Duration time.Duration // zero for a warning and for permanent
}

// parseStep reads one ladder step.
func parseStep(s string) (Step, error) {
	switch s {
	case StepWarning:
		return Step{Kind: Warning}, nil
	case StepPermanent:
		return Step{Kind: Ban}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute || d > 100*365*24*time.Hour {
		return Step{}, fmt.Errorf(`must be "warning", "permanent" or a duration from 1m to 876000h such as "72h"`)
	}
	return Step{Kind: Suspend, Duration: d}, nil
}

// StepAt returns the step a strike imposes when n strikes still count: the n-th, or the
// last once the ladder is climbed.
func (p *Policy) StepAt(n int) (int, Step) {
	i := min(n, len(p.Ladder)-1)
	st, _ := parseStep(p.Ladder[i]) // validated when stored
	return i, st
}

// normalize fills defaults.
func (p *Policy) normalize() {
	if p.ReasonCode == "" {
		p.ReasonCode = p.ID
	}
	if p.StrikeLifetime == 0 {
		p.StrikeLifetime = Duration(DefaultStrikeLifetime)
	}
	if p.Scope.Services == nil {
		p.Scope.Services = []string{}
	}
	if p.Scope.Capabilities == nil {
		p.Scope.Capabilities = []string{}
	}
}

// validate checks every field of p and reports all failures at once.
func (p *Policy) validate() error {
	var fs errs.Fields
	if !ValidCode(p.ID) {
		fs.Add("id", "must be %s", CodeRule)
	}
	for _, field := range []struct {
		name string
		m    map[string]string
	}{{"title", p.Title}, {"clause", p.Clause}} {
		for _, loc := range accounts.Locales {
			if v := field.m[loc]; v == "" || len(v) > MaxText {
				fs.Add(field.name+"."+loc, "is required, at most %d bytes", MaxText)
			}
		}
		for loc := range field.m {
			if !isLocale(loc) {
				fs.Add(field.name+"."+loc, "unknown locale: use one of %q", accounts.Locales)
			}
		}
	}
	if !ValidCode(p.ReasonCode) {
		fs.Add("reason_code", "must be %s", CodeRule)
	}
	switch {
	case len(p.Ladder) == 0:
		fs.Add("ladder", `is required: steps such as ["warning", "72h", "168h", "360h", "permanent"]`)
	case len(p.Ladder) > MaxLadder:
		fs.Add("ladder", "at most %d steps", MaxLadder)
	}
	hasCaps := len(p.Scope.Capabilities) > 0
	for i, s := range p.Ladder {
		if _, err := parseStep(s); err != nil {
			fs.Add(fmt.Sprintf("ladder[%d]", i), "%v", err)
		}
	}
	if len(p.Scope.Services) == 0 && !hasCaps {
		fs.Add("scope", "name the services and/or capabilities the ladder's sanctions deny")
	}
	validateScope(&fs, "", p.Scope, "scope.")
	if d := time.Duration(p.StrikeLifetime); d < time.Hour || d > 10*365*24*time.Hour {
		fs.Add("strike_lifetime", "must be from 1h to 87600h")
	}
	if d := time.Duration(p.AppealSLA); d != 0 && (d < time.Hour || d > 90*24*time.Hour) {
		fs.Add("appeal_sla", "must be from 1h to 2160h, or absent for 72h")
	}
	return fs.Err()
}

// sanctionFor returns the kind and scope of a ladder step's sanction: a step with a
// duration suspends the policy's services, or restricts its capabilities when it names
// no services; permanent is a ban, or an endless restriction.
func (p *Policy) sanctionFor(st Step) (Kind, Scope) {
	sc := Scope{Services: append([]string{}, p.Scope.Services...), Capabilities: append([]string{}, p.Scope.Capabilities...)}
	if st.Kind == Warning || len(sc.Services) > 0 {
		return st.Kind, sc
	}
	return Restrict, sc
}

func isLocale(s string) bool {
	for _, l := range accounts.Locales {
		if s == l {
			return true
		}
	}
	return false
}

// Duration is a time.Duration that reads and writes JSON as a string such as "8760h".
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return errs.Field("strike_lifetime", `must be a duration string such as "8760h"`)
	}
	v, err := time.ParseDuration(string(b[1 : len(b)-1]))
	if err != nil {
		return errs.Field("strike_lifetime", `must be a duration string such as "8760h"`)
	}
	*d = Duration(v)
	return nil
}
