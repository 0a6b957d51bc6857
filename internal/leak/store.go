package leak

import (
	"context"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/stewardhq/steward/internal/principal"
)

// Relay is a relay phone number: what one recipient was given instead of an account's
// (or a canary's) real number. Steward maps it back.
type Relay struct {
	Phone     string    `json:"phone"` // E.164
	Recipient string    `json:"recipient"`
	Account   string    `json:"account"` // an account ID, or "canary:" and the canary's ID
	Share     string    `json:"share"`   // the share that first gave it
	CreatedAt time.Time `json:"created_at"`
}

// Reveal is one reveal of an account's personal data by a member of staff, as the
// audit log holds it.
type Reveal struct {
	Account string // the account's commitment, the entry's subject
	Actor   principal.Principal
	Fields  []string
	Time    time.Time
}

// Store keeps shares, their record sets, the account ordinals those are over, canaries,
// relays and investigations. Writes must be called inside a write transaction (see
// package txn).
type Store interface {
	// Ordinals returns each account's ordinal, giving accounts without one the next
	// free ones, in order.
	Ordinals(ctx context.Context, accounts []string) ([]uint32, error)
	// AccountsAt returns the accounts of the ordinals in set, in ordinal order.
	AccountsAt(ctx context.Context, set *roaring.Bitmap) ([]string, error)
	// OrdinalsOf returns the ordinals of the accounts that have one.
	OrdinalsOf(ctx context.Context, accounts []string) (map[string]uint32, error)

	// PutShare stores a new share with its record set and canaries.
	// Returns errs.Conflict when a share carries the same (non-empty) canary set.
	PutShare(ctx context.Context, s *Share) error
	// GetShare returns a share with its record set and canaries.
	// Returns errs.NotFound when there is none.
	GetShare(ctx context.Context, id string) (*Share, error)
	// CanarySetTaken reports whether a share carries the canary set whose key is key.
	CanarySetTaken(ctx context.Context, key string) (bool, error)
	// EachShare calls fn with every share created before before, with its record set
	// and canaries, in ID order, until fn returns an error.
	EachShare(ctx context.Context, before time.Time, fn func(*Share) error) error
	// SharesCarrying returns the shares that carried the canary, in ID order.
	SharesCarrying(ctx context.Context, canary string) ([]*Share, error)

	// PutCanary creates or replaces a canary and reports whether it created it.
	PutCanary(ctx context.Context, c *Canary) (created bool, err error)
	// GetCanary returns a canary. Returns errs.NotFound when there is none.
	GetCanary(ctx context.Context, id string) (*Canary, error)
	// Canaries returns every canary, in ID order.
	Canaries(ctx context.Context) ([]*Canary, error)

	// RelaysFor returns the relays recipient holds for accounts, by account.
	RelaysFor(ctx context.Context, recipient string, accounts []string) (map[string]Relay, error)
	// PutRelays stores new relays. Returns errs.Conflict when a phone is taken.
	PutRelays(ctx context.Context, rs []Relay) error
	// RelayOf returns the relay of phone. Returns errs.NotFound when it is none.
	RelayOf(ctx context.Context, phone string) (*Relay, error)

	// Reveals returns the staff reveals (vault.ActionReveal entries) whose subject is
	// one of the commitments, oldest first.
	Reveals(ctx context.Context, commitments []string) ([]Reveal, error)

	// Activity returns each staff member's hourly activity in [from, to): their
	// reveals and lookups (from the vault's entries, by the name those record) and
	// shares, one row per recorded name, role and hour.
	Activity(ctx context.Context, from, to time.Time) ([]Activity, error)
	// PutInsiderAlert records an insider alert of actor for hour and reports whether it
	// is new.
	PutInsiderAlert(ctx context.Context, actor string, hour time.Time) (bool, error)

	// PutLeak stores an investigation.
	PutLeak(ctx context.Context, l *Leak) error
	// GetLeak returns an investigation. Returns errs.NotFound when there is none.
	GetLeak(ctx context.Context, id string) (*Leak, error)
}
