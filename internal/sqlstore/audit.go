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

const auditChunk = 500 // 7 columns × 500 rows: under both databases' parameter limits

func (s *Audit) Append(ctx context.Context, entries []*audit.Entry) (err error) {
	defer wrapErr(&err, "sqlstore.Audit.Append", "")
	args := make([]any, 0, min(len(entries), auditChunk)*7)
	for start := 0; start < len(entries); start += auditChunk {
		chunk := entries[start:min(start+auditChunk, len(entries))]
		args = args[:0]
		for _, e := range chunk {
			args = append(args, nanos(e.Time), e.Actor.Name, e.Actor.Role, e.Action, e.Subject, e.RequestID, e.Leaf())
		}
		q := "INSERT INTO audit_entries (time, actor_name, actor_role, action, subject, request_id, leaf) VALUES " + placeholders(len(chunk), 7)
		if _, err := s.db.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
