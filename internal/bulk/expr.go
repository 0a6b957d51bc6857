package bulk

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
)

// Subject is what a criteria or screen expression sees of one account, as the variable
// `account`. Expressions also see `now`, the timestamp of the evaluation, for ages:
// `now - account.created_at > duration("8760h")`.
type Subject struct {
	ID         string            `cel:"id"`
	Region     string            `cel:"region"`
	Verified   bool              `cel:"verified"`
	CreatedAt  time.Time         `cel:"created_at"`
	Locale     string            `cel:"locale"`
	Attributes map[string]any    `cel:"attributes"` // numbers are doubles
	Linked     []SubjectLink     `cel:"linked"`
	Sanctions  []SubjectSanction `cel:"sanctions"` // active now; warnings are not listed
}

// SubjectLink is one linked account, as expressions see it.
type SubjectLink struct {
	Service string `cel:"service"`
	Account string `cel:"account"`
}

// SubjectSanction is one active sanction, as expressions see it.
type SubjectSanction struct {
	Kind         string   `cel:"kind"`
	Services     []string `cel:"services"`
	Capabilities []string `cel:"capabilities"`
	ReasonCode   string   `cel:"reason_code"`
	Policy       string   `cel:"policy"`
}

// set makes s what expressions see of a, with its active sanctions es, reusing s's lists.
func (s *Subject) set(a *accounts.Account, es []enforce.Entry) {
	s.ID, s.Region, s.Verified, s.CreatedAt, s.Locale = a.ID, a.Region, a.Verified, a.CreatedAt, a.Locale
	s.Attributes = a.Attributes
	if s.Attributes == nil {
		s.Attributes = map[string]any{}
	}
	s.Linked = s.Linked[:0]
	for _, l := range a.Linked {
		s.Linked = append(s.Linked, SubjectLink(l))
	}
	s.Sanctions = s.Sanctions[:0]
	for _, e := range es {
		s.Sanctions = append(s.Sanctions, SubjectSanction{Kind: string(e.Kind), Services: e.Services,
			Capabilities: e.Capabilities, ReasonCode: e.ReasonCode, Policy: e.Policy})
	}
}

// newEnv returns the CEL environment every expression compiles in, with more (the
// appeal screens' `appeal`) when given.
func newEnv(more ...cel.EnvOption) (*cel.Env, error) {
	return cel.NewEnv(append([]cel.EnvOption{
		ext.NativeTypes(reflect.TypeFor[Subject](), reflect.TypeFor[AppealSubject](), types.ParseStructTag("cel")),
		cel.Variable("account", cel.ObjectType("bulk.Subject")),
		cel.Variable("now", cel.TimestampType), // when the dry run or execution fixes its targets
		ext.Strings(),
	}, more...)...)
}

// MaxCost is the default of Config.MaxCost: the most one expression may cost, in CEL's
// cost units (about one per operation, and one per element a comprehension or a string
// function walks). The sweeps in the tests and the README estimate under 30, a walk of
// every active sanction's services about 25,000; four comprehensions nested over a list
// of 100, 10⁸. An evaluation that reaches it stops after about 20 ms of one core.
const MaxCost = 100_000

// interruptEvery is how many comprehension iterations an evaluation runs between looks at
// its context: a cancelled dry run, a pause or a shutdown stops it at the next look.
const interruptEvery = 100

// MaxExpr is the longest expression accepted, in bytes.
const MaxExpr = 4096

// language compiles expressions in the environment, within a cost budget.
type language struct {
	env     *cel.Env
	maxCost uint64 // estimated at compile time and enforced per evaluation; MaxUint64 for none
}

func newLanguage(maxCost uint64, more ...cel.EnvOption) (*language, error) {
	env, err := newEnv(more...)
	if err != nil {
		return nil, err
	}
	if maxCost == 0 {
		maxCost = MaxCost
	}
	return &language{env: env, maxCost: maxCost}, nil
}

// check returns an Invalid error on field when expr is empty or too long; it compiles
// nothing, so a request with too much to compile is refused before any compiling.
func checkExpr(field, expr string) error {
	if strings.TrimSpace(expr) == "" {
		return errs.Field(field, "is required: a CEL expression over `account`")
	}
	if len(expr) > MaxExpr {
		return errs.Field(field, "at most %d bytes", MaxExpr)
	}
	return nil
}

// compile type-checks expr as a boolean expression and returns it with the optional
// account columns it reads. A syntax or type error is an Invalid error on field, naming
// the position (line:column) of the first problem when CEL knows it; so is an expression
// whose estimated cost, at the limits of what an account carries, is over the budget.
func (l *language) compile(field, expr string) (program, accounts.Columns, error) {
	if err := checkExpr(field, expr); err != nil {
		return program{}, 0, err
	}
	ast, iss := l.env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		e := iss.Errors()[0]
		if loc := e.Location; loc != nil && loc.Line() > 0 {
			return program{}, 0, errs.Field(field, "CEL error at line %d, column %d: %s", loc.Line(), loc.Column()+1, e.Message)
		}
		return program{}, 0, errs.Field(field, "CEL error: %s", e.Message)
	}
	if !ast.OutputType().IsExactType(cel.BoolType) && ast.OutputType() != cel.DynType {
		return program{}, 0, errs.Field(field, "must be a boolean expression, not %s", ast.OutputType())
	}
	est, err := l.env.EstimateCost(ast, sizes{})
	if err != nil {
		return program{}, 0, errs.Field(field, "CEL cost estimate: %v", err)
	}
	if est.Max > l.maxCost {
		return program{}, 0, errs.Field(field, "may cost up to %d per account, over the limit of %d: nested comprehensions multiply their sizes", est.Max, l.maxCost)
	}
	p := program{loops: hasComprehension(ast)}
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if p.loops {
		opts = append(opts, cel.InterruptCheckFrequency(interruptEvery))
		if l.maxCost < math.MaxUint64 {
			opts = append(opts, cel.CostLimit(l.maxCost))
		}
	}
	if p.prg, err = l.env.Program(ast, opts...); err != nil {
		return program{}, 0, errs.Field(field, "CEL: %v", err)
	}
	return p, columnsRead(ast), nil
}

// program is a compiled expression. Only a comprehension (exists, all, map, …) can cost
// more than its estimate, over more active sanctions than the estimate assumes, and only
// a comprehension looks whether its evaluation was cancelled: an expression without one
// is evaluated without cost tracking or a context, which would make it three times
// slower (about 300 ns against 1 µs for the sweep's criteria).
type program struct {
	prg   cel.Program
	loops bool
}

// eval runs p over act until it ends, costs more than the budget, or ctx ends. What an
// error means is the caller's to say (see judge.verdict).
func (p program) eval(ctx context.Context, act any) (bool, error) {
	var out ref.Val
	var err error
	if p.loops {
		out, _, err = p.prg.ContextEval(ctx, act)
	} else {
		out, _, err = p.prg.Eval(act)
	}
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("not a boolean: %v", out)
	}
	return b, nil
}

func hasComprehension(a *cel.Ast) bool {
	found := false
	celast.PostOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		found = found || e.Kind() == celast.ComprehensionKind
	}))
	return found
}

// subjectColumns are the optional account columns behind the Subject's fields.
var subjectColumns = map[string]accounts.Columns{
	"locale": accounts.WithLocale, "attributes": accounts.WithAttributes, "linked": accounts.WithLinked,
}

// columnsRead returns the optional account columns an expression reads: those of the
// fields it selects on `account`, or all of them when it uses `account` any other way.
func columnsRead(a *cel.Ast) accounts.Columns {
	var cols accounts.Columns
	uses, selects := 0, 0
	celast.PostOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.IdentKind:
			if e.AsIdent() == "account" {
				uses++
			}
		case celast.SelectKind:
			if op := e.AsSelect().Operand(); op.Kind() == celast.IdentKind && op.AsIdent() == "account" {
				selects++
				cols |= subjectColumns[e.AsSelect().FieldName()]
			}
		}
	}))
	if uses != selects {
		return accounts.AllColumns
	}
	return cols
}
