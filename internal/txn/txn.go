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
}
