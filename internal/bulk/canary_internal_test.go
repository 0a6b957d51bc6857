package bulk

import (
	"fmt"
	"math"
	"testing"
)

// Of any number of a region's targets, the canary takes that number times the share,
// rounded up at most and on average exactly, and every position is as likely as any
// other to be taken.
func TestCanaryDrawIsExactAndEven(t *testing.T) {
	for _, pct := range []float64{1, 3, 10, 33.3, 50, 99.5, 100} {
		const seeds = 2000
		const n = 240
		taken := make([]int, n)
		total := 0
		for seed := uint64(1); seed <= seeds; seed++ {
			got := 0
			for j := range n {
				if inCanary(seed, "coast", j, pct) {
					got++
					taken[j]++
				}
				if hi := math.Ceil(float64(j+1) * pct / 100); float64(got) > hi {
					t.Fatalf("%v%%, seed %d: %d of the first %d targets in the canary, want at most %v", pct, seed, got, j+1, hi)
				}
			}
			total += got
		}
		// Double hits take from the mean as the share grows: a few percent's are rare.
		if mean, want := float64(total)/seeds, n*pct/100; pct <= 10 && math.Abs(mean-want) > 0.02*want+0.1 {
			t.Errorf("%v%%: %.2f of %d targets in the canary on average, want %.2f", pct, mean, n, want)
		}
		// Each position's count is binomial(seeds, pct/100), less by up to share²/4 for
		// a target spanning two units; allow 5σ.
		want := seeds * pct / 100
		sigma := math.Sqrt(seeds / 4.0) // the widest binomial(seeds, ·)
		for j := range n {
			if d := want - float64(taken[j]); d > 5*sigma+seeds*pct*pct/1e4/4+1 || -d > 5*sigma+1 {
				t.Errorf("%v%%: position %d taken by %d of %d seeds, want about %.0f", pct, j, taken[j], seeds, want)
			}
		}
	}
}

// Two seeds, or two regions, draw different targets.
func TestCanaryDrawsDifferWithSeedAndRegion(t *testing.T) {
	pick := func(seed uint64, region string) string {
		s := ""
		for j := range 1000 {
			if inCanary(seed, region, j, 5) {
				s += fmt.Sprint(j, ",")
			}
		}
		return s
	}
	if pick(1, "coast") == pick(2, "coast") || pick(1, "coast") == pick(1, "north") {
		t.Error("the same 5% of 1,000 targets drawn under another seed or region")
	}
	if pick(7, "coast") != pick(7, "coast") {
		t.Error("a seed draws differently the second time")
	}
}

// Positions and target numbers map to each other across the canary and the rest.
func TestCanaryOrdAndPosition(t *testing.T) {
	a := &Action{CanarySeed: 9, CanaryPercent: 10}
	p := &Progress{}
	var ords []int64
	for i := range 95 {
		ords = append(ords, p.drawTarget(a, []string{"a", "b", "c"}[i%3]))
	}
	seen := map[int]bool{}
	for _, o := range ords {
		pos := p.posOf(a, o)
		if seen[pos] || pos < 1 || pos > p.Total || p.ordAt(a, pos) != o {
			t.Fatalf("target %d: position %d (ordAt %d); canary %d of %d", o, pos, p.ordAt(a, pos), p.CanaryDrawn, p.Total)
		}
		seen[pos] = true
		if (o <= restBase) != (pos <= p.CanaryDrawn) {
			t.Fatalf("target %d at position %d: the canary (%d) must come first", o, pos, p.CanaryDrawn)
		}
	}
	legacy := &Action{}
	if legacy.Progress.ordAt(legacy, 17) != 17 || legacy.Progress.posOf(legacy, 17) != 17 {
		t.Error("an action executed before the canary was drawn numbers its targets by position")
	}
}
