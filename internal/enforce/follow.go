package enforce

import (
	"context"
	"log/slog"
	"time"
)

// Follower keeps an Index current with the sanctions every process writes: it loads the
// index at start, then applies the change feed whenever the database says something
// committed, and on a timer in case a notification was missed.
type Follower struct {
	feed  Feed
	index *Index
	log   *slog.Logger
	now   func() time.Time
	seq   int64 // the last change applied
	// Poll is how often the follower reads the feed without being told to.
	Poll time.Duration
}

// DefaultPoll keeps every process within a second of every write even when
// notifications are lost.
const DefaultPoll = 250 * time.Millisecond

// changesPage is how many changes one read of the feed takes.
const changesPage = 10_000

// NewFollower returns a follower that keeps ix current from feed.
func NewFollower(feed Feed, ix *Index, log *slog.Logger) *Follower {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{feed: feed, index: ix, log: log, now: time.Now, Poll: DefaultPoll}
}

// Load fills the index with every sanction that denies now or may later, and returns
// how many it loaded.
func (f *Follower) Load(ctx context.Context) (int, error) {
	n := 0
	err := f.index.Load(func(add func(Entry)) error {
		seq, err := f.feed.Active(ctx, f.now(), func(e Entry) { n++; add(e) })
		f.seq = seq
		return err
	})
	return n, err
}

// CatchUp applies every change committed since the last one applied.
func (f *Follower) CatchUp(ctx context.Context) error {
	for {
		es, err := f.feed.Changes(ctx, f.seq, changesPage)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			return nil
		}
		f.index.Apply(f.now().UnixNano(), es...)
		f.seq = es[len(es)-1].Seq
		if len(es) < changesPage {
			return nil
		}
	}
}

// Run catches up at every notification and every Poll until ctx ends, and then returns
// nil. Call Load first.
func (f *Follower) Run(ctx context.Context) error {
	wake := f.feed.Watch(ctx)
	tick := time.NewTicker(f.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-tick.C:
		}
		if err := f.CatchUp(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("enforce: catching up with sanction changes failed; retrying", "err", err)
		}
	}
}
