package bulk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/interpreter"

	"github.com/stewardhq/steward/internal/errs"
)

// The estimate bounds the active sanctions of an account, which nothing limits; an
// account with more of them is stopped by the cost limit of each evaluation.
func TestRuntimeCostLimitStopsWhatTheEstimateMissed(t *testing.T) {
	l, err := newLanguage(0)
	if err != nil {
		t.Fatal(err)
	}
	prg, _, err := l.compile("criteria", `account.sanctions.all(s, account.sanctions.all(t, s.kind == t.kind))`)
	if err != nil {
		t.Fatalf("refused at create: %v", err)
	}
	v := &vars{account: &Subject{}, now: time.Now()}
	for range 400 {
		v.account.Sanctions = append(v.account.Sanctions, SubjectSanction{Kind: "suspend"})
	}
	start := time.Now()
	_, err = prg.eval(context.Background(), v)
	var cancelled interpreter.EvalCancelledError
	if !errors.As(err, &cancelled) || cancelled.Cause != interpreter.CostLimitExceeded {
		t.Fatalf("400 × 400 sanctions: %v, want the cost limit exceeded", err)
	}
	t.Logf("stopped at the cost limit in %s", time.Since(start).Round(time.Microsecond))
	v.account.Sanctions = v.account.Sanctions[:maxActiveSanctions]
	if ok, err := prg.eval(context.Background(), v); !ok || err != nil {
		t.Fatalf("%d sanctions: %v %v", maxActiveSanctions, ok, err)
	}
}

// CEL reports some errors (its recursion limit, say) with no position: none is made up.
func TestCELErrorWithoutPosition(t *testing.T) {
	l, err := newLanguage(0)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = l.compile("criteria", strings.Repeat("[", 300)+"1"+strings.Repeat("]", 300)+" == []")
	if err == nil || strings.Contains(err.Error(), "line -1") || strings.Contains(err.Error(), "column 0") {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
}

// Too many screens are refused before any is compiled: the syntax error in one of them
// is not reached.
func TestScreensCountedBeforeCompiling(t *testing.T) {
	l, err := newLanguage(0)
	if err != nil {
		t.Fatal(err)
	}
	a := &Action{Criteria: "true"}
	for i := range 1500 {
		a.Screens = append(a.Screens, Screen{Name: "s" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Expr: `account.region == "x" && account.verified`})
	}
	a.Screens[1000].Expr = "account.region =="
	start := time.Now()
	_, err = compileAction(l, a)
	t.Logf("refused in %s", time.Since(start).Round(time.Microsecond))
	fs := errs.FieldsOf(err)
	if len(fs) != 1 || fs[0].Field != "screens" || !strings.Contains(fs[0].Message, "at most 32 screens") {
		t.Fatalf("err = %v, want only the count of screens refused", err)
	}
}
