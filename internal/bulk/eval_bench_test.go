package bulk

import (
	"context"
	"testing"
	"time"

	"cel.dev/cel-go/cel"
)

// BenchmarkEvalOptions measures one evaluation of the sweep's criteria as it is compiled
// (plain: no comprehension) against what cost tracking and a context would add (see
// program).
func BenchmarkEvalOptions(b *testing.B) {
	l, _ := newLanguage(0)
	expr := `account.region == "border" || account.attributes.days_in_border >= 1.0`
	ast, _ := l.env.Compile(expr)
	v := &vars{account: &Subject{Region: "x", Attributes: map[string]any{"days_in_border": 0.0}}, now: time.Now()}
	for _, c := range []struct {
		name string
		opts []cel.ProgramOption
		ctx  bool
	}{
		{"plain", []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}, false},
		{"ctx", []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize), cel.InterruptCheckFrequency(100)}, true},
		{"cost", []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize), cel.CostLimit(100000)}, false},
		{"both", []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize), cel.CostLimit(100000), cel.InterruptCheckFrequency(100)}, true},
	} {
		prg, _ := l.env.Program(ast, c.opts...)
		ctx := context.Background()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if c.ctx {
					prg.ContextEval(ctx, v)
				} else {
					prg.Eval(v)
				}
			}
		})
	}
}
