package leak

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
)

// IncidentSubject is what an incident's selection sees of one account, as `account`;
// `now` is the time of the evaluation.
type IncidentSubject struct {
	ID         string         `cel:"id"`
	Region     string         `cel:"region"`
	Verified   bool           `cel:"verified"`
	CreatedAt  time.Time      `cel:"created_at"`
	Locale     string         `cel:"locale"`
	Attributes map[string]any `cel:"attributes"` // numbers are doubles
}

// Bounds on a selection: its length, its estimated and actual cost per account (CEL's
// units, about one per operation), how often a comprehension looks at its context.
const (
	maxSelection       = 4096
	maxSelectionCost   = 100_000
	selectionInterrupt = 100
)

var incidentEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[IncidentSubject](), types.ParseStructTag("cel")),
		cel.Variable("account", cel.ObjectType("leak.IncidentSubject")),
		cel.Variable("now", cel.TimestampType),
		ext.Strings(),
	)
})

// selectionSizes bounds what an account carries, for the cost estimate.
type selectionSizes struct{}

func (selectionSizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	path := n.Path()
	if len(path) < 2 || path[0] != "account" {
		return nil
	}
	switch {
	case path[1] == "attributes" && len(path) == 2:
		return &cost.SizeEstimate{Max: accounts.MaxAttributes}
	case path[1] == "attributes":
		return &cost.SizeEstimate{Max: accounts.MaxAttributeValue}
	case len(path) == 2:
		return &cost.SizeEstimate{Max: 128}
	}
	return nil
}

func (selectionSizes) EstimateCallCost(string, string, *cost.AstNode, []cost.AstNode) *cost.CallEstimate {
	return nil
}

// checkSelection returns why expr is not an acceptable selection, or nil.
func checkSelection(expr string) error {
	_, err := compileSelection(expr)
	return err
}

// compileSelection type-checks expr as a boolean over `account` within the cost bound.
func compileSelection(expr string) (cel.Program, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("is empty: a CEL expression over `account`")
	}
	if len(expr) > maxSelection {
		return nil, fmt.Errorf("at most %d bytes", maxSelection)
	}
	env, err := incidentEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		e := iss.Errors()[0]
		if loc := e.Location; loc != nil && loc.Line() > 0 {
			return nil, fmt.Errorf("CEL error at line %d, column %d: %s", loc.Line(), loc.Column()+1, e.Message)
		}
		return nil, fmt.Errorf("CEL error: %s", e.Message)
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, fmt.Errorf("must be a boolean expression, not %s", ast.OutputType())
	}
	est, err := env.EstimateCost(ast, selectionSizes{})
	if err != nil {
		return nil, fmt.Errorf("CEL cost estimate: %v", err)
	}
	if est.Max > maxSelectionCost {
		return nil, fmt.Errorf("may cost up to %d per account, over the limit of %d", est.Max, maxSelectionCost)
	}
	return env.Program(ast, cel.CostLimit(maxSelectionCost), cel.InterruptCheckFrequency(selectionInterrupt))
}

// selectAccounts returns the accounts expr matches, in no order; more than max is an
// Invalid error on affected.selection. An account whose evaluation fails (an attribute
// it does not have) is not matched.
func selectAccounts(ctx context.Context, store accounts.Store, expr string, now time.Time, max int) ([]string, error) {
	prg, err := compileSelection(expr)
	if err != nil {
		return nil, errs.Field("affected.selection", "%s", err)
	}
	var mu sync.Mutex
	var out []string
	tooMany := errors.New("too many")
	o := accounts.ScanOptions{Parts: 2, Page: 1000, Skip: accounts.WithLinked | accounts.WithUpdatedAt, Reuse: true} // IDs are kept, never a page
	err = store.Scan(ctx, o, func(_ int, page []*accounts.Account) error {
		var mine []string
		for _, a := range page {
			attrs := a.Attributes
			if attrs == nil {
				attrs = map[string]any{}
			}
			sub := &IncidentSubject{ID: a.ID, Region: a.Region, Verified: a.Verified, CreatedAt: a.CreatedAt, Locale: a.Locale, Attributes: attrs}
			v, _, err := prg.ContextEval(ctx, map[string]any{"account": sub, "now": now})
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == nil && v.Value() == true {
				mine = append(mine, a.ID)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		out = append(out, mine...)
		if len(out) > max {
			return tooMany
		}
		return nil
	})
	if errors.Is(err, tooMany) {
		return nil, errs.Field("affected.selection", "matches more than %d accounts: declare the breach as several incidents", max)
	}
	return out, err
}
