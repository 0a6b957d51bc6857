package accounts

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/txn"
)

// Service applies the rules for changing accounts; every change is audited.
type Service struct {
	store Store
	tx    txn.Runner
	audit *audit.Recorder
	now   func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, tx txn.Runner, rec *audit.Recorder) *Service {
	return &Service{store: store, tx: tx, audit: rec, now: time.Now}
}

// Get returns the account. Returns errs.NotFound when there is none.
func (s *Service) Get(ctx context.Context, id string) (*Account, error) {
	if err := CheckID("id", id); err != nil {
		return nil, err
	}
	return s.store.Get(ctx, id)
}

// List returns a page of accounts in ID order.
func (s *Service) List(ctx context.Context, f Filter) ([]*Account, error) {
	return s.store.List(ctx, f)
}

// auditFields are the fields an account change sets; all of them, every time.
var auditFields = []string{"attributes", "created_at", "id", "linked", "locale", "region", "verified"}

// change is the audit record of an account change: the account without its timestamps
// of storage, so the same request always has the same digest.
func change(a *Account) audit.Change {
	v := *a
	v.UpdatedAt = time.Time{}
	return audit.Change{Action: "account.put", Subject: a.ID, Value: &v, Fields: auditFields}
}

// Put validates and creates or replaces a, setting its UpdatedAt. It reports whether it
// created the account. Returns errs.Invalid naming the fields at fault.
func (s *Service) Put(ctx context.Context, a *Account) (created bool, err error) {
	a.Normalize()
	if err := a.Validate(); err != nil {
		return false, err
	}
	a.UpdatedAt = s.now().UTC()
	entries, err := s.audit.Entries(ctx, change(a))
	if err != nil {
		return false, err
	}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		created, err = s.store.Put(ctx, a)
		if err != nil {
			return err
		}
		return s.audit.Append(ctx, entries)
	})
	return created, err
}

// ImportResult counts what an import did.
type ImportResult struct {
	Created  int `json:"created"`
	Replaced int `json:"replaced"`
}

// Import validates every account, then creates or replaces them all in one transaction:
// all or nothing. Failures name their account's line, "line N: field": lines[i] is the
// line of as[i], or, when lines is nil, i+1. Returns errs.TooLarge over MaxImport
// accounts.
func (s *Service) Import(ctx context.Context, as []*Account, lines []int) (ImportResult, error) {
	if len(as) > MaxImport {
		return ImportResult{}, errs.E(errs.TooLarge, "at most %d accounts per import, got %d", MaxImport, len(as))
	}
	im := s.NewImport()
	defer im.Close()
	for i, a := range as {
		line := i + 1
		if lines != nil {
			line = lines[i]
		}
		if err := im.Add(ctx, a, line); err != nil {
			return ImportResult{}, err
		}
		if im.Full() {
			break
		}
	}
	return im.Commit(ctx)
}
