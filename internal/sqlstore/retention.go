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
