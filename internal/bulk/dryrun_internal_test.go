package bulk

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// Samples are the smallest IDs of their group whatever order the readers meet them in,
// and merging the dry runs of several readers keeps that.
func TestSamplesAreTheSmallestIDs(t *testing.T) {
	ids := make([]string, 500)
	for i := range ids {
		ids[i] = fmt.Sprintf("acct-%04d", i)
	}
	want := ids[:MaxSamples]
	shuffled := slices.Clone(ids)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var one []string
	for _, id := range shuffled {
		one = sample(one, id)
	}
	if !slices.Equal(one, want) {
		t.Fatalf("one reader: %v", one)
	}
	a := &Action{ID: "a", Screens: []Screen{{Name: "s"}}}
	parts := []*DryRun{newDryRun(a), newDryRun(a), newDryRun(a)}
	for i, id := range shuffled {
		d := parts[i%3]
		d.Samples.ToSanction = sample(d.Samples.ToSanction, id)
		d.Samples.Spared["s"] = sample(d.Samples.Spared["s"], id)
		d.ToSanction++
	}
	d := parts[0]
	for _, p := range parts[1:] {
		d.merge(p)
	}
	if !slices.Equal(d.Samples.ToSanction, want) || !slices.Equal(d.Samples.Spared["s"], want) || d.ToSanction != len(ids) {
		t.Fatalf("merged: %d to sanction, samples %v, spared %v", d.ToSanction, d.Samples.ToSanction, d.Samples.Spared["s"])
	}
}
