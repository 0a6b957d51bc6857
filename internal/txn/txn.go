// Package txn names the one way Steward groups writes: a change, its audit entry, its
// idempotency record and (later) its outbox events commit together or not at all.
//
// Domain services call Runner.Write and do every store write inside fn. The storage
// adapter carries the transaction in the context it passes to fn, so stores called with
// that context join it; a Write inside another Write joins the outer one.
package txn

import "context"

// Runner runs write transactions.
type Runner interface {
	// Write runs fn inside a write transaction and returns once the transaction is
	// durable (committed and synced), or with fn's error after undoing everything fn
	// wrote. Concurrent calls may share one commit; a failure of one fn never undoes
	// another's work.
	Write(ctx context.Context, fn func(ctx context.Context) error) error
	// AfterCommit arranges for f to run once the write transaction in ctx has committed
	// (before that Write returns), and never if it rolls back: an in-memory index must
	// learn of a write only once it is durable. Outside a transaction f runs at once.
	AfterCommit(ctx context.Context, f func())
}
