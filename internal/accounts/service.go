package accounts

import (
	"context"
	"strconv"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/txn"
)

// MaxImport is the most accounts one Import takes.
const MaxImport = 100_000

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
	lineOf := func(i int) int {
		if lines != nil {
			return lines[i]
		}
		return i + 1
	}
	var fs errs.Fields
	seen := make(map[string]int, len(as))
	now := s.now().UTC()
	changes := make([]audit.Change, len(as))
	for i, a := range as {
		line := lineField(lineOf(i))
		a.Normalize()
		if invalid := errs.FieldsOf(a.Validate()); invalid != nil {
			fs = append(fs, errs.Fields(invalid).Prefix(line)...)
		} else if first, dup := seen[a.ID]; dup {
			fs.Add(line+"id", "duplicate of line %d", first)
		} else {
			seen[a.ID] = lineOf(i)
		}
		if len(fs) >= 100 { // enough to fix a file; do not build a huge error
			break
		}
		a.UpdatedAt = now
		changes[i] = change(a)
	}
	if err := fs.Err(); err != nil {
		return ImportResult{}, err
	}
	entries, err := s.audit.Entries(ctx, changes...)
	if err != nil {
		return ImportResult{}, err
	}
	var res ImportResult
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		created, err := s.store.PutMany(ctx, as)
		if err != nil {
			return err
		}
		res = ImportResult{Created: created, Replaced: len(as) - created}
		return s.audit.Append(ctx, entries)
	})
	return res, err
}

func lineField(n int) string {
	return "line " + strconv.Itoa(n) + ": "
}
