package vault

import (
	"context"
	"sync"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/txn"
)

// readLog writes the entries of the vault's reads (masked reads and lookups), which
// change nothing but the log, many to a write transaction. Each read still waits for its
// own entries to commit before it answers; the reads that arrive while a batch commits
// go together in the next one, as one append. A transaction and savepoint per read were
// most of a masked read's cost (see BenchmarkMaskedRead).
//
// It combines without a goroutine of its own: a read queues its entries and takes the
// writer's turn; whoever holds the turn writes everything queued, its own included, and
// answers each read in it, so a read that finds its entries written when its turn comes
// returns at once.
type readLog struct {
	tx    txn.Runner
	audit *audit.Recorder

	turn  sync.Mutex // held while a batch is written
	mu    sync.Mutex // guards queue
	queue []*pendingRead
}

type pendingRead struct {
	entries []*audit.Entry
	done    chan error // buffered: the writer never waits on it
}

// maxReadBatch bounds the entries of one batch.
const maxReadBatch = 2000

// record writes entries in a write transaction, with whatever other reads queued. In
// a transaction of the caller's, they are written in it, alone: a batch must not share
// the fate of one caller's transaction.
func (l *readLog) record(ctx context.Context, entries []*audit.Entry) error {
	outside := false
	l.tx.AfterCommit(ctx, func() { outside = true }) // runs at once outside a transaction
	if !outside {
		return l.audit.Append(ctx, entries)
	}
	me := &pendingRead{entries: entries, done: make(chan error, 1)}
	l.mu.Lock()
	l.queue = append(l.queue, me)
	l.mu.Unlock()

	l.turn.Lock()
	defer l.turn.Unlock()
	for {
		select {
		case err := <-me.done: // written, by this turn or a turn before
			return err
		default:
		}
		l.writeBatch(ctx)
	}
}

// writeBatch writes the reads queued first, up to maxReadBatch entries, and answers
// them. Call it holding the turn.
func (l *readLog) writeBatch(ctx context.Context) {
	l.mu.Lock()
	batch, n := l.queue, 0
	for i, p := range batch {
		if n+len(p.entries) > maxReadBatch && i > 0 {
			batch = batch[:i]
			break
		}
		n += len(p.entries)
	}
	l.queue = l.queue[len(batch):]
	l.mu.Unlock()
	all := make([]*audit.Entry, 0, n)
	for _, p := range batch {
		all = append(all, p.entries...)
	}
	// Not cancelled with this request: the batch holds others' reads too.
	err := l.tx.Write(context.WithoutCancel(ctx), func(ctx context.Context) error { return l.audit.Append(ctx, all) })
	for _, p := range batch {
		p.done <- err
	}
}
