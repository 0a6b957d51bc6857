package audit

import (
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Source is a log as a witness sees it from outside.
type Source interface {
	// Checkpoint returns the latest signed checkpoint.
	Checkpoint(ctx context.Context) ([]byte, error)
	// ConsistencyProof returns the proof that the tree of size from is a prefix of the
	// tree of size to.
	ConsistencyProof(ctx context.Context, from, to int64) ([][]byte, error)
}

// ForkError says that a log showed a witness two histories that cannot both be true.
type ForkError struct{ Reason string }

func (e *ForkError) Error() string { return "the audit log forked or was rewritten: " + e.Reason }

// Witness checks the log's latest checkpoint against prev, the last one this witness
// accepted (nil the first time): its signature, and that it extends prev, with the
// transparency-dev/merkle verifier an outside party would use. It returns the latest
// checkpoint, to keep in place of prev, or a *ForkError if the log shrank or forked.
func Witness(ctx context.Context, src Source, verifier note.Verifier, prev []byte) (*Checkpoint, error) {
	msg, err := src.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	latest, err := OpenCheckpoint(msg, verifier)
	if err != nil {
		return nil, fmt.Errorf("the served checkpoint: %w", err)
	}
	if prev == nil {
		return latest, nil
	}
	old, err := OpenCheckpoint(prev, verifier)
	if err != nil {
		return nil, fmt.Errorf("the saved checkpoint: %w", err)
	}
	switch {
	case latest.Size < old.Size:
		return nil, &ForkError{fmt.Sprintf("it shrank from %d entries to %d", old.Size, latest.Size)}
	case latest.Size == old.Size:
		if latest.Root != old.Root {
			return nil, &ForkError{fmt.Sprintf("two different trees of size %d are signed", old.Size)}
		}
		return latest, nil
	}
	hashes, err := src.ConsistencyProof(ctx, old.Size, latest.Size)
	if err != nil {
		return nil, fmt.Errorf("consistency proof from %d to %d: %w", old.Size, latest.Size, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(old.Size), uint64(latest.Size), hashes, old.Root[:], latest.Root[:]); err != nil {
		return nil, &ForkError{fmt.Sprintf("the tree of size %d does not extend the tree of size %d: %v", latest.Size, old.Size, err)}
	}
	return latest, nil
}
