package audit

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of the tree's size and root hash, in the C2SP
// checkpoint format (https://c2sp.org/tlog-checkpoint): a signed note whose body is the
// log's origin, the tree size in decimal and the root hash in standard base64, each on a
// line of its own.
type Checkpoint struct {
	Size int64
	Root tlog.Hash
	Note []byte // the signed note, as served
	Time time.Time
}

// Tree returns the tree the checkpoint commits to.
func (c *Checkpoint) Tree() tlog.Tree { return tlog.Tree{N: c.Size, Hash: c.Root} }

// checkpointBody returns the note text of a checkpoint.
func checkpointBody(origin string, size int64, root tlog.Hash) string {
	return origin + "\n" + strconv.FormatInt(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// SignCheckpoint returns the signed checkpoint of the tree of size with root.
func SignCheckpoint(key *Key, size int64, root tlog.Hash, now time.Time) (*Checkpoint, error) {
	msg, err := note.Sign(&note.Note{Text: checkpointBody(key.Origin(), size, root)}, key.Signer)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return &Checkpoint{Size: size, Root: root, Note: msg, Time: now.UTC()}, nil
}

// OpenCheckpoint checks the signature of a signed checkpoint with verifier and returns
// it. The origin line must be the verifier's name, as Steward signs it.
func OpenCheckpoint(msg []byte, verifier note.Verifier) (*Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return nil, fmt.Errorf("checkpoint signature: %w", err)
	}
	origin, size, root, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	if origin != verifier.Name() {
		return nil, fmt.Errorf("checkpoint origin %q is not the key's name %q", origin, verifier.Name())
	}
	return &Checkpoint{Size: size, Root: root, Note: msg}, nil
}

// ParseCheckpoint parses a checkpoint's note text. Extension lines after the root are
// allowed, as the format says, and ignored.
func ParseCheckpoint(text string) (origin string, size int64, root tlog.Hash, err error) {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) < 4 || !strings.HasSuffix(text, "\n") {
		return "", 0, root, errors.New("checkpoint: want origin, size and root hash lines")
	}
	origin = strings.TrimSuffix(lines[0], "\n")
	size, err = strconv.ParseInt(strings.TrimSuffix(lines[1], "\n"), 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != strings.TrimSuffix(lines[1], "\n") {
		return "", 0, root, fmt.Errorf("checkpoint: bad tree size %q", strings.TrimSuffix(lines[1], "\n"))
	}
	h, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(h) != tlog.HashSize {
		return "", 0, root, fmt.Errorf("checkpoint: bad root hash %q", strings.TrimSuffix(lines[2], "\n"))
	}
	copy(root[:], h)
	return origin, size, root, nil
}
