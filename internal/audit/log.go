package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/txn"
)

// The log is a verifiable log in the style of Certificate Transparency and the Go
// checksum database: entries are the leaves of an RFC 6962 Merkle tree, a sequencer gives
// committed entries their place in it, and signed checkpoints commit to its size and root.
//
// The tree's hashes are stored as tiles (golang.org/x/mod/sumdb/tlog): a tile of height
// TileHeight holds up to 2^TileHeight consecutive hashes of one tree level, and every
// other hash is recomputed from a tile on demand. An inclusion proof reads a few tiles,
// however large the log; every tile read is checked against the signed root first.

// TileHeight is the height of the stored tiles: 16 hashes (512 bytes) per tile, so a
// proof hashes at most 15 nodes per tile and a 10-million-entry tree is 6 tiles deep.
const TileHeight = 4

// Row is a stored entry: its leaf bytes, which the tree commits to, and the columns
// copied from them for searching.
type Row struct {
	ID      int64 // storage order
	Index   int64 // place in the tree; -1 while not yet sequenced
	Columns Entry // Time, Actor, Action, Subject and RequestID as stored in their columns
	Leaf    []byte
}

// entry decodes r's leaf, the entry the tree commits to, and checks that r's columns,
// which searches use, say the same. Returns a *TamperError when they do not.
func (r Row) entry() (Entry, error) {
	var e Entry
	if err := json.Unmarshal(r.Leaf, &e); err != nil {
		return e, &TamperError{Index: r.Index, Reason: "the leaf is not an entry: " + err.Error()}
	}
	c := r.Columns
	// The columns hold the actor's name and role; a team is in the leaf only.
	if !c.Time.Equal(e.Time) || c.Actor.Name != e.Actor.Name || c.Actor.Role != e.Actor.Role || c.Action != e.Action || c.Subject != e.Subject || c.RequestID != e.RequestID {
		return e, &TamperError{Index: r.Index, Reason: "its columns (time, actor, action, subject, request ID) differ from its leaf"}
	}
	return e, nil
}

// Filter selects entries in the tree, a page at a time.
type Filter struct {
	Start   int64  // without Subject and Actor: entries from this tree index on, in index order
	Subject string // only entries about this subject, in storage order
	Actor   string // only entries by this actor (key name), in storage order
	AfterID int64  // with Subject or Actor: entries stored after this one
	Before  int64  // only entries with tree index below this (a checkpoint's size)
	Limit   int
}

// StoredTile is one stored tile of a level: up to 2^TileHeight hashes.
type StoredTile struct {
	N      int64
	Hashes []byte
}

// TreeStore keeps the tree: which entries are in it and where, the tiles of hashes, the
// checkpoints, and the log's verifier key. Methods that write must be called inside a
// write transaction (see package txn).
type TreeStore interface {
	// LockTree makes sequencers take turns, also across processes; call it first in
	// the sequencing transaction. The lock lasts until the transaction ends.
	LockTree(ctx context.Context) error
	// Pending returns up to limit entries not yet in the tree, in the order the tree
	// takes them: their ID and Leaf, and their Index where the store gives entries
	// their index as they are appended (see IndexesAtAppend), -1 otherwise.
	Pending(ctx context.Context, limit int) ([]Row, error)
	// CountPending returns how many entries are not yet in the tree.
	CountPending(ctx context.Context) (int64, error)
	// Sequence gives the entries ids[i] the tree indexes first+i. Returns errs.Conflict
	// if any of them has a tree index already.
	Sequence(ctx context.Context, ids []int64, first int64) error
	// ReadTiles returns the stored data of each tile: at least tiles[i].W hashes.
	ReadTiles(ctx context.Context, tiles []tlog.Tile) ([][]byte, error)
	// WriteTiles stores tiles, replacing narrower versions of them.
	WriteTiles(ctx context.Context, tiles []tlog.Tile, data [][]byte) error
	// ScanTiles returns up to limit stored tiles of level from number from on, in order.
	ScanTiles(ctx context.Context, level int, from int64, limit int) ([]StoredTile, error)
	// AddCheckpoint stores a checkpoint.
	AddCheckpoint(ctx context.Context, c *Checkpoint) error
	// LatestCheckpoint returns the checkpoint of the largest tree.
	// Returns errs.NotFound before the first checkpoint.
	LatestCheckpoint(ctx context.Context) (*Checkpoint, error)
	// Checkpoints returns up to limit checkpoints of trees larger than after, by size.
	Checkpoints(ctx context.Context, after int64, limit int) ([]*Checkpoint, error)
	// Entries returns the entries f selects.
	Entries(ctx context.Context, f Filter) ([]Row, error)
	// VerifierKey returns the verifier key the log is signed with.
	// Returns errs.NotFound before a sequencer has registered one.
	VerifierKey(ctx context.Context) (string, error)
	// SetVerifierKey registers the verifier key the log is signed with.
	SetVerifierKey(ctx context.Context, vkey string) error
}

// IndexesAtAppend is implemented by a TreeStore that may give entries their tree index as
// they are appended (SQLite, with one writer), when IndexesAtAppend says so. Its Pending
// entries then carry consecutive indexes from the tree's size, and Sequence only checks
// that they are still there. Verify takes entries with consecutive indexes right after
// the latest checkpoint for pending ones.
type IndexesAtAppend interface {
	IndexesAtAppend() bool
}

// Log serves the audit log: its checkpoints, entries and proofs.
type Log struct {
	store TreeStore
	tx    txn.Runner
}

// NewLog returns the log kept in store, written through tx.
func NewLog(store TreeStore, tx txn.Runner) *Log {
	return &Log{store: store, tx: tx}
}

// VerifierKey returns the note verifier key that checks the log's checkpoints.
// Returns errs.NotFound before the first `steward serve` registered its key.
func (l *Log) VerifierKey(ctx context.Context) (string, error) {
	return l.store.VerifierKey(ctx)
}

// Checkpoint returns the latest checkpoint. Returns errs.NotFound while the log is empty.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	return l.store.LatestCheckpoint(ctx)
}

// Item is an entry of the tree as served: its index, its exact leaf bytes and the entry
// they encode, and, for searches, the proof of its inclusion.
type Item struct {
	Index int64  `json:"index"`
	Leaf  []byte `json:"leaf"` // the exact leaf bytes (base64 in JSON)
	Entry
	Proof *InclusionProof `json:"proof,omitempty"`
}

// InclusionProof proves that the leaf at Index is in the tree of size Size: the audit
// path of RFC 6962, bottom up.
type InclusionProof struct {
	Index  int64    `json:"index"`
	Size   int64    `json:"size"`
	Hashes [][]byte `json:"hashes"` // base64 in JSON
}

// ConsistencyProof proves that the tree of size From is a prefix of the tree of size To.
type ConsistencyProof struct {
	From   int64    `json:"from"`
	To     int64    `json:"to"`
	Hashes [][]byte `json:"hashes"`
}

// Page is a page of entries, with the checkpoint they were read under.
type Page struct {
	Items      []Item
	Checkpoint *Checkpoint
	NextStart  int64 // without a search: where the next page starts; 0 when there is none
	NextAfter  int64 // in a search: the AfterID of the next page; 0 when there is none
}

// Entries returns a page of the entries f selects among those in the latest checkpoint.
// Entries found by Subject or Actor carry a proof of inclusion in that checkpoint.
// Returns errs.Invalid for a start beyond the checkpoint.
func (l *Log) Entries(ctx context.Context, f Filter) (*Page, error) {
	cp, err := l.store.LatestCheckpoint(ctx)
	if errs.CodeOf(err) == errs.NotFound {
		cp, err = &Checkpoint{}, nil
	}
	if err != nil {
		return nil, err
	}
	search := f.Subject != "" || f.Actor != ""
	if !search && f.Start > cp.Size {
		return nil, errs.Field("start", "%d is beyond the latest checkpoint's size %d", f.Start, cp.Size)
	}
	want := f.Limit
	f.Before, f.Limit = cp.Size, f.Limit+1 // one more tells whether there is a next page
	rows, err := l.store.Entries(ctx, f)
	if err != nil {
		return nil, err
	}
	page := &Page{Checkpoint: cp, Items: make([]Item, 0, min(len(rows), want))}
	if len(rows) > want {
		rows = rows[:want]
		if search {
			page.NextAfter = rows[want-1].ID
		} else {
			page.NextStart = rows[want-1].Index + 1
		}
	}
	var proofs tlog.HashReader
	if search {
		proofs = l.hashReader(ctx, cp)
	}
	for _, r := range rows {
		it := Item{Index: r.Index, Leaf: r.Leaf}
		// Searches select by columns the tree does not cover: an entry whose columns were
		// edited (to move it to another subject or actor, say) is refused, not served.
		if it.Entry, err = r.entry(); err != nil {
			var te *TamperError
			if errors.As(err, &te) {
				return nil, errs.E(errs.Conflict, "audit entry %d was altered in the database: %s; run steward audit verify", te.Index, te.Reason)
			}
			return nil, err
		}
		if search {
			p, err := tlog.ProveRecord(cp.Size, r.Index, proofs)
			if err != nil {
				return nil, fmt.Errorf("audit: prove entry %d: %w", r.Index, err)
			}
			it.Proof = &InclusionProof{Index: r.Index, Size: cp.Size, Hashes: hashBytes(p)}
		}
		page.Items = append(page.Items, it)
	}
	return page, nil
}

// ProveInclusion returns the proof that the entry at index is in the tree of size; size
// 0 means the latest checkpoint's. Returns errs.Invalid, naming "index" or "size", for
// an entry or a size beyond the latest checkpoint.
func (l *Log) ProveInclusion(ctx context.Context, index, size int64) (*InclusionProof, error) {
	cp, err := l.latestFor(ctx, "size")
	if err != nil {
		return nil, err
	}
	if size == 0 {
		size = cp.Size
	}
	if size < 1 || size > cp.Size {
		return nil, errs.Field("size", "must be from 1 to the latest checkpoint's size %d", cp.Size)
	}
	if index < 0 || index >= size {
		return nil, errs.Field("index", "must be from 0 to size-1 (%d)", size-1)
	}
	p, err := tlog.ProveRecord(size, index, l.hashReader(ctx, cp))
	if err != nil {
		return nil, fmt.Errorf("audit: prove entry %d in size %d: %w", index, size, err)
	}
	return &InclusionProof{Index: index, Size: size, Hashes: hashBytes(p)}, nil
}

// ProveConsistency returns the proof that the tree of size from is a prefix of the tree
// of size to; to 0 means the latest checkpoint's size. Returns errs.Invalid, naming
// "from" or "to", for sizes out of order or beyond the latest checkpoint.
func (l *Log) ProveConsistency(ctx context.Context, from, to int64) (*ConsistencyProof, error) {
	cp, err := l.latestFor(ctx, "to")
	if err != nil {
		return nil, err
	}
	if to == 0 {
		to = cp.Size
	}
	if to < 1 || to > cp.Size {
		return nil, errs.Field("to", "must be from 1 to the latest checkpoint's size %d", cp.Size)
	}
	if from < 1 || from > to {
		return nil, errs.Field("from", "must be from 1 to %d (to)", to)
	}
	p, err := tlog.ProveTree(to, from, l.hashReader(ctx, cp))
	if err != nil {
		return nil, fmt.Errorf("audit: prove size %d to %d: %w", from, to, err)
	}
	return &ConsistencyProof{From: from, To: to, Hashes: hashBytes(p)}, nil
}

// latestFor returns the latest checkpoint; while there is none, an Invalid error for
// field, since no size can be valid yet.
func (l *Log) latestFor(ctx context.Context, field string) (*Checkpoint, error) {
	cp, err := l.store.LatestCheckpoint(ctx)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, errs.Field(field, "the audit log has no checkpoint yet")
	}
	return cp, err
}

// hashReader reads the tree's hashes from the stored tiles, checking every tile against
// cp's root before using it: a tile altered in the database fails the proof instead of
// producing a false one.
func (l *Log) hashReader(ctx context.Context, cp *Checkpoint) tlog.HashReader {
	return tlog.TileHashReader(cp.Tree(), &tileReader{ctx: ctx, store: l.store, cache: map[tlog.Tile][]byte{}})
}

// tileReader adapts a TreeStore to tlog.TileReader, remembering the tiles it read, since
// a page of proofs reads the same tiles again and again.
type tileReader struct {
	ctx   context.Context
	store TreeStore
	cache map[tlog.Tile][]byte
}

func (r *tileReader) Height() int { return TileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	var missing []tlog.Tile
	for i, t := range tiles {
		if d, ok := r.cache[t]; ok {
			out[i] = d
		} else {
			missing = append(missing, t)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	data, err := r.store.ReadTiles(r.ctx, missing)
	if err != nil {
		return nil, err
	}
	for i, t := range missing {
		if len(data[i]) < t.W*tlog.HashSize {
			return nil, fmt.Errorf("audit: tile %v holds %d hashes, want %d", t.Path(), len(data[i])/tlog.HashSize, t.W)
		}
		r.cache[t] = data[i][:t.W*tlog.HashSize] // a wider tile starts with the narrower one
	}
	for i, t := range tiles {
		out[i] = r.cache[t]
	}
	return out, nil
}

func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

func hashBytes(hs []tlog.Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

// since returns how long ago t was, for log lines.
func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
