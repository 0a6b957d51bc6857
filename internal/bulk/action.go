package bulk

import (
	"context"
	"regexp"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// State is where an action is in its life.
type State string

const (
	Draft     State = "draft"     // created; may be dry-run; nothing changed yet
	Preparing State = "preparing" // executing: fixing the targets
	Running   State = "running"   // executing: sanctioning targets in batches
	Canary    State = "canary"    // the canary share is done; waits for resume
	Paused    State = "paused"    // stopped by a person; waits for resume
	Done      State = "done"      // every target sanctioned
	Reverting State = "reverting" // lifting the sanctions it made
	Reverted  State = "reverted"  // every sanction it made is lifted
)

// Screen is a named CEL expression: a matched account it is true for is spared.
type Screen struct {
	Name string `json:"name"`
	Expr string `json:"expr"`
}

// Template is the sanction an action imposes on each target, as in POST /v1/sanctions
// without the account: its source is always bulk, its start the moment of the batch.
type Template struct {
	Kind       enforce.Kind  `json:"kind"`
	Scope      enforce.Scope `json:"scope"`
	Duration   string        `json:"duration,omitempty"` // e.g. "72h"; required for suspend and restrict-with-end; none for a ban
	ReasonCode string        `json:"reason_code"`
	Policy     string        `json:"policy,omitempty"`
	Clause     string        `json:"clause,omitempty"`
	Detail     string        `json:"detail,omitempty"`
	Evidence   []string      `json:"evidence,omitempty"`
}

// Progress is how far an execution or a revert has come.
type Progress struct {
	Accounts    int       `json:"accounts"`     // accounts to scan for targets, counted at execute
	Scanned     int       `json:"scanned"`      // of those, scanned so far
	Total       int       `json:"total"`        // targets fixed (so far, while preparing)
	Done        int       `json:"done"`         // targets sanctioned
	Reverted    int       `json:"reverted"`     // of those, lifted by a revert
	ScanCursor  string    `json:"scan_cursor"`  // preparing: the last account ID scanned
	CanaryCount int       `json:"canary_count"` // targets in the canary share
	CanaryDone  bool      `json:"canary_done"`
	PhaseStart  time.Time `json:"phase_start,omitzero"` // when the current run of batches started
	PhaseFrom   int       `json:"phase_from"`           // Scanned, Done or Reverted then, for the rate
	// EvalErrors are the accounts scanned on which an expression failed, left
	// unsanctioned (only with ExecuteRequest.AllowEvalErrors; otherwise the first pauses).
	EvalErrors int `json:"eval_errors"`
	// Regions counts the targets fixed so far by region, CanaryRegions those of them in
	// the canary, and CanaryDrawn all of those (see canary.go).
	Regions       map[string]int `json:"regions,omitempty"`
	CanaryRegions map[string]int `json:"canary_regions,omitempty"`
	CanaryDrawn   int            `json:"canary_drawn,omitempty"`
}

// Action is one bulk action.
type Action struct {
	ID            string              `json:"id"`
	Name          string              `json:"name"`
	Criteria      string              `json:"criteria"`
	Screens       []Screen            `json:"screens"`
	Sanction      Template            `json:"sanction"`
	Authority     authority.Authority `json:"authority"`
	NotifyUsers   bool                `json:"notify_users"` // targets get notices; webhooks get events anyway (stored as "notify" before)
	State         State               `json:"state"`
	CanaryPercent float64             `json:"canary_percent"`
	CanarySeed    uint64              `json:"canary_seed,omitempty,string"` // draws the canary (canary.go); 0 before it was drawn
	Progress      Progress            `json:"progress"`
	Resumes       State               `json:"resumes,omitempty"` // paused: the state resume returns to
	// Error says why the runner paused the action itself (an expression failed, or the
	// stored action no longer compiles); resume and revert clear it.
	Error string `json:"error,omitempty"`
	// LastDryRun is the last dry run of the draft, in short.
	LastDryRun      *DryRunSummary      `json:"last_dry_run,omitempty"`
	AllowEvalErrors bool                `json:"allow_eval_errors,omitempty"` // as executed (see ExecuteRequest)
	RevertReason    string              `json:"revert_reason,omitempty"`
	RevertBy        principal.Principal `json:"revert_by,omitzero"`
	Author          principal.Principal `json:"author"`
	// Resumers are those besides the author who executed or resumed the action: like
	// the author, four eyes keep them off its appeals.
	Resumers []principal.Principal `json:"resumers,omitempty"`
	// Hold, when set, freezes each target's wallet besides sanctioning it.
	Hold *HoldSpec `json:"hold,omitempty"`
	// AppealSettings say how appeals against its sanctions are handled.
	AppealSettings
	Version   int64     `json:"version"` // bumped on every write; guards concurrent runners
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Target is one account an execution sanctions, in the order it does so. The sanction's
// ID is chosen when the target is fixed, so a batch run twice cannot make two.
type Target struct {
	Ord      int64  `json:"ord"` // stored: its number (canary.go); served: its place in that order, from 1
	Account  string `json:"account"`
	Sanction string `json:"sanction"`
}

// Store keeps actions and their targets. Writes must be called inside a write
// transaction (see package txn).
type Store interface {
	// Insert stores a new action.
	Insert(ctx context.Context, a *Action) error
	// Get returns the action. Returns errs.NotFound when there is none.
	Get(ctx context.Context, id string) (*Action, error)
	// Update replaces the action if its stored version is a.Version-1. Returns
	// errs.Conflict when another writer changed it first, errs.NotFound when there is none.
	Update(ctx context.Context, a *Action) error
	// Active returns the IDs of actions in the given states, oldest first.
	Active(ctx context.Context, states ...State) ([]string, error)
	// AddTargets stores targets of action.
	AddTargets(ctx context.Context, action string, ts []Target) error
	// Targets returns up to limit targets of action with Ord > after and <= upto, in order.
	Targets(ctx context.Context, action string, after, upto int64, limit int) ([]Target, error)
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$`)

// MaxScreens is the most screens one action may have.
const MaxScreens = 32

// compiled is an action's expressions, compiled once.
type compiled struct {
	criteria program
	screens  []program
	names    []string
	columns  accounts.Columns // the optional account columns the expressions read
}

// compileAction validates a's expressions and returns them compiled, or an Invalid error
// naming every expression at fault ("criteria", "screens[name]") and the position. The
// count of screens, their names and the expressions' lengths are checked first: a
// request with too much to compile is refused before anything is compiled.
func compileAction(l *language, a *Action) (*compiled, error) {
	var fs errs.Fields
	if err := checkExpr("criteria", a.Criteria); err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	}
	if len(a.Screens) > MaxScreens {
		fs.Add("screens", "at most %d screens, not %d", MaxScreens, len(a.Screens))
		return nil, fs.Err()
	}
	seen := map[string]bool{}
	for _, s := range a.Screens {
		field := "screens[" + s.Name + "]"
		switch {
		case !namePattern.MatchString(s.Name):
			fs.Add(field, "name must be 1 to 64 letters, digits, space or _ . : -")
		case seen[s.Name]:
			fs.Add(field, "duplicate screen name")
		default:
			if err := checkExpr(field, s.Expr); err != nil {
				fs = append(fs, errs.FieldsOf(err)...)
			}
		}
		seen[s.Name] = true
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	c := &compiled{}
	add := func(field, expr string) program {
		prg, cols, err := l.compile(field, expr)
		if err != nil {
			fs = append(fs, errs.FieldsOf(err)...)
		}
		c.columns |= cols
		return prg
	}
	c.criteria = add("criteria", a.Criteria)
	for _, s := range a.Screens {
		c.screens = append(c.screens, add("screens["+s.Name+"]", s.Expr))
		c.names = append(c.names, s.Name)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// verdict is what an action makes of one account: unmatched, matched (and then spared,
// sanctioned alike already, or to sanction), or failed.
type verdict struct {
	matched bool
	spared  string // the screen that spared it; "" when none did
	already bool   // matched, not spared, and sanctioned alike already
	err     error  // an expression failed at run time: neither matched nor spared
	failed  int    // which: -1 the criteria, i screen i
}

// judge evaluates an action's expressions over one account after another, reusing what
// the expressions see (the Subject and the variables), which they do not keep. One judge
// serves one goroutine.
type judge struct {
	c    *compiled
	tmpl *Template
	sub  Subject
	vars vars
}

// judge returns a judge of accounts at now, against the sanction template tmpl.
func (c *compiled) judge(now time.Time, tmpl *Template) *judge {
	j := &judge{c: c, tmpl: tmpl}
	j.vars = vars{account: &j.sub, now: types.Timestamp{Time: now}} // boxed once
	return j
}

// vars are the variables expressions see.
type vars struct {
	account *Subject
	now     any
}

func (v *vars) ResolveName(name string) (any, bool) {
	switch name {
	case "account":
		return v.account, true
	case "now":
		return v.now, true
	}
	return nil, false
}

func (v *vars) Parent() interpreter.Activation { return nil }

// verdict evaluates the action over account a, with its active sanctions es, until ctx
// ends. An expression that fails at run time (a missing attribute, a wrong type, the cost
// limit) makes the verdict an error: the account is neither matched nor spared, and an
// execution does not sanction it.
func (j *judge) verdict(ctx context.Context, a *accounts.Account, es []enforce.Entry) verdict {
	v := verdict{failed: -1}
	j.sub.set(a, es)
	ok, err := j.c.criteria.eval(ctx, &j.vars)
	if err != nil || !ok {
		v.err = err
		return v
	}
	for i, prg := range j.c.screens {
		ok, err := prg.eval(ctx, &j.vars)
		if err != nil {
			v.err, v.failed = err, i
			return v
		}
		if ok {
			v.matched, v.spared = true, j.c.names[i]
			return v
		}
	}
	v.matched = true
	v.already = alike(j.sub.Sanctions, j.tmpl)
	return v
}

// failure describes v's error on account id.
func (j *judge) failure(id string, v verdict) *EvalError {
	expr := "criteria"
	if v.failed >= 0 {
		expr = "screens[" + j.c.names[v.failed] + "]"
	}
	return &EvalError{Account: id, Expr: expr, Message: v.err.Error()}
}

// alike reports whether one of the active sanctions is of the template's kind and
// covers at least its scope.
func alike(ss []SubjectSanction, t *Template) bool {
	for _, s := range ss {
		if s.Kind != string(t.Kind) {
			continue
		}
		if covers(s.Services, t.Scope.Services, true) && covers(s.Capabilities, t.Scope.Capabilities, false) {
			return true
		}
	}
	return false
}

func covers(have, want []string, services bool) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h == w || (services && h == enforce.AllServices) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
