package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// Committer is a txn.Runner over DB whose transactions can hold work until they commit:
// an in-memory index must learn of a write only once it is durable, never of one that
// rolls back. Use it for every write that may call AfterCommit, including the outer
// writes (the API's idempotent requests) that such writes join.
type Committer struct{ db *DB }

// Committer returns the database's Committer.
func (db *DB) Committer() *Committer { return &Committer{db} }

type hooksKey struct{}

// hooks is the work a top-level write runs after it commits.
type hooks struct {
	mu sync.Mutex
	fs []func()
}

// Write implements txn.Runner: it runs fn as DB.Write does, then, if the transaction
// committed, what fn passed to AfterCommit, in order. A Write inside another joins it,
// and its hooks wait for the outer commit.
func (c *Committer) Write(ctx context.Context, fn func(context.Context) error) error {
	if _, ok := ctx.Value(hooksKey{}).(*hooks); ok {
		return c.db.Write(ctx, fn)
	}
	h := &hooks{}
	err := c.db.Write(context.WithValue(ctx, hooksKey{}, h), func(ctx context.Context) error {
		err := fn(ctx)
		if err != nil {
			// fn's writes are undone; so is the work it scheduled (the batch may
			// still commit others').
			h.mu.Lock()
			h.fs = nil
			h.mu.Unlock()
		}
		return err
	})
	if err != nil {
		return err
	}
	h.mu.Lock()
	fs := h.fs
	h.mu.Unlock()
	for _, f := range fs {
		f()
	}
	return nil
}

// AfterCommit arranges for f to run once the write transaction in ctx has committed,
// and never if it rolls back. Outside a transaction f runs at once. Inside a transaction
// begun by DB.Write rather than Committer.Write it panics (which fails that write):
// nothing there would run f at the right time.
func (c *Committer) AfterCommit(ctx context.Context, f func()) {
	if h, ok := ctx.Value(hooksKey{}).(*hooks); ok {
		h.mu.Lock()
		h.fs = append(h.fs, f)
		h.mu.Unlock()
		return
	}
	if _, ok := ctx.Value(txKey{}).(*sql.Tx); ok {
		panic("sqlstore: AfterCommit in a transaction begun by DB.Write; begin it with Committer.Write")
	}
	f()
}
