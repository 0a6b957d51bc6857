package sqlstore

import (
	"context"

	"github.com/stewardhq/steward/internal/audit"
)

// Audit implements audit.Store.
type Audit struct{ db *DB }

// Audit returns the audit log store.
func (db *DB) Audit() *Audit { return &Audit{db} }

var _ audit.Store = (*Audit)(nil)

const auditChunk = 500 // 8 columns × 500 rows: under both databases' parameter limits

// Append stores entries. Where the dialect gives entries their tree index as they are
// appended (SQLite), they take the indexes after the largest stored one, in order, so
// the sequencer needs no UPDATE of each row.
func (s *Audit) Append(ctx context.Context, entries []*audit.Entry) (err error) {
	defer wrapErr(&err, "sqlstore.Audit.Append", "")
	next := int64(-1) // no index: the sequencer places the entries
	if s.db.d.indexAtAppend && len(entries) > 0 {
		if err := s.db.queryRow(ctx, "SELECT coalesce(max(tree_index) + 1, 0) FROM audit_entries").Scan(&next); err != nil {
			return err
		}
	}
	args := make([]any, 0, min(len(entries), auditChunk)*8)
	for start := 0; start < len(entries); start += auditChunk {
		chunk := entries[start:min(start+auditChunk, len(entries))]
		args = args[:0]
		for i, e := range chunk {
			var index any
			if next >= 0 {
				index = next + int64(start+i)
			}
			args = append(args, nanos(e.Time), e.Actor.Name, e.Actor.Role, e.Action, e.Subject, e.RequestID, e.Leaf(), index)
		}
		q := "INSERT INTO audit_entries (time, actor_name, actor_role, action, subject, request_id, leaf, tree_index) VALUES " + placeholders(len(chunk), 8)
		if _, err := s.db.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
