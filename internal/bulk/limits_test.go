package bulk_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// hundred is the list literal [0, 1, …, 99].
func hundred() string {
	var b strings.Builder
	b.WriteString("[")
	for i := range 100 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprint(&b, i)
	}
	return b.String() + "]"
}

// The bombs of issue 10: four nested maps over a list of 100 (10⁸ elements, about
// 1,200 bytes; its dry run took the server's memory) and five nested alls (10¹⁰
// iterations per account, about 1,500 bytes).
var (
	mapBomb = func(l string) string {
		return l + ".map(a, " + l + ".map(b, " + l + ".map(c, " + l + ".map(d, d)))).size() > 0"
	}(hundred())
	allBomb = func(l string) string {
		return l + ".all(a, " + l + ".all(b, " + l + ".all(c, " + l + ".all(d, " + l + ".all(e, e >= 0)))))"
	}(hundred())
)

func TestCELBombsRefusedAtCreate(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	p := newProcess(t, db, bulk.Config{})
	r := sweep()
	r.Criteria = mapBomb
	r.Screens = append(r.Screens, bulk.Screen{Name: "bomb", Expr: allBomb})
	_, err := p.bulk.Create(compliance, r)
	got := map[string]string{}
	for _, f := range errs.FieldsOf(err) {
		got[f.Field] = f.Message
	}
	for _, field := range []string{"criteria", "screens[bomb]"} {
		if !strings.Contains(got[field], "over the limit") {
			t.Errorf("%s: %q, want it refused as too costly (err %v)", field, got[field], err)
		}
	}
	if len(got) != 2 {
		t.Errorf("fields at fault: %v, want criteria and screens[bomb] only", got)
	}
	if n := count(t, db, "bulk_actions"); n != 0 {
		t.Fatalf("%d actions stored", n)
	}
}

// bombed is a process that accepts any cost (as one before the limits did), with an
// executed action whose criteria never ends, and a signal of its runner starting to
// evaluate: evaluating, armed, is closed when a step has read its page of accounts.
type bombed struct {
	*process
	action     string
	armed      atomic.Bool
	once       sync.Once
	evaluating chan struct{}
}

func newBombed(t *testing.T, db *sqlstore.DB) *bombed {
	t.Helper()
	b := &bombed{evaluating: make(chan struct{})}
	b.process = newProcess(t, db, bulk.Config{MaxCost: math.MaxUint64, Now: func() time.Time {
		if b.armed.Load() { // the clock a step reads just before judging its page
			b.once.Do(func() { close(b.evaluating) })
		}
		return time.Now()
	}})
	seed(t, db, b.process, 500)
	r := sweep()
	r.Criteria = allBomb
	a, err := b.bulk.Create(compliance, r)
	if err != nil {
		t.Fatal(err)
	}
	b.action = a.ID
	return b
}

func (b *bombed) execute(t *testing.T) {
	t.Helper()
	if _, err := b.bulk.Execute(compliance, b.action, bulk.ExecuteRequest{}); err != nil {
		t.Fatal(err)
	}
	b.armed.Store(true)
}

// stops waits for done, failing when it takes over 10 s (the evaluation it waits for
// would take hours), and returns how long it took.
func stops(t *testing.T, what string, since time.Time, done <-chan struct{}) time.Duration {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still evaluating after 10 s", what)
	}
	d := time.Since(since)
	t.Logf("%s: stopped in %s", what, d.Round(time.Millisecond))
	return d
}

func TestDryRunStopsWhenItsRequestEnds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		b := newBombed(t, db)
		ctx, cancel := context.WithCancel(compliance)
		done := make(chan struct{})
		var err error
		b.armed.Store(true)
		go func() { defer close(done); _, err = b.bulk.DryRun(ctx, b.action) }()
		<-b.evaluating
		time.Sleep(100 * time.Millisecond) // well into the first account
		start := time.Now()
		cancel()
		stops(t, "dry run", start, done)
		if err == nil {
			t.Fatal("a cancelled dry run reported no error")
		}
	})
}

func TestPauseStopsAnEvaluatingStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		b := newBombed(t, db)
		b.execute(t)
		done := make(chan struct{})
		var err error
		go func() { defer close(done); _, err = b.bulk.Step(context.Background(), b.action) }()
		<-b.evaluating
		start := time.Now()
		if _, err := b.bulk.Pause(compliance, b.action); err != nil {
			t.Fatal(err)
		}
		stops(t, "step after a pause", start, done)
		if errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("step: %v, want a conflict (the action changed under it)", err)
		}
		if got := state(t, b.process, b.action); got.State != bulk.Paused || got.Progress.Scanned != 0 {
			t.Fatalf("%s, %d scanned; want paused before the first page", got.State, got.Progress.Scanned)
		}
	})
}

func TestShutdownStopsAnEvaluatingRunner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		b := newBombed(t, db)
		b.execute(t)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); b.bulk.Run(ctx) }()
		<-b.evaluating
		start := time.Now()
		cancel()
		stops(t, "runner after shutdown", start, done)
	})
}

// An action stored before the limits (here: by a process without them) is paused with
// the reason by the runner that resumes it on start, rather than failing at every poll
// and every restart.
func TestActionOverTheBudgetPausesItselfOnStart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		b := newBombed(t, db)
		b.execute(t)
		p := newProcess(t, db, bulk.Config{})
		runUntil(t, p, b.action, bulk.Paused)
		got := state(t, p, b.action)
		if got.Resumes != bulk.Preparing || !strings.Contains(got.Error, "over the limit") {
			t.Fatalf("paused to resume %s, error %q; want preparing, and the cost named", got.Resumes, got.Error)
		}
		if _, err := p.bulk.Resume(compliance, b.action); err != nil {
			t.Fatal(err)
		}
		if got := state(t, p, b.action); got.Error != "" {
			t.Fatalf("resumed with error %q", got.Error)
		}
	})
}

// A bulk sanction lasts as long as a step of a policy's ladder may: 1m to 876000h, and
// a duration outside is blamed on sanction.duration.
func TestSanctionDurationBounds(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	p := newProcess(t, db, bulk.Config{})
	for d, ok := range map[string]bool{"1ns": false, "59s": false, "1m": true, "876000h": true, "876001h": false,
		"2000000h": false, "2562047h": false, "2562048h": false, "-1h": false, "soon": false} {
		r := sweep()
		r.Sanction.Duration = d
		_, err := p.bulk.Create(compliance, r)
		fs := errs.FieldsOf(err)
		switch {
		case ok && err != nil:
			t.Errorf("%s refused: %v", d, err)
		case !ok && (len(fs) != 1 || fs[0].Field != "sanction.duration" || !strings.Contains(fs[0].Message, "1m to 876000h")):
			t.Errorf("%s: %v, want it refused on sanction.duration alone", d, err)
		}
	}
}

// A revert's notice quotes the person's reason and adds no English of Steward's own: in
// zh-CN it is Chinese but for that reason, the reason code and the time zone.
func TestRevertNoticeIsInTheAccountsLanguage(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	p := newProcess(t, db, bulk.Config{})
	ex := seed(t, db, p, 500)
	a := executeSweep(t, p)
	runUntil(t, p, a.ID, bulk.Done)
	const reason = "innocent travellers were caught"
	if _, err := p.bulk.Revert(compliance, a.ID, bulk.RevertRequest{Reason: reason}); err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, a.ID, bulk.Reverted)
	zh := 0
	for _, id := range ex.targets {
		ns, err := db.Notices().List(context.Background(), id, "", 1)
		if err != nil || len(ns) != 1 {
			t.Fatalf("%s: %d notices, %v", id, len(ns), err)
		}
		n := ns[0]
		if !strings.Contains(n.Body, reason) {
			t.Fatalf("%s: the %s notice does not quote the reason:\n%s", id, n.Locale, n.Body)
		}
		if n.Locale != "zh-CN" {
			continue
		}
		zh++
		rest := strings.NewReplacer(reason, "", "fraud_sweep", "", "UTC", "").Replace(n.Subject + "\n" + n.Body)
		if i := strings.IndexFunc(rest, func(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }); i >= 0 {
			t.Fatalf("%s: English in the zh-CN notice at %q:\n%s", id, rest[max(0, i-20):min(len(rest), i+40)], rest)
		}
	}
	if zh == 0 {
		t.Fatal("no zh-CN target in the population")
	}
}
