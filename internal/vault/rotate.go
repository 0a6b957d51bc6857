package vault

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/audit"
)

// rotateBatch is how many wrapped keys one transaction of a rotation re-wraps.
const rotateBatch = 500

// RotateProgress is how far a rotation is: of Total wrapped keys, Done are under the
// new primary master key.
type RotateProgress struct {
	Key         uint32 // the new primary's ID
	Total, Done int64
}

// Rotate re-wraps every wrapped key (each account's data key, the index and commitment
// keys) under a new primary master key and then retires the old ones; the sealed values
// are not touched. Until it finishes both keys open what they wrapped, so reads keep
// working throughout. It is resumable: a master keyset holding more than one key is a
// rotation under way (interrupted, say), which Rotate finishes instead of starting
// another. progress, if not nil, is called after every batch.
//
// Other processes wrap new data keys under the new primary within RefreshEvery of its
// saving; Rotate makes its last pass after that, and retires the old keys only once a
// pass finds nothing left under them.
func (s *Service) Rotate(ctx context.Context, progress func(RotateProgress)) error {
	m := s.master
	if len(m.KeyIDs()) == 1 {
		if _, err := m.AddPrimary(); err != nil {
			return err
		}
	}
	settled := time.Now().Add(2 * RefreshEvery)
	primary := m.Primary()
	for {
		found, err := s.rewrapPass(ctx, primary, progress)
		if err != nil {
			return err
		}
		if found == 0 && time.Now().After(settled) {
			break
		}
		if found == 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(settled)):
			}
		}
	}
	return m.Retire()
}

// rewrapPass re-wraps, in account order, every key not wrapped by primary and returns
// how many it found.
func (s *Service) rewrapPass(ctx context.Context, primary uint32, progress func(RotateProgress)) (int, error) {
	found := 0
	for after := ""; ; {
		old, err := s.store.WrappedKeys(ctx, primary, after, rotateBatch)
		if err != nil || len(old) == 0 {
			return found, err
		}
		found += len(old)
		fresh := make([]Wrapped, len(old))
		for i, w := range old {
			key, err := s.master.Unwrap(w.DataKey, wrapAD(w.Account))
			if err != nil {
				return found, err
			}
			fresh[i].Account = w.Account
			if fresh[i].DataKey, fresh[i].MasterKey, err = s.master.Wrap(key, wrapAD(w.Account)); err != nil {
				return found, err
			}
		}
		if err := s.tx.Write(ctx, func(ctx context.Context) error {
			n, err := s.store.Rewrap(ctx, old, fresh)
			if err != nil {
				return err
			}
			return s.audit.Record(ctx, audit.Change{Action: ActionRotate, Subject: "vault:master-key",
				Value: map[string]any{"key": primary, "rewrapped": n}})
		}); err != nil {
			return found, err
		}
		after = old[len(old)-1].Account
		if progress != nil {
			total, done, err := s.store.CountWrapped(ctx, primary)
			if err != nil {
				return found, err
			}
			progress(RotateProgress{Key: primary, Total: total, Done: done})
		}
	}
}
