package audit

import (
	"bytes"
	"context"
	"fmt"
	"math"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// TamperError is the first sign that the stored log was changed behind Steward's back.
type TamperError struct {
	Index  int64 // the first tree index found bad
	Reason string
}

func (e *TamperError) Error() string { return fmt.Sprintf("entry %d: %s", e.Index, e.Reason) }

// Report summarises a verified log.
type Report struct {
	Entries     int64       // entries in the tree
	Pending     int64       // committed entries not yet in the tree
	Checkpoints int64       // signed checkpoints, each checked
	Latest      *Checkpoint // nil for an empty log
	Tiles       int64       // stored tiles, each checked
}

// verifyPage is how many entries, tiles or checkpoints Verify reads at a time.
const verifyPage = 10_000

// Verify recomputes the whole log from its stored entries, independently of the code that
// built it (with transparency-dev/merkle): every leaf hash, every stored tile and the root
// of every checkpoint, and checks every checkpoint's signature with verifier. Since every
// root is recomputed from the same entries, each checkpoint is proven to extend the one
// before it. It returns a *TamperError naming the first bad index if an entry was altered,
// deleted, reordered or inserted, or a tile or checkpoint altered. progress, if not nil,
// is called with the number of entries checked so far.
func Verify(ctx context.Context, store TreeStore, verifier note.Verifier, progress func(int64)) (*Report, error) {
	v := &check{ctx: ctx, store: store, note: verifier, rep: &Report{}, tiles: map[int]*tileCursor{},
		rng: (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)}
	if err := v.nextCheckpoint(); err != nil {
		return nil, err
	}
	// Where entries get their tree index as they are appended, those right after the
	// latest checkpoint are pending, not inserted: the next checkpoint will cover them.
	ia, ok := store.(IndexesAtAppend)
	indexed := ok && ia.IndexesAtAppend()
	var i int64
	for {
		rows, err := store.Entries(ctx, Filter{Start: i, Before: math.MaxInt64, Limit: verifyPage})
		if err != nil {
			return nil, err
		}
		past := false // at an entry past the latest checkpoint that is pending
		for _, r := range rows {
			if past = indexed && len(v.cps) == 0 && r.Index == i; past {
				break
			}
			if err := v.entry(i, r); err != nil {
				return nil, err
			}
			i++
		}
		if progress != nil && len(rows) > 0 {
			progress(i)
		}
		if past || len(rows) < verifyPage {
			break
		}
	}
	if err := v.end(i); err != nil {
		return nil, err
	}
	pending, err := store.CountPending(ctx)
	if err != nil {
		return nil, err
	}
	v.rep.Entries, v.rep.Pending = i, pending
	return v.rep, nil
}

// check is the state of one Verify run.
type check struct {
	ctx   context.Context
	store TreeStore
	note  note.Verifier
	rep   *Report
	rng   *compact.Range
	tiles map[int]*tileCursor // by tile level
	bad   *TamperError        // set by the range visitor, which cannot return errors

	cps    []*Checkpoint // the next checkpoints to reach, by size
	cpDone bool          // every checkpoint is in cps or behind us
	prev   int64         // the size of the last checkpoint reached
}

// nextCheckpoint makes cps[0] the next checkpoint to reach, if there is one, checking its
// signature and that it says what its row says.
func (v *check) nextCheckpoint() error {
	if len(v.cps) > 0 {
		v.cps = v.cps[1:]
	}
	if len(v.cps) == 0 && !v.cpDone {
		cps, err := v.store.Checkpoints(v.ctx, v.prev, verifyPage)
		if err != nil {
			return err
		}
		v.cps, v.cpDone = cps, len(cps) < verifyPage
	}
	if len(v.cps) == 0 {
		return nil
	}
	c := v.cps[0]
	signed, err := OpenCheckpoint(c.Note, v.note)
	if err != nil {
		return &TamperError{Index: v.prev, Reason: fmt.Sprintf("checkpoint of size %d: %v", c.Size, err)}
	}
	if signed.Size != c.Size || signed.Root != c.Root {
		return &TamperError{Index: v.prev, Reason: fmt.Sprintf("checkpoint of size %d: its row does not match its signed note", c.Size)}
	}
	v.rep.Checkpoints++
	v.rep.Latest = c
	return nil
}

// entry checks the stored entry r, expected at index i, and adds it to the tree.
func (v *check) entry(i int64, r Row) error {
	if r.Index != i {
		return &TamperError{Index: i, Reason: fmt.Sprintf("missing (the next stored entry has index %d)", r.Index)}
	}
	if len(v.cps) == 0 {
		return &TamperError{Index: i, Reason: fmt.Sprintf("beyond the latest checkpoint (size %d)", v.prev)}
	}
	e, err := r.entry()
	if err != nil {
		return err
	}
	if !bytes.Equal(e.Leaf(), r.Leaf) {
		return &TamperError{Index: i, Reason: "the leaf is not in canonical form"}
	}
	if err := v.rng.Append(rfc6962.DefaultHasher.HashLeaf(r.Leaf), v.visit); err != nil {
		return err
	}
	if v.bad != nil {
		return v.bad
	}
	if size := i + 1; size == v.cps[0].Size {
		root, err := v.rng.GetRootHash(nil)
		if err != nil {
			return err
		}
		if !bytes.Equal(root, v.cps[0].Root[:]) {
			return &TamperError{Index: v.prev, Reason: fmt.Sprintf("the entries from here to %d do not hash to the signed checkpoint of size %d", i, size)}
		}
		v.prev = size
		return v.nextCheckpoint()
	}
	return nil
}

// visit compares a node of the recomputed tree with the stored tiles: a tile at tile
// level L holds the nodes of tree level L*TileHeight.
func (v *check) visit(id compact.NodeID, hash []byte) {
	if v.bad != nil || id.Level%TileHeight != 0 {
		return
	}
	level, n := int(id.Level/TileHeight), int64(id.Index>>TileHeight)
	pos := int(id.Index & (1<<TileHeight - 1))
	first := int64(id.Index << id.Level) // the first entry under the node
	cur := v.tiles[level]
	if cur == nil {
		cur = &tileCursor{level: level}
		v.tiles[level] = cur
	}
	t, err := cur.get(v.ctx, v.store, n)
	switch {
	case err != nil:
		v.bad = &TamperError{Index: first, Reason: err.Error()}
	case len(t.Hashes) < (pos+1)*32:
		v.bad = &TamperError{Index: first, Reason: fmt.Sprintf("the stored tree is missing hash %d of tile %d/%d", pos, level, n)}
	case !bytes.Equal(t.Hashes[pos*32:(pos+1)*32], hash):
		if level == 0 {
			v.bad = &TamperError{Index: first, Reason: "its leaf hash differs from the one in the tree: the entry was altered, or its place changed"}
		} else {
			v.bad = &TamperError{Index: first, Reason: fmt.Sprintf("the stored tree hash of entries %d to %d (tile %d/%d) was altered", first, first+1<<id.Level-1, level, n)}
		}
	}
}

// end checks, after the last stored entry, that the tree reached the latest checkpoint
// and that no tile holds more than the tree.
func (v *check) end(size int64) error {
	if len(v.cps) > 0 {
		return &TamperError{Index: size, Reason: fmt.Sprintf("missing: the checkpoint of size %d has more entries", v.cps[0].Size)}
	}
	if v.bad != nil {
		return v.bad
	}
	for level := 0; ; level++ {
		width := size >> (level * TileHeight) // hashes of the tile level's tree level
		from := int64(0)
		if width > 0 {
			last := (width - 1) >> TileHeight
			want := int(width-last<<TileHeight) * 32
			t, err := v.tileOrNil(level, last)
			if err != nil {
				return err
			}
			if t == nil || len(t.Hashes) != want {
				return &TamperError{Index: size, Reason: fmt.Sprintf("the last tile %d/%d of the stored tree does not end with the tree", level, last)}
			}
			from = last + 1
		}
		extra, err := v.store.ScanTiles(v.ctx, level, from, 1)
		if err != nil {
			return err
		}
		if len(extra) > 0 {
			return &TamperError{Index: size, Reason: fmt.Sprintf("tile %d/%d is beyond the tree", level, extra[0].N)}
		}
		if width == 0 {
			break
		}
	}
	for _, c := range v.tiles {
		v.rep.Tiles += c.seen
	}
	return nil
}

func (v *check) tileOrNil(level int, n int64) (*StoredTile, error) {
	ts, err := v.store.ScanTiles(v.ctx, level, n, 1)
	if err != nil || len(ts) == 0 || ts[0].N != n {
		return nil, err
	}
	return &ts[0], nil
}

// tileCursor reads the stored tiles of one level in order, a page at a time.
type tileCursor struct {
	level int
	page  []StoredTile
	seen  int64
}

// get returns tile n, which must be the current tile or the next one.
func (c *tileCursor) get(ctx context.Context, store TreeStore, n int64) (*StoredTile, error) {
	if len(c.page) > 0 && c.page[0].N == n {
		return &c.page[0], nil
	}
	if len(c.page) > 0 {
		c.page = c.page[1:]
	}
	if len(c.page) == 0 {
		page, err := store.ScanTiles(ctx, c.level, n, verifyPage)
		if err != nil {
			return nil, err
		}
		c.page = page
	}
	if len(c.page) == 0 || c.page[0].N != n {
		return nil, fmt.Errorf("tile %d/%d of the stored tree is missing", c.level, n)
	}
	c.seen++
	return &c.page[0], nil
}
