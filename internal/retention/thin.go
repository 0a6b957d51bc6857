package retention

import (
	"context"
	"time"
)

// The sequencer signs a checkpoint each time the tree grows, up to two a second, and
// keeps them all: 170,000 a day. A witness does not need them. It holds a checkpoint of
// its own and asks for a consistency proof from that size to the newest, and proofs are
// computed from the tree's stored tiles (audit.Log.ProveConsistency), never from the
// stored checkpoints; `steward audit verify` recomputes the root of whichever
// checkpoints are stored. So the sweeper keeps the newest checkpoint, the last of each
// hour for HourlyCheckpoints (30 days), and the last of each day before that (UTC), and
// any tree size stays provable against the newest.

// Stamp is a signed checkpoint as thinning sees it: the size of the tree it signs and
// when it was signed.
type Stamp struct {
	Size int64
	Time time.Time
}

// thin deletes the checkpoints that are not the last of their hour (or, before
// hourlyFrom, their day), one batch per transaction, and returns how many it deleted.
func (s *Sweeper) thin(ctx context.Context, now time.Time) (int, error) {
	hourlyFrom := now.Add(-s.cfg.HourlyCheckpoints)
	total := 0
	for after := int64(0); ; {
		var more bool
		err := s.tx.Write(ctx, func(ctx context.Context) error {
			// One more than a batch: whether a stamp is the last of its bucket depends on
			// the one after it.
			st, err := s.store.CheckpointStamps(ctx, after, s.cfg.Batch+1)
			if err != nil || len(st) < 2 {
				return err
			}
			n, err := s.store.DeleteCheckpoints(ctx, superseded(st, hourlyFrom))
			if err != nil {
				return err
			}
			total += n
			s.deleted.WithLabelValues(Checkpoints).Add(float64(n))
			after, more = st[len(st)-2].Size, len(st) > s.cfg.Batch
			return nil
		})
		if err != nil || !more {
			return total, err
		}
	}
}

// superseded returns the sizes of the stamps in st (by size) but its last that are
// followed by a stamp of the same bucket. Stamps are signed in size order, so a bucket
// is one run of stamps; a clock that stepped back between two processes makes two runs
// of one bucket, and both keep their last: thinning keeps too many then, never too few.
func superseded(st []Stamp, hourlyFrom time.Time) []int64 {
	var out []int64
	for i := 0; i+1 < len(st); i++ {
		if bucket(st[i].Time, hourlyFrom) == bucket(st[i+1].Time, hourlyFrom) {
			out = append(out, st[i].Size)
		}
	}
	return out
}

// bucket returns the hour of t (since 1970, UTC) from hourlyFrom on, and before it the
// day of t as a negative number, so that no hour and day share a bucket.
func bucket(t, hourlyFrom time.Time) int64 {
	if !t.Before(hourlyFrom) {
		return t.Unix() / 3600
	}
	return -t.Unix()/86400 - 1
}
