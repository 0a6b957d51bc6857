package bulk

import (
	"context"
	"math"
	"slices"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// This file holds what appeals need of bulk actions: how an action's appeals are
// handled (its appeal screens, SLA, quality-review share and what a breached deadline
// does), and the re-screening of one appealing account against the action.

// AppealSettings say how the appeals against an action's sanctions are handled. They may
// be set on the draft, and later by compliance (SetAppeals).
type AppealSettings struct {
	// Screens are named CEL expressions over `account` (as it is now) and `appeal`
	// (AppealSubject): an appealing account one of them (or one of the action's own
	// screens) is true for is released.
	Screens []Screen `json:"appeal_screens,omitempty"`
	// QAPercent of releases also go to a person for quality review; default 5.
	QAPercent *float64 `json:"qa_percent,omitempty"`
	// SLA is how long a person has to decide an appeal, e.g. "72h" (the default).
	SLA string `json:"appeal_sla,omitempty"`
	// OnSLABreach is "release" to lift the sanction provisionally (not as wrongful)
	// when the deadline passes undecided; "" to only raise the appeal's priority.
	OnSLABreach string `json:"on_sla_breach,omitempty"`
}

// SLA bounds.
const (
	MinAppealSLA = time.Hour
	MaxAppealSLA = 90 * 24 * time.Hour
)

// AppealSubject is what appeal screens see of an appeal, as the variable `appeal`.
type AppealSubject struct {
	Statement string           `cel:"statement"`
	Channel   string           `cel:"channel"`
	Evidence  []AppealEvidence `cel:"evidence"`
}

// AppealEvidence is one item of an appeal's evidence, as appeal screens see it.
type AppealEvidence struct {
	Kind   string `cel:"kind"`
	Text   string `cel:"text"`
	SHA256 string `cel:"sha256"`
}

// SLAOf returns the deadline's length the settings give, DefaultSLA when they give none.
func (s AppealSettings) SLAOf(def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s.SLA); err == nil && s.SLA != "" {
		return d
	}
	return def
}

// QA returns the share of releases a person reviews, in percent.
func (s AppealSettings) QA() float64 {
	if s.QAPercent == nil {
		return 5
	}
	return *s.QAPercent
}

// appealLanguage returns the language appeal screens compile in: the action's, with
// `appeal`.
func appealLanguage(maxCost uint64) (*language, error) {
	return newLanguage(maxCost, cel.Variable("appeal", cel.ObjectType("bulk.AppealSubject")))
}

// check validates the settings and returns the appeal screens compiled, or errs.Invalid
// naming every field at fault.
func (s *AppealSettings) check(l *language) ([]program, error) {
	var fs errs.Fields
	if q := s.QAPercent; q != nil && (math.IsNaN(*q) || *q < 0 || *q > 100) {
		fs.Add("qa_percent", "must be from 0 to 100")
	}
	if s.SLA != "" {
		if d, err := time.ParseDuration(s.SLA); err != nil || d < MinAppealSLA || d > MaxAppealSLA {
			fs.Add("appeal_sla", `must be a duration from 1h to 2160h, such as "72h"`)
		}
	}
	switch s.OnSLABreach {
	case "", "release":
	default:
		fs.Add("on_sla_breach", `must be "release" or absent`)
	}
	if len(s.Screens) > MaxScreens {
		fs.Add("appeal_screens", "at most %d screens, not %d", MaxScreens, len(s.Screens))
		return nil, fs.Err()
	}
	var prgs []program
	seen := map[string]bool{}
	for _, sc := range s.Screens {
		field := "appeal_screens[" + sc.Name + "]"
		switch {
		case !namePattern.MatchString(sc.Name):
			fs.Add(field, "name must be 1 to 64 letters, digits, space or _ . : -")
			continue
		case seen[sc.Name]:
			fs.Add(field, "duplicate screen name")
			continue
		}
		seen[sc.Name] = true
		prg, _, err := l.compile(field, sc.Expr)
		if err != nil {
			fs = append(fs, errs.FieldsOf(err)...)
			continue
		}
		prgs = append(prgs, prg)
	}
	return prgs, fs.Err()
}

// SetAppeals replaces how the action's appeals are handled, audited as
// bulk.set_appeals. Only compliance (and admins) may change them once the action has
// left its draft; the author may while it is a draft. Returns errs.Invalid naming the
// fields at fault, errs.Forbidden, errs.NotFound.
func (s *Service) SetAppeals(ctx context.Context, id string, set AppealSettings) (*Action, error) {
	if _, err := set.check(s.appealLang); err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	return s.transition(ctx, id, "set_appeals", struct {
		Action string `json:"action"`
		AppealSettings
	}{id, set}, func(a *Action, now time.Time) error {
		switch actor.Role {
		case principal.Compliance, principal.Admin, principal.System:
		default:
			if a.State != Draft {
				return errs.E(errs.Forbidden, "only compliance may change the appeal settings of bulk action %s once it has left its draft", a.ID)
			}
		}
		if set.Screens == nil {
			set.Screens = []Screen{}
		}
		a.AppealSettings = set
		return nil
	})
}

// Rescreen judges an appealing account against the action that sanctioned it, as the
// account is now: it returns the name of the first of the action's screens, then its
// appeal screens, that spares it, or "" when none does (or the account no longer meets
// the criteria: then "criteria"). An expression that fails at run time is an error:
// people decide. Returns errs.NotFound for an unknown action.
func (s *Service) Rescreen(ctx context.Context, id string, acct *accounts.Account, active []enforce.Entry, ap AppealSubject) (string, error) {
	a, err := s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	c, err := s.compiled(a)
	if err != nil {
		return "", err
	}
	prgs, err := s.appealPrograms(a)
	if err != nil {
		return "", err
	}
	j := c.judge(s.now().UTC(), &a.Sanction)
	// The sanction under appeal is active: it is no reason to spare or keep.
	j.sub.set(acct, active)
	ok, err := j.c.criteria.eval(ctx, &j.vars)
	if err != nil {
		return "", err
	}
	if !ok {
		return "criteria", nil
	}
	for i, prg := range j.c.screens {
		if ok, err := prg.eval(ctx, &j.vars); err != nil {
			return "", err
		} else if ok {
			return j.c.names[i], nil
		}
	}
	av := &appealVars{vars: &j.vars, appeal: &ap}
	for i, prg := range prgs {
		if ok, err := prg.eval(ctx, av); err != nil {
			return "", err
		} else if ok {
			return a.AppealSettings.Screens[i].Name, nil
		}
	}
	return "", nil
}

// appealPrograms returns the action's appeal screens compiled, once per version.
func (s *Service) appealPrograms(a *Action) ([]program, error) {
	key := appealKey{a.ID, a.Version}
	if p, ok := s.appealProgs.Load(key); ok {
		return p.([]program), nil
	}
	prgs, err := a.AppealSettings.check(s.appealLang)
	if err != nil {
		return nil, err
	}
	s.appealProgs.Store(key, prgs)
	return prgs, nil
}

type appealKey struct {
	id      string
	version int64
}

// appealVars are what appeal screens see: the action's variables and `appeal`.
type appealVars struct {
	*vars
	appeal *AppealSubject
}

func (v *appealVars) ResolveName(name string) (any, bool) {
	if name == "appeal" {
		return v.appeal, true
	}
	return v.vars.ResolveName(name)
}

// Deciders returns the principals who may not decide an appeal against a's sanctions:
// its author, and whoever executed or resumed it.
func (a *Action) Deciders() []principal.Principal {
	out := []principal.Principal{a.Author}
	for _, p := range a.Resumers {
		if !slices.ContainsFunc(out, p.Is) {
			out = append(out, p)
		}
	}
	return out
}

// recordResumer adds the actor in ctx to a's resumers.
func (a *Action) recordResumer(ctx context.Context) {
	p := principal.FromContext(ctx)
	if p.IsSystem() || slices.ContainsFunc(a.Resumers, p.Is) || p.Is(a.Author) {
		return
	}
	a.Resumers = append(a.Resumers, p)
}
