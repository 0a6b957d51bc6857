package enforce

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
)

// Accounts is what the service needs of the accounts: a sanction names one that exists,
// and reaches a linked account only through a link.
type Accounts interface {
	// Get returns the account. Returns errs.NotFound when there is none.
	Get(ctx context.Context, id string) (*accounts.Account, error)
}

// Store keeps sanctions and policies. Writes must be called inside a write transaction
// (see package txn), after NextSeq.
type Store interface {
	// NextSeq takes the change sequence number of this transaction's sanction writes.
	// Numbers follow commit order: the transaction holds the sequence until it commits.
	NextSeq(ctx context.Context) (int64, error)
	// Insert stores a new sanction, written at seq.
	Insert(ctx context.Context, s *Sanction, seq int64) error
	// Update replaces a stored sanction, written at seq. Returns errs.NotFound when
	// there is none.
	Update(ctx context.Context, s *Sanction, seq int64) error
	// Get returns the sanction. Returns errs.NotFound when there is none.
	Get(ctx context.Context, id string) (*Sanction, error)
	// List returns up to limit sanctions of account, newest first, starting after the
	// sanction with ID after (from the newest when empty).
	List(ctx context.Context, account, after string, limit int) ([]*Sanction, error)
	// CountStrikes returns how many strikes of account under policy still count at t:
	// not withdrawn, and counting until after t.
	CountStrikes(ctx context.Context, account, policy string, t time.Time) (int, error)
	// PutPolicy creates or replaces p and reports whether it created it.
	PutPolicy(ctx context.Context, p *Policy) (created bool, err error)
	// GetPolicy returns the policy. Returns errs.NotFound when there is none.
	GetPolicy(ctx context.Context, id string) (*Policy, error)
}

// Feed is the change feed a Follower keeps its index current from.
type Feed interface {
	// Active calls add with every sanction that may deny at t or later, and returns the
	// change sequence number they are current to.
	Active(ctx context.Context, t time.Time, add func(Entry)) (seq int64, err error)
	// Changes returns up to limit entries of the sanctions written after seq, in order.
	Changes(ctx context.Context, after int64, limit int) ([]Entry, error)
	// Watch returns a channel that receives when changes may have been committed by
	// any process, until ctx ends; nil when the database cannot tell (then the
	// follower only polls).
	Watch(ctx context.Context) <-chan struct{}
}

// Event names a change users and platforms are told about.
type Event string

const (
	Created Event = "sanction.created"
	Amended Event = "sanction.amended"
	Lifted  Event = "sanction.lifted"
)

// Change is one sanction change, as announced.
type Change struct {
	Event     Event
	Sanction  *Sanction // as it stands after the change
	Policy    *Policy   // the sanction's policy; nil when it names none
	At        time.Time
	AppealURL string // where the account may appeal the sanction
	// Quiet says the account holder is not to be told (a bulk action's notify_users:
	// false); whoever else listens, the platform's webhooks among them, still is.
	Quiet bool
}

// Announcer tells the sanctioned accounts (and whoever else listens) of changes. Prepare
// does what needs no transaction (reading locales, rendering, encoding), before the
// changes' write transaction where it can; the Announcement it returns is written inside
// that transaction, so the notices commit with the changes. A bulk action prepares a
// whole batch at once.
type Announcer interface {
	Prepare(ctx context.Context, cs ...Change) (Announcement, error)
}

// Announcement is prepared announcements, ready to be written.
type Announcement interface {
	// Write stores the announcements. It must be called inside a write transaction.
	Write(ctx context.Context) error
}
