package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
)

var _ audit.TreeStore = (*Audit)(nil)

// auditTreeLock is the key of the lock that makes sequencers take turns.
const auditTreeLock = 7302743

func (s *Audit) LockTree(ctx context.Context) (err error) {
	defer wrapErr(&err, "sqlstore.Audit.LockTree", "")
	if s.db.d.lockSQL == "" {
		return nil // one writer (SQLite), and the sequencer writes through it
	}
	_, err = s.db.exec(ctx, s.db.d.lockSQL, auditTreeLock)
	return err
}

const rowCols = "id, tree_index, time, actor_name, actor_role, action, subject, request_id, leaf"

func scanRow(scan func(...any) error) (audit.Row, error) {
	var r audit.Row
	var index sql.NullInt64
	var t int64
	c := &r.Columns
	if err := scan(&r.ID, &index, &t, &c.Actor.Name, &c.Actor.Role, &c.Action, &c.Subject, &c.RequestID, &r.Leaf); err != nil {
		return r, err
	}
	r.Index, c.Time = -1, fromNanos(t)
	if index.Valid {
		r.Index = index.Int64
	}
	return r, nil
}

func (s *Audit) queryRows(ctx context.Context, q string, args ...any) ([]audit.Row, error) {
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Row
	for rows.Next() {
		r, err := scanRow(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// IndexesAtAppend implements audit.IndexesAtAppend: true on SQLite (see Append).
func (s *Audit) IndexesAtAppend() bool { return s.db.d.indexAtAppend }

// pendingWhere selects the entries not yet in the tree: those without a tree index, or,
// where entries get their index as they are appended (SQLite), those at or past the
// latest checkpoint's size.
func (s *Audit) pendingWhere() string {
	if s.db.d.indexAtAppend {
		return "tree_index >= (SELECT coalesce(max(size), 0) FROM audit_checkpoints)"
	}
	return "tree_index IS NULL"
}

func (s *Audit) Pending(ctx context.Context, limit int) (_ []audit.Row, err error) {
	defer wrapErr(&err, "sqlstore.Audit.Pending", "")
	if s.db.d.indexAtAppend {
		return s.pendingIndexed(ctx, limit)
	}
	rows, err := s.db.query(ctx, "SELECT id, leaf FROM audit_entries WHERE tree_index IS NULL ORDER BY id LIMIT ?", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]audit.Row, 0, min(limit, 1024))
	for rows.Next() {
		r := audit.Row{Index: -1}
		if err := rows.Scan(&r.ID, &r.Leaf); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// pendingIndexed returns the entries from the latest checkpoint's size on, in tree index
// order, which already carry their index (see Append). It stops before a gap, so the
// rows' indexes are consecutive; a gap right at the tree's size is an error, since no
// entry could fill it.
func (s *Audit) pendingIndexed(ctx context.Context, limit int) ([]audit.Row, error) {
	var size int64
	if err := s.db.queryRow(ctx, "SELECT coalesce(max(size), 0) FROM audit_checkpoints").Scan(&size); err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, "SELECT id, tree_index, leaf FROM audit_entries WHERE tree_index >= ? ORDER BY tree_index LIMIT ?", size, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]audit.Row, 0, min(limit, 1024))
	for rows.Next() {
		var r audit.Row
		if err := rows.Scan(&r.ID, &r.Index, &r.Leaf); err != nil {
			return nil, err
		}
		if r.Index != size+int64(len(out)) {
			if len(out) == 0 {
				return nil, fmt.Errorf("sqlstore: no audit entry has tree index %d, the tree's size, but entry %d has %d; run steward audit verify", size, r.ID, r.Index)
			}
			break
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *Audit) CountPending(ctx context.Context) (_ int64, err error) {
	defer wrapErr(&err, "sqlstore.Audit.CountPending", "")
	var n int64
	err = s.db.queryRow(ctx, "SELECT count(*) FROM audit_entries WHERE "+s.pendingWhere()).Scan(&n)
	return n, err
}

func (s *Audit) Sequence(ctx context.Context, ids []int64, first int64) (err error) {
	defer wrapErr(&err, "sqlstore.Audit.Sequence", first)
	if s.db.d.indexAtAppend {
		return s.checkIndexed(ctx, ids, first)
	}
	return s.place(ctx, ids, first)
}

// checkIndexed checks that the entries ids, read by pendingIndexed with consecutive
// indexes, start at first and end at first+len(ids)-1: that the tree grew from where
// they were read. Returns errs.Conflict when another sequencer integrated them first.
func (s *Audit) checkIndexed(ctx context.Context, ids []int64, first int64) error {
	if len(ids) == 0 {
		return nil
	}
	var lo, hi sql.NullInt64
	err := s.db.queryRow(ctx, "SELECT (SELECT tree_index FROM audit_entries WHERE id = ?), (SELECT tree_index FROM audit_entries WHERE id = ?)",
		ids[0], ids[len(ids)-1]).Scan(&lo, &hi)
	if err != nil {
		return err
	}
	if lo.Int64 != first || hi.Int64 != first+int64(len(ids))-1 || !lo.Valid || !hi.Valid {
		return errs.E(errs.Conflict, "the audit entries %d to %d are not at tree indexes %d on: another sequencer integrated them", ids[0], ids[len(ids)-1], first)
	}
	return nil
}

// place gives the entries ids the tree indexes first+i. Ids are mostly consecutive, so
// each run of consecutive ids is placed by one UPDATE. No other entry can have an id
// inside a run, so none can slip in, even one committed since the ids were read.
func (s *Audit) place(ctx context.Context, ids []int64, first int64) error {
	for start := 0; start < len(ids); {
		end := start + 1
		for end < len(ids) && ids[end] == ids[end-1]+1 {
			end++
		}
		res, err := s.db.exec(ctx, "UPDATE audit_entries SET tree_index = id + ? WHERE id >= ? AND id <= ? AND tree_index IS NULL",
			first+int64(start)-ids[start], ids[start], ids[end-1])
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != int64(end-start) {
			return errs.E(errs.Conflict, "%d of the audit entries %d to %d are in the tree already", int64(end-start)-n, ids[start], ids[end-1])
		}
		start = end
	}
	return nil
}

// indexLegacy gives the entries a database holds without a tree index, appended before
// entries got theirs at append (SQLite), the indexes after the largest one, in id order,
// so the sequencer finds them past the tree's size. It runs as the database opens.
func (s *Audit) indexLegacy(ctx context.Context) (err error) {
	defer wrapErr(&err, "sqlstore.Audit.indexLegacy", "")
	return s.db.Write(ctx, func(ctx context.Context) error {
		rows, err := s.db.query(ctx, "SELECT id FROM audit_entries WHERE tree_index IS NULL ORDER BY id")
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		var next int64
		if err := s.db.queryRow(ctx, "SELECT coalesce(max(tree_index) + 1, 0) FROM audit_entries").Scan(&next); err != nil {
			return err
		}
		return s.place(ctx, ids, next)
	})
}

func (s *Audit) ReadTiles(ctx context.Context, tiles []tlog.Tile) (_ [][]byte, err error) {
	defer wrapErr(&err, "sqlstore.Audit.ReadTiles", "")
	type key struct {
		level int
		n     int64
	}
	args := make([]any, 0, 2*len(tiles))
	for _, t := range tiles {
		args = append(args, t.L, t.N)
	}
	q := "SELECT level, n, hashes FROM audit_tiles WHERE " + strings.Repeat("(level = ? AND n = ?) OR ", len(tiles)-1) + "(level = ? AND n = ?)"
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[key][]byte, len(tiles))
	for rows.Next() {
		var k key
		var data []byte
		if err := rows.Scan(&k.level, &k.n, &data); err != nil {
			return nil, err
		}
		found[k] = data
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		d, ok := found[key{t.L, t.N}]
		if !ok {
			return nil, fmt.Errorf("sqlstore: audit tile %d/%d is missing", t.L, t.N)
		}
		out[i] = d
	}
	return out, nil
}

// tileChunk is how many tiles one INSERT writes: 3 parameters each.
const tileChunk = 500

func (s *Audit) WriteTiles(ctx context.Context, tiles []tlog.Tile, data [][]byte) (err error) {
	defer wrapErr(&err, "sqlstore.Audit.WriteTiles", "")
	args := make([]any, 0, 3*min(len(tiles), tileChunk))
	for start := 0; start < len(tiles); start += tileChunk {
		end := min(start+tileChunk, len(tiles))
		args = args[:0]
		for i := start; i < end; i++ {
			args = append(args, tiles[i].L, tiles[i].N, data[i])
		}
		q := "INSERT INTO audit_tiles (level, n, hashes) VALUES " + placeholders(end-start, 3) +
			" ON CONFLICT (level, n) DO UPDATE SET hashes = excluded.hashes"
		if _, err := s.db.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Audit) ScanTiles(ctx context.Context, level int, from int64, limit int) (_ []audit.StoredTile, err error) {
	defer wrapErr(&err, "sqlstore.Audit.ScanTiles", "")
	rows, err := s.db.query(ctx, "SELECT n, hashes FROM audit_tiles WHERE level = ? AND n >= ? ORDER BY n LIMIT ?", level, from, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.StoredTile
	for rows.Next() {
		var t audit.StoredTile
		if err := rows.Scan(&t.N, &t.Hashes); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Audit) AddCheckpoint(ctx context.Context, c *audit.Checkpoint) (err error) {
	defer wrapErr(&err, "sqlstore.Audit.AddCheckpoint", c.Size)
	_, err = s.db.exec(ctx, "INSERT INTO audit_checkpoints (size, root, note, created_at) VALUES (?, ?, ?, ?)",
		c.Size, c.Root[:], c.Note, nanos(c.Time))
	return err
}

const checkpointCols = "size, root, note, created_at"

func scanCheckpoint(scan func(...any) error) (*audit.Checkpoint, error) {
	var c audit.Checkpoint
	var root []byte
	var t int64
	if err := scan(&c.Size, &root, &c.Note, &t); err != nil {
		return nil, err
	}
	if len(root) != tlog.HashSize {
		return nil, fmt.Errorf("sqlstore: checkpoint %d: root of %d bytes", c.Size, len(root))
	}
	copy(c.Root[:], root)
	c.Time = fromNanos(t)
	return &c, nil
}

func (s *Audit) LatestCheckpoint(ctx context.Context) (_ *audit.Checkpoint, err error) {
	defer wrapErr(&err, "sqlstore.Audit.LatestCheckpoint", "")
	row := s.db.queryRow(ctx, "SELECT "+checkpointCols+" FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
	c, err := scanCheckpoint(row.Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "the audit log has no checkpoint yet")
	}
	return c, err
}

func (s *Audit) Checkpoints(ctx context.Context, after int64, limit int) (_ []*audit.Checkpoint, err error) {
	defer wrapErr(&err, "sqlstore.Audit.Checkpoints", after)
	rows, err := s.db.query(ctx, "SELECT "+checkpointCols+" FROM audit_checkpoints WHERE size > ? ORDER BY size LIMIT ?", after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*audit.Checkpoint
	for rows.Next() {
		c, err := scanCheckpoint(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Audit) Entries(ctx context.Context, f audit.Filter) (_ []audit.Row, err error) {
	defer wrapErr(&err, "sqlstore.Audit.Entries", f.Subject)
	if f.Subject == "" && f.Actor == "" {
		return s.queryRows(ctx, "SELECT "+rowCols+" FROM audit_entries WHERE tree_index >= ? AND tree_index < ? ORDER BY tree_index LIMIT ?",
			f.Start, f.Before, f.Limit)
	}
	q := "SELECT " + rowCols + " FROM audit_entries WHERE id > ? AND tree_index < ?"
	args := []any{f.AfterID, f.Before}
	if f.Subject != "" {
		q += " AND subject = ?"
		args = append(args, f.Subject)
	}
	if f.Actor != "" {
		q += " AND actor_name = ?"
		args = append(args, f.Actor)
	}
	return s.queryRows(ctx, q+" ORDER BY id LIMIT ?", append(args, f.Limit)...)
}

func (s *Audit) VerifierKey(ctx context.Context) (_ string, err error) {
	defer wrapErr(&err, "sqlstore.Audit.VerifierKey", "")
	var vkey string
	err = s.db.queryRow(ctx, "SELECT verifier_key FROM audit_log WHERE id = 1").Scan(&vkey)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.E(errs.NotFound, "the audit log has no signing key yet: start steward serve once")
	}
	return vkey, err
}

func (s *Audit) SetVerifierKey(ctx context.Context, vkey string) (err error) {
	defer wrapErr(&err, "sqlstore.Audit.SetVerifierKey", "")
	_, err = s.db.exec(ctx, "INSERT INTO audit_log (id, verifier_key) VALUES (1, ?)", vkey)
	return err
}
