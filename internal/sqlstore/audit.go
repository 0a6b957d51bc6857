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
	return s.db.insertRows(ctx, "audit_entries", []string{"time", "actor_name", "actor_role", "action", "subject", "request_id", "leaf", "tree_index"}, auditChunk, len(entries),
		func(dst []any, i int) ([]any, error) {
			e := entries[i]
			var index any
			if next >= 0 {
				index = next + int64(i)
			}
			return append(dst, nanos(e.Time), e.Actor.Name, e.Actor.Role, e.Action, e.Subject, e.RequestID, e.Leaf(), index), nil
		})
}
