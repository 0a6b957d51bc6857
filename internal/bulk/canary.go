package bulk

import (
	"crypto/sha256"
	"encoding/binary"
	"maps"
	"math"
)

// The canary is a seeded random sample of the targets, stratified by region, drawn as
// the targets are fixed, page by page, in account ID order. The first targets by ID
// were the canary before, and a sweep's earliest accounts bore every canary.
//
// Lay each region's targets, in the order they are fixed, end to end on a line, each
// percent/100 long: target j covers [j·share, (j+1)·share). In each unit b of the line
// a point b+u is drawn, u from the action's seed, the region and b; a target a point
// falls on is in the canary. So every target is in it with the share's chance (when
// 100/percent is not whole, a target spanning two units may hold both points: its
// chance is less by at most share²/4, a 1-in-40,000 event at 1%); of a region's first
// n targets the canary holds n·share rounded down or up (one less for each such double
// hit); and a restart, which fixes the same page again from the same counts, draws the
// same targets.
//
// Canary targets are numbered 1, 2, 3, …, the others restBase+1, restBase+2, …, so the
// runner, which sanctions and reverts in number order, takes the canary first; a
// position in that order (Progress.Done, Reverted) is a target number through ordAt.

// restBase is where the numbers of the targets outside the canary start.
const restBase = 1 << 40

// drawTarget numbers the next target of region, fixed for a, and counts it.
func (p *Progress) drawTarget(a *Action, region string) (ord int64) {
	if p.Regions == nil {
		p.Regions = map[string]int{}
	}
	j := p.Regions[region]
	p.Regions[region]++
	p.Total++
	if a.CanaryPercent > 0 && inCanary(a.CanarySeed, region, j, a.CanaryPercent) {
		if p.CanaryRegions == nil {
			p.CanaryRegions = map[string]int{}
		}
		p.CanaryRegions[region]++
		p.CanaryDrawn++
		return int64(p.CanaryDrawn)
	}
	return restBase + int64(p.Total-p.CanaryDrawn)
}

// inCanary says whether the j-th target (from 0) of region is in the canary of
// percent% drawn with seed.
func inCanary(seed uint64, region string, j int, percent float64) bool {
	share := percent / 100
	lo, hi := float64(j)*share, float64(j+1)*share
	for b := math.Floor(lo); b < hi; b++ {
		if x := b + draw(seed, region, int(b)); lo <= x && x < hi {
			return true
		}
	}
	return false
}

// draw returns a number in [0, 1) fixed by seed, region and block.
func draw(seed uint64, region string, block int) float64 {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seed)
	binary.BigEndian.PutUint64(b[8:], uint64(block))
	h := sha256.New()
	h.Write(b[:])
	h.Write([]byte(region))
	sum := h.Sum(nil)
	return float64(binary.BigEndian.Uint64(sum)>>11) / (1 << 53)
}

// ordAt returns the number of the target at position pos (from 1; 0 before the first)
// in the order the runner takes them. Actions executed before the canary was sampled
// (no seed) numbered their targets in that order.
func (p *Progress) ordAt(a *Action, pos int) int64 {
	if a.CanarySeed == 0 || pos <= p.CanaryDrawn {
		return int64(pos)
	}
	return restBase + int64(pos-p.CanaryDrawn)
}

// posOf returns the position in the runner's order of the target numbered ord.
func (p *Progress) posOf(a *Action, ord int64) int {
	if a.CanarySeed == 0 || ord <= restBase {
		return int(ord)
	}
	return p.CanaryDrawn + int(ord-restBase)
}

// clone returns a copy of p that shares no map with it.
func (p Progress) clone() Progress {
	p.Regions, p.CanaryRegions = maps.Clone(p.Regions), maps.Clone(p.CanaryRegions)
	return p
}
