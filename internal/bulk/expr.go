package bulk

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
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

// newEnv returns the CEL environment every expression compiles in.
func newEnv() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[Subject](), types.ParseStructTag("cel")),
		cel.Variable("account", cel.ObjectType("bulk.Subject")),
		cel.Variable("now", cel.TimestampType), // when the dry run or execution fixes its targets
		ext.Strings(),
	)
}

// MaxExpr is the longest expression accepted, in bytes.
const MaxExpr = 4096

// compile type-checks expr as a boolean expression and returns it with the optional
// account columns it reads. A syntax or type error is an Invalid error on field, naming
// the position (line:column) of the first problem.
func compile(env *cel.Env, field, expr string) (cel.Program, accounts.Columns, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, 0, errs.Field(field, "is required: a CEL expression over `account`")
	}
	if len(expr) > MaxExpr {
		return nil, 0, errs.Field(field, "at most %d bytes", MaxExpr)
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		e := iss.Errors()[0]
		loc := e.Location
		return nil, 0, errs.Field(field, "CEL error at line %d, column %d: %s", loc.Line(), loc.Column()+1, e.Message)
	}
	if !ast.OutputType().IsExactType(cel.BoolType) && ast.OutputType() != cel.DynType {
		return nil, 0, errs.Field(field, "must be a boolean expression, not %s", ast.OutputType())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, 0, errs.Field(field, "CEL: %v", err)
	}
	return prg, columnsRead(ast), nil
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

// eval runs prg over sub. An evaluation error (a missing attribute, a wrong type at run
// time) counts as false: an account is never sanctioned on an expression that failed.
func eval(prg cel.Program, act any) (bool, error) {
	out, _, err := prg.Eval(act)
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("not a boolean: %v", out)
	}
	return b, nil
}
