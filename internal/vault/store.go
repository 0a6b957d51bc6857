package vault

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/principal"
)

// Record is an account's personal data as stored: sealed under the account's data key,
// which is stored wrapped by the master key. Nothing in it is a value in clear.
type Record struct {
	Account   string
	MasterKey uint32   // the ID of the master key that wrapped DataKey
	DataKey   []byte   // the account's data key, wrapped
	Sealed    []byte   // the PII as JSON, AES-256-GCM under the data key, bound to the account
	Fields    []string // the names of the fields it holds
	UpdatedAt time.Time
	Index     []IndexEntry // its blind-index entries, written with it
}

// IndexEntry is one blind-index entry: a field and the HMAC of its normalised value.
type IndexEntry struct {
	Field string
	Hash  []byte
}

// Secret is a vault key other than the master key (the index and commitment keys),
// stored wrapped by the master key.
type Secret struct {
	Name      string
	MasterKey uint32
	Wrapped   []byte
}

// Wrapped is a stored wrapped key, for rotation: an account's data key, or a secret
// (Account is then "secret:" and its name).
type Wrapped struct {
	Account   string
	MasterKey uint32
	DataKey   []byte
}

// Store keeps the vault's records, indexes, purposes, reveal counts and secrets. Writes
// must be called inside a write transaction (see package txn).
type Store interface {
	// PutRecords creates or replaces each account's record and its index entries.
	PutRecords(ctx context.Context, recs ...*Record) error
	// GetRecord returns the account's record, without Index.
	// Returns errs.NotFound when the account has no personal data.
	GetRecord(ctx context.Context, account string) (*Record, error)
	// GetRecords returns the records of those accounts that have one, without Index,
	// by account.
	GetRecords(ctx context.Context, accounts []string) (map[string]*Record, error)
	// DeleteRecord deletes the account's record, with its wrapped data key and index
	// entries, and returns what it was.
	// Returns errs.NotFound when the account has no personal data.
	DeleteRecord(ctx context.Context, account string) (*Record, error)
	// Lookup returns up to limit accounts whose field has the blind-index hash, in ID order.
	Lookup(ctx context.Context, field string, hash []byte, limit int) ([]string, error)

	// PutPurpose creates or replaces a purpose and reports whether it created it.
	PutPurpose(ctx context.Context, p *Purpose) (created bool, err error)
	// GetPurpose returns the purpose. Returns errs.NotFound when there is none.
	GetPurpose(ctx context.Context, name string) (*Purpose, error)
	// AddReveals adds n to the reveals actor made for purpose on day (YYYY-MM-DD, UTC)
	// and returns the new total.
	AddReveals(ctx context.Context, actor, purpose, day string, n int) (int, error)

	// GetSecret returns a secret. Returns errs.NotFound when there is none.
	GetSecret(ctx context.Context, name string) (*Secret, error)
	// AddSecret stores a new secret. Returns errs.Conflict when one by its name exists.
	AddSecret(ctx context.Context, s *Secret) error

	// WrappedKeys returns up to limit wrapped keys not wrapped by master key notBy, with
	// account after after, in account order; secrets come first ("secret:" sorts low).
	WrappedKeys(ctx context.Context, notBy uint32, after string, limit int) ([]Wrapped, error)
	// Rewrap replaces each wrapped key whose stored form is still old's with w's, and
	// returns how many it replaced (a key erased or re-wrapped meanwhile is left alone).
	Rewrap(ctx context.Context, old, w []Wrapped) (int, error)
	// PutActor records who pseudonym is, unless it is recorded already (the first
	// record stands).
	PutActor(ctx context.Context, pseudonym string, p principal.Principal, at time.Time) error
	// GetActor returns who pseudonym is. Returns errs.NotFound when it is unrecorded.
	GetActor(ctx context.Context, pseudonym string) (principal.Principal, error)

	// CountWrapped returns how many wrapped keys there are, and how many of them master
	// key by wrapped.
	CountWrapped(ctx context.Context, by uint32) (total, done int64, err error)
}
