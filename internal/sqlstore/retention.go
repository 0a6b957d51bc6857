package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/stewardhq/steward/internal/retention"
)

// Retention implements retention.Store.
type Retention struct{ db *DB }

// Retention returns the store that deletes expired records.
func (db *DB) Retention() *Retention { return &Retention{db} }

var _ retention.Store = (*Retention)(nil)

// expireSQL deletes one batch of each kind, oldest first, through the index on its time
// (migration 0041). Row values in IN work on SQLite 3.15+ and PostgreSQL alike.
var expireSQL = map[string]string{
	retention.Idempotency: "DELETE FROM idempotency WHERE (principal, key) IN " +
		"(SELECT principal, key FROM idempotency WHERE created_at < ? ORDER BY created_at LIMIT ?)",
	retention.Deliveries: "DELETE FROM webhook_deliveries WHERE id IN " +
		"(SELECT id FROM webhook_deliveries WHERE at < ? ORDER BY at LIMIT ?)",
	retention.Notices: "DELETE FROM notices WHERE id IN " +
		"(SELECT id FROM notices WHERE created_at < ? ORDER BY created_at LIMIT ?)",
}

func (s *Retention) Expire(ctx context.Context, kind string, before time.Time, limit int) (_ int, err error) {
	defer wrapErr(&err, "sqlstore.Retention.Expire", kind)
	q, ok := expireSQL[kind]
	if !ok {
		return 0, fmt.Errorf("unknown record %q", kind)
	}
	res, err := s.db.exec(ctx, q, nanos(before), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *Retention) CheckpointStamps(ctx context.Context, after int64, limit int) (_ []retention.Stamp, err error) {
	defer wrapErr(&err, "sqlstore.Retention.CheckpointStamps", after)
	rows, err := s.db.query(ctx, "SELECT size, created_at FROM audit_checkpoints WHERE size > ? ORDER BY size LIMIT ?", after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]retention.Stamp, 0, min(limit, 1024))
	for rows.Next() {
		var st retention.Stamp
		var t int64
		if err := rows.Scan(&st.Size, &t); err != nil {
			return nil, err
		}
		st.Time = fromNanos(t)
		out = append(out, st)
	}
	return out, rows.Err()
}

// deleteChunk is how many checkpoints one DELETE names.
const deleteChunk = 500

func (s *Retention) DeleteCheckpoints(ctx context.Context, sizes []int64) (_ int, err error) {
	defer wrapErr(&err, "sqlstore.Retention.DeleteCheckpoints", len(sizes))
	total := 0
	for start := 0; start < len(sizes); start += deleteChunk {
		chunk := sizes[start:min(start+deleteChunk, len(sizes))]
		args := make([]any, len(chunk))
		for i, n := range chunk {
			args[i] = n
		}
		res, err := s.db.exec(ctx, "DELETE FROM audit_checkpoints WHERE size IN "+placeholders(1, len(chunk)), args...)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += int(n)
	}
	return total, nil
}
