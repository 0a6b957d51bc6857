// Package review is the one queue mechanism that appeals and report cases share. An item
// waits in its queue in priority order (overdue first, then harm, then age); a reviewer
// claims a few at a time under a lease that, left unfinished, expires back to the queue;
// each item has an SLA deadline, marked breached once by the timer that finds it passed;
// and four eyes keep a reviewer off an item about their own decisions: the principals an
// item excludes never receive it, nor may decide it.
//
// The domain (appeals, reports) keeps its own records and their states; the queue keeps
// only what ordering and leasing need, written in the domain's transaction.
package review

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// Item is one thing waiting for a person in a queue.
type Item struct {
	Queue     string    // "appeals", "cases", …
	ID        string    // the appeal's or case's ID
	Harm      int64     // how much waiting hurts: higher first, after the overdue
	DueAt     time.Time // the SLA deadline
	CreatedAt time.Time
	Breached  bool // the deadline passed and the timer said so; first in the queue
	// Holder is the Identity of the reviewer holding the lease, until LeaseUntil;
	// "" when none holds it.
	Holder     string
	LeaseUntil time.Time
	// Excluded are the Identities (principal.Identity) of those who may neither
	// receive nor decide the item.
	Excluded []string
}

// Store keeps the queues. Writes must be called inside a write transaction (see package
// txn).
type Store interface {
	// Put adds the item, or replaces it (with its lease ended) when it is there.
	Put(ctx context.Context, it *Item) error
	// Get returns the item. Returns errs.NotFound when it is in no queue.
	Get(ctx context.Context, queue, id string) (*Item, error)
	// Remove takes the item out of its queue; an item not there is no error.
	Remove(ctx context.Context, queue string, ids ...string) error
	// Claim leases to who, until until, up to n items of queue whose lease is free at
	// now and that do not exclude who, in priority order, and returns their IDs.
	Claim(ctx context.Context, queue, who string, n int, now, until time.Time) ([]string, error)
	// Release ends the lease on the item, which goes back to the queue.
	Release(ctx context.Context, queue, id string) error
	// Breach marks breached up to limit items of queue whose deadline is before now and
	// that are not marked yet, and returns their IDs.
	Breach(ctx context.Context, queue string, now time.Time, limit int) ([]string, error)
}

// Limits of a claim.
const (
	MaxClaim     = 100
	DefaultLease = 15 * time.Minute
	MinLease     = time.Minute
	MaxLease     = 8 * time.Hour
)

// ClaimRequest is what a reviewer asks of a queue: {"n": 10, "lease": "15m"}.
type ClaimRequest struct {
	N     int    `json:"n"`     // how many items, 1 to MaxClaim (default 10)
	Lease string `json:"lease"` // how long the reviewer holds them, 1m to 8h (default 15m)
}

// Check returns how many items r asks for and for how long, or errs.Invalid naming
// every field at fault.
func (r ClaimRequest) Check() (n int, lease time.Duration, err error) {
	var fs errs.Fields
	n, lease = r.N, DefaultLease
	if n == 0 {
		n = 10
	}
	if n < 1 || n > MaxClaim {
		fs.Add("n", "must be from 1 to %d", MaxClaim)
	}
	if r.Lease != "" {
		d, perr := time.ParseDuration(r.Lease)
		if perr != nil || d < MinLease || d > MaxLease {
			fs.Add("lease", `must be a duration from 1m to 8h, such as "15m"`)
		}
		lease = d
	}
	return n, lease, fs.Err()
}

// Priority is the item's place in the queue as one number, for people to read: the harm,
// raised above every item on time once the deadline is breached.
func (it *Item) Priority() int64 {
	if it.Breached {
		return it.Harm + BreachedPriority
	}
	return it.Harm
}

// BreachedPriority is what a breach adds to an item's priority: more than any harm.
const BreachedPriority = 1_000_000

// HeldBy reports whether p holds the item's lease at now.
func (it *Item) HeldBy(p principal.Principal, now time.Time) bool {
	return it.Holder != "" && it.Holder == p.Identity() && now.Before(it.LeaseUntil)
}

// Excludes reports whether four eyes keep p off the item.
func (it *Item) Excludes(p principal.Principal) bool {
	id := p.Identity()
	for _, x := range it.Excluded {
		if x == id {
			return true
		}
	}
	return false
}

// MayDecide returns nil when p may decide the item at now: p holds its lease and is not
// excluded. Returns errs.Forbidden when four eyes keep p off it (saying so), and
// errs.Conflict when p does not hold the lease (claim it first, or it expired).
func (it *Item) MayDecide(p principal.Principal, now time.Time) error {
	if it.Excludes(p) {
		return errs.E(errs.Forbidden, "four eyes: %s may not decide %s, which is about their own decision", p.Name, it.ID)
	}
	if !it.HeldBy(p, now) {
		if it.Holder != "" && now.Before(it.LeaseUntil) {
			return errs.E(errs.Conflict, "%s is leased to another reviewer until %s", it.ID, it.LeaseUntil.Format(time.RFC3339))
		}
		return errs.E(errs.Conflict, "%s is not leased to %s: claim it first (a lease that ran out went back to the queue)", it.ID, p.Name)
	}
	return nil
}
