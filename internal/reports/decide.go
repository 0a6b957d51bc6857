package reports

import (
	"context"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/review"
)

// Outcome is what a reviewer decided of a case.
type Outcome string

const (
	Action  Outcome = "action"  // a sanction or a strike was imposed through enforce
	Dismiss Outcome = "dismiss" // nothing was imposed
)

// Imposition is a sanction a decision (or a rule a policy allows) asks for. Reports
// never impose themselves: an Imposer outside the package does, through enforce.
type Imposition struct {
	Account      string
	Kind         string // warning, restrict, suspend, ban
	Services     []string
	Capabilities []string
	For          time.Duration // how long it lasts from when it is imposed; 0: no end
	ReasonCode   string
	Policy       string
	Detail       string
	Evidence     []string
	Strike       bool   // the next step of Policy's ladder instead of Kind…
	Rule         string // set for an automated restriction: its authority is the rule
}

// Imposer imposes sanctions. Returns errs.Invalid naming the fields at fault (as the
// sanction's own names) and whatever enforce returns.
type Imposer interface {
	Impose(ctx context.Context, im Imposition) (sanction string, err error)
}

// Decision is a reviewer's decision on a case they hold.
type Decision struct {
	Outcome  Outcome           `json:"outcome"`
	Policy   string            `json:"policy"`
	Sanction *DecisionSanction `json:"sanction"`
	Strike   bool              `json:"strike"`
	Note     string            `json:"note"`
}

// DecisionSanction is the sanction an action imposes.
type DecisionSanction struct {
	Kind         string   `json:"kind"`
	Services     []string `json:"services"`
	Capabilities []string `json:"capabilities"`
	Duration     string   `json:"duration"` // "72h"; none for a ban or a warning
	ReasonCode   string   `json:"reason_code"`
}

// MaxNote bounds a decision's note.
const MaxNote = 4000

func (d *Decision) check() (time.Duration, error) {
	var fs errs.Fields
	var dur time.Duration
	switch d.Outcome {
	case Action:
		if d.Policy == "" {
			fs.Add("policy", "is required for an action: the policy the target broke")
		}
		switch {
		case d.Strike && d.Sanction != nil:
			fs.Add("sanction", `give either "sanction" or "strike": true, not both`)
		case !d.Strike && d.Sanction == nil:
			fs.Add("sanction", `is required for an action, or "strike": true`)
		case d.Sanction != nil && d.Sanction.Duration != "":
			var err error
			if dur, err = time.ParseDuration(d.Sanction.Duration); err != nil || dur <= 0 {
				fs.Add("sanction.duration", `must be a positive duration such as "72h"`)
			}
		}
	case Dismiss:
		if d.Sanction != nil || d.Strike {
			fs.Add("outcome", "a dismissal imposes nothing: leave out sanction and strike")
		}
	default:
		fs.Add("outcome", `must be "action" or "dismiss"`)
	}
	if d.Note == "" || len(d.Note) > MaxNote {
		fs.Add("note", "is required, at most %d bytes", MaxNote)
	}
	return dur, fs.Err()
}

// Claim leases up to r.N open cases to the reviewer in ctx, highest score first, and
// returns them. Returns errs.Invalid naming the request's bad fields.
func (s *Service) Claim(ctx context.Context, r review.ClaimRequest) ([]*Case, error) {
	n, lease, err := r.Check()
	if err != nil {
		return nil, err
	}
	p := principal.FromContext(ctx)
	out := []*Case{}
	err = s.Tx.Write(ctx, func(ctx context.Context) error {
		now := s.cfg.Now().UTC()
		ids, err := s.Queue.Claim(ctx, Queue, p.Identity(), n, now, now.Add(lease))
		if err != nil || len(ids) == 0 {
			return err
		}
		for _, id := range ids {
			c, err := s.Store.GetCase(ctx, id)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return s.Audit.Record(ctx, audit.Change{Action: "case.claim", Subject: "queue:" + Queue, Value: struct {
			Cases []string  `json:"cases"`
			Until time.Time `json:"until"`
		}{ids, now.Add(lease)}})
	})
	return out, err
}

// Protected reports whether an account is protected (attributes.protected is true: a
// platform's own bot or an official account), so that two reviewers must action it.
func protected(attrs map[string]any) bool {
	v, _ := attrs["protected"].(bool)
	return v
}

// Decide decides a case the reviewer in ctx holds the lease of. Action imposes through
// the Imposer, the evidence listing the case and its reports; dismiss imposes nothing.
// Either closes the case, teaches its reporters and tells each the outcome. A protected
// target's case needs two reviewers to be actioned: the first action is an approval that
// sends the case back to the queue for anyone else. Returns errs.Invalid naming the
// fields at fault, errs.Forbidden when four eyes keep the reviewer off it, errs.Conflict
// when the reviewer does not hold its lease or it is decided already, errs.NotFound.
func (s *Service) Decide(ctx context.Context, id string, d Decision) (*Case, error) {
	if err := CheckCaseID("id", id); err != nil {
		return nil, err
	}
	dur, err := d.check()
	if err != nil {
		return nil, err
	}
	p := principal.FromContext(ctx)
	var out *Case
	err = s.Tx.Write(ctx, func(ctx context.Context) error {
		c, err := s.Store.GetCase(ctx, id)
		if err != nil {
			return err
		}
		if c.State != Open {
			return errs.E(errs.Conflict, "case %s is %s already", id, c.State)
		}
		now := s.cfg.Now().UTC()
		it, err := s.Queue.Get(ctx, Queue, id)
		if err != nil {
			return err
		}
		if err := it.MayDecide(p, now); err != nil {
			return err
		}
		target, err := s.Accounts.Get(ctx, c.Target)
		if err != nil {
			return err
		}
		if d.Outcome == Action && protected(target.Attributes) && len(c.Approvals) == 0 {
			// The first of two reviewers: the approval waits for a second, never this one.
			c.Approvals = append(c.Approvals, p)
			it.Excluded = append(it.Excluded, p.Identity())
			it.Holder, it.LeaseUntil = "", time.Time{}
			if err := s.Queue.Put(ctx, it); err != nil {
				return err
			}
			c.Note = d.Note
			if err := s.save(ctx, c, now); err != nil {
				return err
			}
			out = c
			return s.Audit.Record(ctx, audit.Change{Action: "case.approve", Subject: c.Target, Value: c})
		}
		if d.Outcome == Action {
			if c.Sanction, err = s.impose(ctx, c, d, dur); err != nil {
				return err
			}
		}
		c.State, c.Outcome, c.Note, c.DecidedBy, c.DecidedAt = Decided, d.Outcome, d.Note, &p, &now
		reporters, err := s.learn(ctx, c, d.Outcome == Action)
		if err != nil {
			return err
		}
		if err := s.save(ctx, c, now); err != nil {
			return err
		}
		if err := s.Queue.Remove(ctx, Queue, id); err != nil {
			return err
		}
		out = c
		if err := s.Audit.Record(ctx, audit.Change{Action: "case.decide", Subject: c.Target, Value: c}); err != nil {
			return err
		}
		return s.tell(ctx, CaseChange{Event: CaseDecided, Case: c, At: now, Reporters: reporters})
	})
	return out, err
}

// impose imposes the decision's sanction or strike on c's target and returns its ID.
func (s *Service) impose(ctx context.Context, c *Case, d Decision, dur time.Duration) (string, error) {
	evidence := []string{"case:" + c.ID}
	rs, err := s.Store.CaseReports(ctx, c.ID, time.Time{}, 31)
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if !r.Discounted && len(evidence) < 32 {
			evidence = append(evidence, "report:"+r.ID)
		}
	}
	im := Imposition{Account: c.Target, Policy: d.Policy, ReasonCode: c.Category, Detail: d.Note, Evidence: evidence, Strike: d.Strike}
	if sn := d.Sanction; sn != nil {
		im.Kind, im.Services, im.Capabilities = sn.Kind, sn.Services, sn.Capabilities
		if sn.ReasonCode != "" {
			im.ReasonCode = sn.ReasonCode
		}
		im.For = dur
	}
	id, err := s.Imposer.Impose(ctx, im)
	if fs := errs.Fields(errs.FieldsOf(err)); errs.CodeOf(err) == errs.Invalid && len(fs) > 0 && !d.Strike {
		for i := range fs {
			fs[i].Field = strings.TrimPrefix(fs[i].Field, "scope.") // DecisionSanction is flat
		}
		return "", fs.Prefix("sanction.").Err()
	}
	return id, err
}

// automated imposes the restriction sg's rule is allowed, if any, and returns its ID.
func (s *Service) automated(ctx context.Context, sg *Signal, rule Rule) (string, error) {
	a := rule.Allow
	if a == nil || len(a.Capabilities) == 0 || a.For <= 0 || sg.Score < a.MinScore || s.Imposer == nil {
		return "", nil
	}
	return s.Imposer.Impose(ctx, Imposition{Account: sg.Account, Kind: "restrict", Capabilities: a.Capabilities, For: a.For,
		ReasonCode: sg.Category, Detail: "automated rule " + sg.Rule, Evidence: []string{"signal:" + sg.ID}, Rule: sg.Rule})
}
