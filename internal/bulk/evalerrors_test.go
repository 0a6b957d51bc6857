package bulk_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// The README's screen as it once read, without has(): it fails on every account that
// has no trip_purpose. Those accounts are a group of their own, never spared by the
// screen; execute is refused while the dry run has them unless told to allow them, and
// then leaves them unsanctioned.
func TestEvalErrorsAreTheirOwnGroup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		p := newProcess(t, db, bulk.Config{Page: 97, Batch: 50})
		pop := population.Generate(population.Config{N: 500, Seed: 7, Now: time.Now()})
		if _, err := p.accounts.Import(context.Background(), pop, nil); err != nil {
			t.Fatal(err)
		}
		var failing, business []string
		for _, a := range pop {
			if m, _ := judge(a, time.Now()); !m {
				continue
			}
			switch a.Attributes["trip_purpose"] {
			case nil:
				failing = append(failing, a.ID)
			case "business":
				business = append(business, a.ID)
			}
		}
		if len(failing) == 0 || len(business) == 0 {
			t.Fatalf("population too thin: %d failing, %d business", len(failing), len(business))
		}
		slices.Sort(failing)
		r := sweep()
		r.Screens[0].Expr = `account.attributes.trip_purpose == "business"`
		a, err := p.bulk.Create(compliance, r)
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.bulk.DryRun(compliance, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.EvalErrors != len(failing) || d.SparedBy["business_trip"] != len(business) ||
			d.Accounts != d.EvalErrors+d.Matched+unmatched(pop) || d.Matched != d.Spared+d.Already+d.ToSanction {
			t.Fatalf("dry run %+v, spared by %v; want %d errors, %d spared by business_trip", d.Counts, d.SparedBy, len(failing), len(business))
		}
		if !slices.Equal(d.Samples.EvalErrors, failing[:min(len(failing), bulk.MaxSamples)]) || slices.ContainsFunc(d.Samples.Spared["business_trip"], func(id string) bool { return slices.Contains(failing, id) }) {
			t.Fatalf("samples: errors %v, spared by business_trip %v", d.Samples.EvalErrors, d.Samples.Spared["business_trip"])
		}
		if e := d.FirstEvalError; e == nil || e.Account != failing[0] || e.Expr != "screens[business_trip]" || !strings.Contains(e.Message, "trip_purpose") {
			t.Fatalf("first error %+v, want %s's on screens[business_trip]", e, failing[0])
		}
		// The draft keeps the dry run's counts; one that finds the same again writes nothing.
		kept := state(t, p, a.ID)
		if kept.LastDryRun == nil || kept.LastDryRun.Counts != d.Counts || *kept.LastDryRun.FirstEvalError != *d.FirstEvalError {
			t.Fatalf("kept %+v, want the dry run's counts", kept.LastDryRun)
		}
		if _, err := p.bulk.DryRun(compliance, a.ID); err != nil {
			t.Fatal(err)
		}
		if again := state(t, p, a.ID); again.Version != kept.Version {
			t.Fatalf("a second dry run finding the same wrote the action: version %d, was %d", again.Version, kept.Version)
		}
		byRegion := 0
		for _, c := range d.ByRegion {
			byRegion += c.EvalErrors
		}
		if byRegion != len(failing) {
			t.Fatalf("%d errors by region, want %d", byRegion, len(failing))
		}

		zero := 0.0
		_, err = p.bulk.Execute(compliance, a.ID, bulk.ExecuteRequest{CanaryPercent: &zero})
		if errs.CodeOf(err) != errs.Conflict || !strings.Contains(err.Error(), "allow_eval_errors") {
			t.Fatalf("execute after a dry run with errors: %v, want a conflict naming allow_eval_errors", err)
		}
		if _, err := p.bulk.Execute(compliance, a.ID, bulk.ExecuteRequest{CanaryPercent: &zero, AllowEvalErrors: true}); err != nil {
			t.Fatal(err)
		}
		runUntil(t, p, a.ID, bulk.Done)
		got := state(t, p, a.ID)
		if got.Progress.EvalErrors != len(failing) || got.Progress.Total != d.ToSanction {
			t.Fatalf("progress %+v; want %d errors, %d targets", got.Progress, len(failing), d.ToSanction)
		}
		if made := bulkSanctions(t, p, failing, a.ID); len(made) != 0 {
			t.Fatalf("%d accounts whose evaluation failed were sanctioned", len(made))
		}
	})
}

func unmatched(pop []*accounts.Account) int {
	n := 0
	for _, a := range pop {
		if m, _ := judge(a, time.Now()); !m {
			n++
		}
	}
	return n
}

// Executed without a dry run, an action that meets an account on which an expression
// fails pauses itself there, saying why, having sanctioned nobody; resumed, it goes on
// and leaves such accounts unsanctioned.
func TestEvalErrorPausesTheExecution(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		p := newProcess(t, db, bulk.Config{Page: 97})
		seed(t, db, p, 500)
		r := sweep()
		r.Screens[0].Expr = `account.attributes.trip_purpose == "business"`
		a, err := p.bulk.Create(compliance, r)
		if err != nil {
			t.Fatal(err)
		}
		zero := 0.0
		if _, err := p.bulk.Execute(compliance, a.ID, bulk.ExecuteRequest{CanaryPercent: &zero}); err != nil {
			t.Fatal(err)
		}
		runUntil(t, p, a.ID, bulk.Paused)
		got := state(t, p, a.ID)
		if got.Resumes != bulk.Preparing || !strings.Contains(got.Error, "screens[business_trip] failed on account") || got.Progress.Total != 0 {
			t.Fatalf("paused to resume %s, %d targets, error %q", got.Resumes, got.Progress.Total, got.Error)
		}
		if _, err := p.bulk.Resume(compliance, a.ID); err != nil {
			t.Fatal(err)
		}
		runUntil(t, p, a.ID, bulk.Done)
		if got := state(t, p, a.ID); got.Progress.EvalErrors == 0 || got.Progress.Done != got.Progress.Total || got.Error != "" {
			t.Fatalf("after resume: %+v, error %q", got.Progress, got.Error)
		}
	})
}
