package bulk_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// process is one Steward process's services over a shared database: a new process has
// a new index, loaded from the database as serve loads it.
type process struct {
	accounts *accounts.Service
	enforce  *enforce.Service
	ix       *enforce.Index
	bulk     *bulk.Service
}

func newProcess(t testing.TB, db *sqlstore.DB, cfg bulk.Config) *process {
	t.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = 10 * time.Millisecond
	}
	a := storetest.NewApp(t, db, app.Config{Bulk: cfg})
	return &process{accounts: a.Accounts, enforce: a.Enforce, ix: a.Index, bulk: a.Bulk}
}

var compliance = principal.NewContext(audit.WithRequestID(context.Background(), "req-1"), principal.Principal{Name: "carla", Role: principal.Compliance})

// The sweep every test runs: everyone seen in the border region, sparing business
// travellers, long-standing verified accounts and clean records.
const criteria = `account.region == "border" || account.attributes.days_in_border >= 1.0`

var screens = []bulk.Screen{
	{Name: "business_trip", Expr: `has(account.attributes.trip_purpose) && account.attributes.trip_purpose == "business"`},
	{Name: "long_standing", Expr: `account.verified && now - account.created_at > duration("17520h")`},
	{Name: "clean_record", Expr: `account.attributes.fraud_score < 0.3 && account.attributes.chargebacks == 0.0`},
}

// judge is the sweep written in Go: the test's own count of what the CEL should do.
func judge(a *accounts.Account, now time.Time) (matched bool, spared string) {
	days := a.Attributes["days_in_border"].(float64)
	if a.Region != "border" && days < 1 {
		return false, ""
	}
	switch {
	case a.Attributes["trip_purpose"] == "business":
		return true, "business_trip"
	case a.Verified && now.Sub(a.CreatedAt) > 2*365*24*time.Hour:
		return true, "long_standing"
	case a.Attributes["fraud_score"].(float64) < 0.3 && a.Attributes["chargebacks"].(float64) == 0:
		return true, "clean_record"
	}
	return true, ""
}

func sweep() bulk.CreateRequest {
	return bulk.CreateRequest{
		Name: "border sweep", Criteria: criteria, Screens: slices.Clone(screens),
		Sanction: bulk.Template{Kind: enforce.Suspend, Scope: enforce.Scope{Services: []string{"pay", "chat"}},
			Duration: "168h", ReasonCode: "fraud_sweep", Detail: "Accounts used for telecom fraud in the border region."},
		Authority: authority.Authority{Kind: authority.LegalOrder, Issuer: "Border PSB", Reference: "2026-001"},
	}
}

type expected struct {
	matched, toSanction, already int
	spared                       map[string]int
	byRegion                     map[string]int // to sanction
	targets, untouched           []string
	before                       []string // sanctioned alike before the sweep
}

// seed loads a generated population, sanctions a few would-be targets alike already,
// and returns what the sweep should find.
func seed(t *testing.T, db *sqlstore.DB, p *process, n int) expected {
	t.Helper()
	now := time.Now()
	pop := population.Generate(population.Config{N: n, Seed: 7, Now: now})
	if _, err := p.accounts.Import(context.Background(), pop, nil); err != nil {
		t.Fatal(err)
	}
	ex := expected{spared: map[string]int{}, byRegion: map[string]int{}}
	for _, sc := range screens {
		ex.spared[sc.Name] = 0
	}
	for _, a := range pop {
		m, s := judge(a, now)
		switch {
		case !m:
			ex.untouched = append(ex.untouched, a.ID)
			continue
		case s != "":
			ex.spared[s]++
			ex.untouched = append(ex.untouched, a.ID)
		case ex.already < 3:
			// Suspended from every service already: the sweep adds nothing.
			end := now.Add(48 * time.Hour)
			if _, err := p.enforce.Impose(compliance, &enforce.Sanction{Account: a.ID, Kind: enforce.Suspend,
				Scope: enforce.Scope{Services: []string{"*"}}, End: &end, ReasonCode: "earlier",
				Authority: authority.Authority{Kind: authority.Automated, Rule: "r1"}}); err != nil {
				t.Fatal(err)
			}
			ex.already++
			ex.before = append(ex.before, a.ID)
			ex.untouched = append(ex.untouched, a.ID)
		default:
			ex.toSanction++
			ex.byRegion[a.Region]++
			ex.targets = append(ex.targets, a.ID)
		}
		ex.matched++
	}
	if ex.toSanction < 15 || ex.spared["business_trip"] == 0 || ex.spared["long_standing"] == 0 || ex.spared["clean_record"] == 0 {
		t.Fatalf("population too thin for the test: %d to sanction, spared %v", ex.toSanction, ex.spared)
	}
	return ex
}

func TestDryRunCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		p := newProcess(t, db, bulk.Config{Page: 97})
		ex := seed(t, db, p, 700)
		a, err := p.bulk.Create(compliance, sweep())
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.bulk.DryRun(compliance, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Accounts != 700 || d.Matched != ex.matched || d.ToSanction != ex.toSanction || d.Already != ex.already ||
			d.Spared != ex.matched-ex.toSanction-ex.already || d.EvalErrors != 0 {
			t.Fatalf("dry run %+v, want %+v", d.Counts, ex)
		}
		for name, n := range ex.spared {
			if d.SparedBy[name] != n {
				t.Errorf("spared by %s: %d, want %d", name, d.SparedBy[name], n)
			}
			if len(d.Samples.Spared[name]) != min(n, bulk.MaxSamples) {
				t.Errorf("samples spared by %s: %d", name, len(d.Samples.Spared[name]))
			}
		}
		sum := func(m map[string]*bulk.Counts) (c bulk.Counts) {
			for _, v := range m {
				c.Accounts += v.Accounts
				c.ToSanction += v.ToSanction
			}
			return c
		}
		for _, m := range []map[string]*bulk.Counts{d.ByRegion, d.ByVerified, d.ByAge} {
			if c := sum(m); c.Accounts != 700 || c.ToSanction != ex.toSanction {
				t.Errorf("breakdown sums to %+v", c)
			}
		}
		for region, n := range ex.byRegion {
			if d.ByRegion[region].ToSanction != n {
				t.Errorf("region %s: %d to sanction, want %d", region, d.ByRegion[region].ToSanction, n)
			}
		}
		if want := ex.targets[:min(len(ex.targets), bulk.MaxSamples)]; !slices.Equal(d.Samples.ToSanction, want) {
			t.Errorf("samples to sanction %v, want %v", d.Samples.ToSanction, want)
		}
		if n := count(t, db, "sanctions"); n != ex.already {
			t.Errorf("the dry run changed sanctions: %d", n)
		}
	})
}

func TestBadCEL(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	p := newProcess(t, db, bulk.Config{})
	r := sweep()
	r.Criteria = `account.region == `
	r.Screens = []bulk.Screen{{Name: "typo", Expr: `account.verifed`}, {Name: "num", Expr: `account.region + 1`}}
	_, err := p.bulk.Create(compliance, r)
	if errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("err = %v", err)
	}
	got := map[string]string{}
	for _, f := range errs.FieldsOf(err) {
		got[f.Field] = f.Message
	}
	for field, want := range map[string]string{"criteria": "line 1, column 19", "screens[typo]": "line 1, column 8", "screens[num]": "line 1, column 16"} {
		if !strings.Contains(got[field], want) {
			t.Errorf("%s: %q, want it to say %q", field, got[field], want)
		}
	}
}

func count(t *testing.T, db *sqlstore.DB, table string) int {
	t.Helper()
	n, err := db.Count(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func step(t *testing.T, p *process, id string, n int) {
	t.Helper()
	for range n {
		if _, err := p.bulk.Step(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
}

// executeSweep creates the sweep and executes it with no canary.
func executeSweep(t *testing.T, p *process) *bulk.Action {
	t.Helper()
	a, err := p.bulk.Create(compliance, sweep())
	if err != nil {
		t.Fatal(err)
	}
	zero := 0.0
	if _, err := p.bulk.Execute(compliance, a.ID, bulk.ExecuteRequest{CanaryPercent: &zero}); err != nil {
		t.Fatal(err)
	}
	return a
}

func state(t *testing.T, p *process, id string) *bulk.Action {
	t.Helper()
	a, err := p.bulk.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// runUntil runs p's runner until the action reaches state, then stops it.
func runUntil(t *testing.T, p *process, id string, want bulk.State) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { p.bulk.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for state(t, p, id).State != want {
		if time.Now().After(deadline) {
			got := state(t, p, id)
			t.Fatalf("state %s after 30 s, want %s (error %q)", got.State, want, got.Error)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bulkSanctions returns, per account, the sanctions action made on it.
func bulkSanctions(t *testing.T, p *process, ids []string, action string) map[string][]*enforce.Sanction {
	t.Helper()
	out := map[string][]*enforce.Sanction{}
	for _, id := range ids {
		list, err := p.enforce.List(context.Background(), id, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, sn := range list {
			if slices.Contains(sn.Evidence, "bulk-action:"+action) {
				out[id] = append(out[id], sn)
			}
		}
	}
	return out
}

func TestExecuteCanaryCrashRevert(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		cfg := bulk.Config{Page: 50, Batch: 7}
		p1 := newProcess(t, db, cfg)
		ex := seed(t, db, p1, 500)
		a, err := p1.bulk.Create(compliance, sweep())
		if err != nil {
			t.Fatal(err)
		}
		pct := 10.0
		if _, err := p1.bulk.Execute(compliance, a.ID, bulk.ExecuteRequest{CanaryPercent: &pct}); err != nil {
			t.Fatal(err)
		}
		if _, err := p1.bulk.Execute(compliance, a.ID, bulk.ExecuteRequest{}); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("second execute: %v, want conflict", err)
		}
		step(t, p1, a.ID, 3) // three pages of targets, then the process dies

		p2 := newProcess(t, db, cfg)
		runUntil(t, p2, a.ID, bulk.Canary)
		got := state(t, p2, a.ID)
		canary := len(canaryOf(t, p2, got))
		if got.Progress.Total != ex.toSanction || got.Progress.Done != canary || got.Progress.CanaryCount != canary {
			t.Fatalf("after the canary: %+v; want total %d, done %d", got.Progress, ex.toSanction, canary)
		}
		if n := count(t, db, "sanctions"); n != ex.already+canary {
			t.Fatalf("%d sanctions after the canary, want %d", n, ex.already+canary)
		}
		if _, err := p2.bulk.Resume(compliance, a.ID); err != nil {
			t.Fatal(err)
		}
		step(t, p2, a.ID, 2) // two batches, then this process dies too
		if d := state(t, p2, a.ID).Progress.Done; d != canary+14 {
			t.Fatalf("done %d after two batches, want %d", d, canary+14)
		}

		p3 := newProcess(t, db, cfg)
		runUntil(t, p3, a.ID, bulk.Done)
		got = state(t, p3, a.ID)
		if got.Progress.Done != ex.toSanction {
			t.Fatalf("done %d, want %d", got.Progress.Done, ex.toSanction)
		}
		made := bulkSanctions(t, p3, append(slices.Clone(ex.targets), ex.untouched...), a.ID)
		for _, id := range ex.targets {
			if len(made[id]) != 1 {
				t.Fatalf("target %s has %d sanctions from the action, want exactly 1", id, len(made[id]))
			}
			if p3.ix.Decide(nil, id, "pay.transfer", time.Now().UnixNano()) == nil {
				t.Fatalf("target %s may still pay", id)
			}
		}
		for _, id := range ex.untouched {
			if len(made[id]) != 0 {
				t.Fatalf("spared or unmatched account %s was sanctioned", id)
			}
		}
		if n := count(t, db, "notices"); n != ex.already+ex.toSanction {
			t.Fatalf("%d notices, want %d", n, ex.already+ex.toSanction)
		}

		// Pause and resume are refused on a finished action; revert undoes it all.
		if _, err := p3.bulk.Resume(compliance, a.ID); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("resume of a done action: %v", err)
		}
		if _, err := p3.bulk.Revert(compliance, a.ID, bulk.RevertRequest{Reason: "innocent travellers were caught"}); err != nil {
			t.Fatal(err)
		}
		runUntil(t, p3, a.ID, bulk.Reverted)
		made = bulkSanctions(t, p3, ex.targets, a.ID)
		for _, id := range ex.targets {
			sn := made[id][0]
			if sn.Lifted == nil || !sn.Lifted.Wrongful {
				t.Fatalf("%s: sanction not lifted as wrongful: %+v", id, sn.Lifted)
			}
			if p3.ix.Decide(nil, id, "pay.transfer", time.Now().UnixNano()) != nil {
				t.Fatalf("target %s still denied after revert", id)
			}
		}
		if n := count(t, db, "notices"); n != ex.already+2*ex.toSanction {
			t.Fatalf("%d notices after revert, want %d", n, ex.already+2*ex.toSanction)
		}
		// The sanctions imposed before the sweep stand.
		for _, id := range ex.before {
			if p3.ix.Decide(nil, id, "pay.transfer", time.Now().UnixNano()) == nil {
				t.Fatalf("%s, suspended before the sweep, may pay after its revert", id)
			}
		}
	})
}

func TestRevertPartial(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	p := newProcess(t, db, bulk.Config{Batch: 5})
	ex := seed(t, db, p, 500)
	a := executeSweep(t, p)
	step(t, p, a.ID, 3) // targets, then two batches
	if _, err := p.bulk.Pause(compliance, a.ID); err != nil {
		t.Fatal(err)
	}
	if more, err := p.bulk.Step(context.Background(), a.ID); more || err != nil {
		t.Fatalf("a paused action stepped: %v %v", more, err)
	}
	if _, err := p.bulk.Revert(compliance, a.ID, bulk.RevertRequest{Reason: "wrong region"}); err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, a.ID, bulk.Reverted)
	got := state(t, p, a.ID)
	if got.Progress.Done != 10 || got.Progress.Reverted != 10 {
		t.Fatalf("progress %+v, want 10 done and reverted", got.Progress)
	}
	made := bulkSanctions(t, p, ex.targets, a.ID)
	n := 0
	for _, list := range made {
		for _, sn := range list {
			n++
			if sn.Lifted == nil || !sn.Lifted.Wrongful {
				t.Fatalf("not lifted: %+v", sn)
			}
		}
	}
	if n != 10 {
		t.Fatalf("%d sanctions made, want 10", n)
	}
}

// While a batch commits the runner prepares the next; a pause in between throws that
// batch away, so the batches after a resume are stamped with their own time.
func TestPauseDiscardsTheBatchPreparedAhead(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	p := newProcess(t, db, bulk.Config{Batch: 5})
	ex := seed(t, db, p, 500)
	a := executeSweep(t, p)
	step(t, p, a.ID, 3) // targets, then two batches: the third is being prepared
	if _, err := p.bulk.Pause(compliance, a.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	resumed := time.Now()
	if _, err := p.bulk.Resume(compliance, a.ID); err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, a.ID, bulk.Done)
	late, n := 0, 0
	for id, list := range bulkSanctions(t, p, ex.targets, a.ID) {
		if len(list) != 1 {
			t.Fatalf("%s has %d sanctions of the action", id, len(list))
		}
		n++
		if !list[0].Start.Before(resumed) {
			late++
		}
	}
	if n != len(ex.targets) || late != n-10 {
		t.Fatalf("%d of %d targets sanctioned, %d after the resume; want all, and all but the first two batches (10) after it", n, len(ex.targets), late)
	}
}

// While it fixes its targets an action shows how many accounts it has scanned of how
// many; a runner that takes over an action left running starts its rate's clock again.
func TestProgressWhilePreparingAndAfterRestart(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	clock := time.Now()
	p := newProcess(t, db, bulk.Config{Page: 100, Batch: 5, Now: func() time.Time { return clock }})
	seed(t, db, p, 500)
	a := executeSweep(t, p)
	step(t, p, a.ID, 2)
	clock = clock.Add(2 * time.Second)
	st := p.bulk.StatusOf(state(t, p, a.ID))
	if st.State != bulk.Preparing || st.Progress.Accounts != 500 || st.Progress.Scanned != 200 || st.Rate != 100 || st.ETASeconds != 3 {
		t.Fatalf("preparing: %s, %+v, rate %v, eta %v; want 200 of 500 scanned at 100/s, 3 s left", st.State, st.Progress, st.Rate, st.ETASeconds)
	}
	step(t, p, a.ID, 6) // the rest of the scan (four pages, the last empty), then two batches
	if got := state(t, p, a.ID); got.State != bulk.Running || got.Progress.Done != 10 {
		t.Fatalf("%s with %d done, want running with 10", got.State, got.Progress.Done)
	}
	clock = clock.Add(time.Hour) // the process stops for an hour; another takes over
	restarted := clock
	runUntil(t, p, a.ID, bulk.Done)
	if got := state(t, p, a.ID).Progress; !got.PhaseStart.Equal(restarted) || got.PhaseFrom != 10 {
		t.Fatalf("phase from %d at %s, want from 10 at the restart (%s)", got.PhaseFrom, got.PhaseStart, restarted)
	}
}

// The runner rests (per Duty) only while others are busy, and otherwise works flat out.
func TestRunnerRestsOnlyWhenBusy(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	var busy atomic.Bool
	// A step of a few milliseconds would be followed by seconds of rest when busy.
	p := newProcess(t, db, bulk.Config{Batch: 5, Duty: 0.001, Busy: busy.Load})
	ex := seed(t, db, p, 500)
	if len(ex.targets) < 10 {
		t.Fatalf("only %d targets", len(ex.targets))
	}
	idle := executeSweep(t, p)
	runUntil(t, p, idle.ID, bulk.Done) // within its 30 s only if the runner never rests
	if _, err := p.bulk.Revert(compliance, idle.ID, bulk.RevertRequest{Reason: "again"}); err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, idle.ID, bulk.Reverted)

	busy.Store(true)
	a := executeSweep(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { p.bulk.Run(ctx) })
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	if got := state(t, p, a.ID); got.State == bulk.Done || got.Progress.Done > 5 {
		t.Fatalf("while busy the runner got to %s with %d done in half a second; it should rest after each step", got.State, got.Progress.Done)
	}
}

func TestCreateNamesFieldsAtFault(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	p := newProcess(t, db, bulk.Config{})
	r := sweep()
	r.Name = ""
	r.Sanction.Duration = ""
	r.Authority = authority.Authority{Kind: authority.LegalOrder}
	_, err := p.bulk.Create(compliance, r)
	fields := errs.FieldsOf(err)
	if fields == nil {
		t.Fatalf("err = %v", err)
	}
	got := map[string]bool{}
	for _, f := range fields {
		got[f.Field] = true
	}
	for _, want := range []string{"name", "sanction.end", "authority.issuer", "authority.reference"} {
		if !got[want] {
			t.Errorf("no error on %s: %v", want, fields)
		}
	}
	// A reviewer may not act on a legal order, in bulk as alone.
	reviewer := principal.NewContext(audit.WithRequestID(context.Background(), "r"), principal.Principal{Name: "rita", Role: principal.Reviewer})
	if _, err := p.bulk.Create(reviewer, sweep()); errs.CodeOf(err) != errs.Forbidden {
		t.Fatalf("a reviewer creates a sweep under a legal order: %v", err)
	}
}
