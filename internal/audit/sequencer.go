package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/stewardhq/steward/internal/errs"
)

// DefaultBatch is how many entries one sequencing transaction integrates at most. While
// it runs, other writes wait (SQLite has one writer), so it is kept to tens of
// milliseconds of work.
const DefaultBatch = 8192

// Sequencer integrates committed entries into the tree and signs a checkpoint whenever
// the tree grows. Several sequencers, in several processes sharing one database, take
// turns; they must all sign with the same key.
type Sequencer struct {
	log    *Log
	key    *Key
	logger *slog.Logger
	now    func() time.Time
	Batch  int // entries per transaction; DefaultBatch when zero
	// Interval is how often Run integrates; DefaultInterval from NewSequencer.
	Interval time.Duration
}

// NewSequencer returns a sequencer for l that signs with key.
func NewSequencer(l *Log, key *Key, logger *slog.Logger) *Sequencer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sequencer{log: l, key: key, logger: logger, now: time.Now, Interval: DefaultInterval}
}

// Register records the sequencer's verifier key as the log's key, the first time, and
// otherwise checks that it is the log's key. Returns errs.Conflict when the log is signed
// with another key.
func (s *Sequencer) Register(ctx context.Context) error {
	return s.log.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.log.store.LockTree(ctx); err != nil {
			return err
		}
		return s.checkKey(ctx)
	})
}

func (s *Sequencer) checkKey(ctx context.Context) error {
	vkey, err := s.log.store.VerifierKey(ctx)
	switch {
	case errs.CodeOf(err) == errs.NotFound:
		return s.log.store.SetVerifierKey(ctx, s.key.VerifierKey)
	case err != nil:
		return err
	case vkey != s.key.VerifierKey:
		return errs.E(errs.Conflict, "the audit log is signed with the key %s, not %s: give every server the log's key (STEWARD_AUDIT_KEY_FILE)", vkey, s.key.VerifierKey)
	}
	return nil
}

// Integrate sequences every entry committed so far, a batch per transaction, signing a
// checkpoint after each batch. It returns how many entries it added and the latest
// checkpoint (nil when it added none).
func (s *Sequencer) Integrate(ctx context.Context) (added int64, cp *Checkpoint, err error) {
	for {
		n, c, err := s.integrateBatch(ctx)
		if errors.Is(err, errRaced) && ctx.Err() == nil {
			continue
		}
		if c != nil {
			cp = c
		}
		added += int64(n)
		if err != nil || n < s.batch() {
			return added, cp, err
		}
	}
}

func (s *Sequencer) batch() int {
	if s.Batch > 0 {
		return s.Batch
	}
	return DefaultBatch
}

// errRaced says that another sequencer placed some of a batch first: read it again.
var errRaced = errors.New("audit: another sequencer placed these entries first")

// integrateBatch integrates up to one batch of entries in one transaction.
func (s *Sequencer) integrateBatch(ctx context.Context) (n int, cp *Checkpoint, err error) {
	// Read and hash the leaves before taking the writer, which every other write waits
	// for on SQLite. Another sequencer may place some of them meanwhile; Sequence then
	// fails with errs.Conflict and nothing is written.
	rows, err := s.log.store.Pending(ctx, s.batch())
	if err != nil || len(rows) == 0 {
		return 0, nil, err
	}
	ids := make([]int64, len(rows))
	hashes := make([]tlog.Hash, len(rows))
	for i, r := range rows {
		ids[i], hashes[i] = r.ID, tlog.RecordHash(r.Leaf)
	}
	err = s.log.tx.Write(ctx, func(ctx context.Context) error {
		st := s.log.store
		if err := st.LockTree(ctx); err != nil {
			return err
		}
		if err := s.checkKey(ctx); err != nil {
			return err
		}
		c, err := AppendLeafHashes(ctx, st, s.key, hashes, s.now())
		if err != nil {
			return err
		}
		switch err := st.Sequence(ctx, ids, c.Size-int64(len(ids))); {
		case errs.CodeOf(err) == errs.Conflict:
			return errRaced
		case err != nil:
			return err
		}
		cp = c
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("audit: sequence: %w", err)
	}
	return len(rows), cp, nil
}

// AppendLeafHashes grows the stored tree by leaves with the given hashes, stores its
// tiles and a checkpoint signed with key, and returns the checkpoint. It does not place
// entries in the tree; the sequencer does that around it. Call it inside a write
// transaction, after LockTree. Benchmarks call it to build large trees quickly.
func AppendLeafHashes(ctx context.Context, st TreeStore, key *Key, hashes []tlog.Hash, now time.Time) (*Checkpoint, error) {
	old := tlog.Tree{}
	latest, err := st.LatestCheckpoint(ctx)
	switch {
	case err == nil:
		old = latest.Tree()
	case errs.CodeOf(err) != errs.NotFound:
		return nil, err
	}
	g, err := grow(ctx, st, old, hashes)
	if err != nil {
		return nil, err
	}
	if err := st.WriteTiles(ctx, g.Tiles, g.Data); err != nil {
		return nil, err
	}
	c, err := SignCheckpoint(key, g.Size, g.Root, now)
	if err != nil {
		return nil, err
	}
	return c, st.AddCheckpoint(ctx, c)
}

// DefaultInterval is how often a sequencer integrates new entries and signs a
// checkpoint: an entry is in a signed checkpoint within about this long of its commit.
const DefaultInterval = 500 * time.Millisecond

// Run integrates new entries every Interval until ctx ends, logging failures, and then
// once more, so entries committed before a shutdown are in the last checkpoint. Call
// Register first. It returns nil when ctx ends.
func (s *Sequencer) Run(ctx context.Context) error {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.tick(context.WithoutCancel(ctx))
			return nil
		case <-t.C:
			s.tick(ctx)
		}
	}
}

func (s *Sequencer) tick(ctx context.Context) {
	start := time.Now()
	n, cp, err := s.Integrate(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Error("audit sequencer", "err", err)
		}
		return
	}
	if n > 0 {
		s.logger.Debug("audit checkpoint", "added", n, "size", cp.Size, "duration", since(start))
	}
}
