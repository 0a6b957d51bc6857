package bulk

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stewardhq/steward/internal/accounts"
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

// A dry run reads only the account columns its expressions use.
func TestColumnsRead(t *testing.T) {
	l, err := newLanguage(0)
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]accounts.Columns{
		`account.region == "border" && account.verified`:                0,
		`account.attributes.days_in_border >= 1.0`:                      accounts.WithAttributes,
		`has(account.attributes.trip_purpose)`:                          accounts.WithAttributes,
		`account.linked.exists(l, l.service == "game")`:                 accounts.WithLinked,
		`account.locale == "en" || size(account.sanctions) > 0`:         accounts.WithLocale,
		`[account].size() > 0`:                                          accounts.AllColumns,
		`account.linked.exists(account, account.service == "game")`:     accounts.WithLinked,
		`now - account.created_at > duration("1h") && account.id != ""`: 0,
	} {
		_, got, err := l.compile("criteria", expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		if got != want {
			t.Errorf("%s reads columns %b, want %b", expr, got, want)
		}
	}
}
