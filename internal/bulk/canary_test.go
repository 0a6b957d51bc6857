package bulk_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// canaryOf returns the accounts a sanctioned in its canary, after checking that they
// are the seeded sample the action records, region by region, and came first.
func canaryOf(t *testing.T, p *process, a *bulk.Action) []string {
	t.Helper()
	ctx := context.Background()
	ts, err := p.bulk.Targets(ctx, a.ID, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var canary []string
	for i, ts := range ts {
		if ts.Sanctioned != (i < a.Progress.CanaryCount) || ts.Ord != int64(i+1) {
			t.Fatalf("target %d (%s) sanctioned %v; the canary of %d comes first", i, ts.Account, ts.Sanctioned, a.Progress.CanaryCount)
		}
		if ts.Sanctioned {
			canary = append(canary, ts.Account)
		}
	}
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.Account
	}
	slices.Sort(ids)
	var want []string
	seen := map[string]int{}
	for _, id := range ids {
		acc, err := p.accounts.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if bulk.InCanary(a.CanarySeed, acc.Region, seen[acc.Region], a.CanaryPercent) {
			want = append(want, id)
		}
		seen[acc.Region]++
	}
	slices.Sort(canary)
	if !slices.Equal(canary, want) {
		t.Fatalf("the canary is %v; the seed %d draws %v", canary, a.CanarySeed, want)
	}
	for region, n := range a.Progress.Regions {
		if got, most := a.Progress.CanaryRegions[region], math.Ceil(float64(n)*a.CanaryPercent/100); float64(got) > most || n != seen[region] {
			t.Errorf("region %s: %d of %d targets (%d listed) in the canary, want at most %v", region, got, n, seen[region], most)
		}
	}
	return canary
}

// The canary is a seeded random sample, stratified by region, and not the first targets
// by ID; a runner that dies while fixing the targets leaves the next to draw the same.
func TestCanaryIsASeededStratifiedSample(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		cfg := bulk.Config{Page: 50, Batch: 7}
		p1 := newProcess(t, db, cfg)
		ex := seed(t, db, p1, 1000)
		var samples [][]string
		for range 2 {
			a, err := p1.bulk.Create(compliance, sweep())
			if err != nil {
				t.Fatal(err)
			}
			pct := 20.0
			if _, err := p1.bulk.Execute(compliance, a.ID, bulk.ExecuteRequest{CanaryPercent: &pct}); err != nil {
				t.Fatal(err)
			}
			step(t, p1, a.ID, 7) // seven pages of targets, then the process dies
			p2 := newProcess(t, db, cfg)
			runUntil(t, p2, a.ID, bulk.Canary)
			got := state(t, p2, a.ID)
			if got.CanarySeed == 0 || got.Progress.Total != ex.toSanction || len(got.Progress.CanaryRegions) < 2 {
				t.Fatalf("after the canary: seed %d, %+v; want a seed, %d targets, a canary from several regions", got.CanarySeed, got.Progress, ex.toSanction)
			}
			canary := canaryOf(t, p2, got)
			if first := ex.targets[:len(canary)]; slices.Equal(canary, first) {
				t.Fatalf("the canary is the first %d targets by ID", len(canary))
			}
			samples = append(samples, canary)
			// Done after the canary, the rest follow; revert lifts them all.
			if _, err := p2.bulk.Resume(compliance, a.ID); err != nil {
				t.Fatal(err)
			}
			runUntil(t, p2, a.ID, bulk.Done)
			if _, err := p2.bulk.Revert(compliance, a.ID, bulk.RevertRequest{Reason: "another sample"}); err != nil {
				t.Fatal(err)
			}
			runUntil(t, p2, a.ID, bulk.Reverted)
			if r := state(t, p2, a.ID).Progress; r.Reverted != ex.toSanction || r.Done != ex.toSanction {
				t.Fatalf("after the revert: %+v", r)
			}
		}
		if slices.Equal(samples[0], samples[1]) {
			t.Error("two executions drew the same canary")
		}
	})
}
