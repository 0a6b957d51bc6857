package retention

import (
	"context"
	"slices"
	"testing"
	"time"
)

// stamps is a Store of checkpoints only.
type stamps struct {
	sweeps
	kept []Stamp
}

func (s *stamps) CheckpointStamps(_ context.Context, after int64, limit int) ([]Stamp, error) {
	i, _ := slices.BinarySearchFunc(s.kept, after+1, func(st Stamp, n int64) int { return int(st.Size - n) })
	return slices.Clone(s.kept[i:min(i+limit, len(s.kept))]), nil
}

func (s *stamps) DeleteCheckpoints(_ context.Context, sizes []int64) (int, error) {
	n := len(s.kept)
	s.kept = slices.DeleteFunc(s.kept, func(st Stamp) bool { return slices.Contains(sizes, st.Size) })
	return n - len(s.kept), nil
}

// Thinning keeps the newest checkpoint, the last of each hour for 30 days and the last
// of each day before, whatever the batch size.
func TestThinCheckpoints(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 30, 0, 0, time.UTC)
	var all []Stamp
	// A checkpoint every 10 minutes for 40 days, the last one 5 minutes ago.
	start := now.Add(-40*24*time.Hour - 5*time.Minute)
	for at, size := start, int64(1); !at.After(now.Add(-5 * time.Minute)); at, size = at.Add(10*time.Minute), size+1 {
		all = append(all, Stamp{Size: size, Time: at})
	}
	for _, batch := range []int{1, 7, 10_000} {
		st := &stamps{sweeps: sweeps{calls: make(chan string, 100)}, kept: slices.Clone(all)}
		sw := NewSweeper(st, inline{}, Config{Batch: batch, Now: func() time.Time { return now }})
		counts, err := sw.Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		hourlyFrom := now.Add(-DefaultHourly)
		want := map[int64]bool{}
		for _, s := range all {
			want[bucket(s.Time, hourlyFrom)] = true
		}
		if len(st.kept) != len(want) || counts[Checkpoints] != len(all)-len(want) {
			t.Fatalf("batch %d: kept %d of %d checkpoints (deleted %d), want one for each of %d hours and days",
				batch, len(st.kept), len(all), counts[Checkpoints], len(want))
		}
		if last := st.kept[len(st.kept)-1]; last != all[len(all)-1] {
			t.Errorf("batch %d: the newest checkpoint %+v was not kept (last kept %+v)", batch, all[len(all)-1], last)
		}
		for i, s := range st.kept[:len(st.kept)-1] {
			next := st.kept[i+1]
			if bucket(s.Time, hourlyFrom) == bucket(next.Time, hourlyFrom) {
				t.Fatalf("batch %d: %+v and %+v share an hour or day", batch, s, next)
			}
		}
		// 10 days of days (the 11th day at the boundary is split) and 30 days of hours.
		if hours := 30 * 24; len(st.kept) < hours || len(st.kept) > hours+12 {
			t.Errorf("batch %d: kept %d checkpoints, want about %d hours and 10 days", batch, len(st.kept), hours)
		}
		if again, err := sw.Sweep(context.Background()); err != nil || again[Checkpoints] != 0 {
			t.Errorf("batch %d: a second sweep deleted %v (%v), want none", batch, again, err)
		}
	}
}
