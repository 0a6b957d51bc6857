package audit

import (
	"context"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// growth is what appending leaves to a tree changes: the tiles to write and the new root.
type growth struct {
	Size  int64
	Root  tlog.Hash
	Tiles []tlog.Tile
	Data  [][]byte
}

// grow appends the leaves with hashes leafHashes to the stored tree old and returns the
// tiles to store and the new tree. It reads from store only the old tree's right edge:
// the roots of its complete subtrees and its partial tiles, checked against old's root.
func grow(ctx context.Context, store TreeStore, old tlog.Tree, leafHashes []tlog.Hash) (*growth, error) {
	known, err := rightEdge(ctx, store, old)
	if err != nil {
		return nil, err
	}
	// The stored hashes of records old.N… are numbered from StoredHashCount(old.N) on,
	// contiguously, in the order tlog.StoredHashes returns them.
	base := tlog.StoredHashCount(old.N)
	added := make([]tlog.Hash, 0, 2*len(leafHashes)+bits.Len64(uint64(len(leafHashes))))
	r := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x >= base && x-base < int64(len(added)) {
				out[i] = added[x-base]
				continue
			}
			h, ok := known[x]
			if !ok {
				return nil, fmt.Errorf("audit: hash %d is neither on the tree's edge nor new", x)
			}
			out[i] = h
		}
		return out, nil
	})
	for i, h := range leafHashes {
		hs, err := tlog.StoredHashesForRecordHash(old.N+int64(i), h, r)
		if err != nil {
			return nil, fmt.Errorf("audit: hashes of entry %d: %w", old.N+int64(i), err)
		}
		added = append(added, hs...)
	}
	g := &growth{Size: old.N + int64(len(leafHashes))}
	g.Tiles = tlog.NewTiles(TileHeight, old.N, g.Size)
	g.Data = make([][]byte, len(g.Tiles))
	for i, t := range g.Tiles {
		if g.Data[i], err = tlog.ReadTileData(t, r); err != nil {
			return nil, fmt.Errorf("audit: tile %v: %w", t.Path(), err)
		}
	}
	if g.Root, err = tlog.TreeHash(g.Size, r); err != nil {
		return nil, fmt.Errorf("audit: root of size %d: %w", g.Size, err)
	}
	return g, nil
}

// rightEdge reads the stored hashes of tree t that appending to it needs: the roots of
// the complete subtrees it is made of, which the new leaves' parents hash with, and the
// hashes in its partial tiles, which the new tiles extend. The tiles they come from are
// checked against t's root.
func rightEdge(ctx context.Context, store TreeStore, t tlog.Tree) (map[int64]tlog.Hash, error) {
	if t.N == 0 {
		return nil, nil
	}
	var need []int64
	for lo := int64(0); lo < t.N; { // the complete subtrees, largest first
		level := bits.Len64(uint64(t.N-lo)) - 1
		need = append(need, tlog.StoredHashIndex(level, lo>>level))
		lo += 1 << level
	}
	for level := 0; t.N>>(level*TileHeight) > 0; level++ { // the partial tile of each level
		end := t.N >> (level * TileHeight)
		for n := end &^ (1<<TileHeight - 1); n < end; n++ {
			need = append(need, tlog.StoredHashIndex(level*TileHeight, n))
		}
	}
	r := tlog.TileHashReader(t, &tileReader{ctx: ctx, store: store, cache: map[tlog.Tile][]byte{}})
	hashes, err := r.ReadHashes(need)
	if err != nil {
		return nil, fmt.Errorf("audit: the stored tree of size %d does not match its checkpoint: %w", t.N, err)
	}
	known := make(map[int64]tlog.Hash, len(need))
	for i, x := range need {
		known[x] = hashes[i]
	}
	return known, nil
}
