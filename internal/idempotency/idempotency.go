// Package idempotency stores the first answer to each request made with an
// Idempotency-Key, so a retry gets that answer back and changes nothing.
package idempotency

import (
	"context"
	"time"
)

// Record is the stored first answer to a request.
type Record struct {
	Principal   string    // who made the request; keys are scoped to their caller
	Key         string    // the client's Idempotency-Key
	RequestHash []byte    // SHA-256 of method, path and body: a reuse with another request is refused
	Status      int       // the HTTP status of the first answer
	Body        []byte    // the first answer's body
	CreatedAt   time.Time //
}

// Store keeps records. Save must be called inside the write transaction of the change
// it answers for (see package txn).
type Store interface {
	// Lookup returns the record for principal and key. Returns errs.NotFound when there
	// is none.
	Lookup(ctx context.Context, principal, key string) (*Record, error)
	// Save stores rec. Returns errs.Conflict if a record with its key already exists.
	Save(ctx context.Context, rec *Record) error
}
