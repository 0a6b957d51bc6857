package sqlstore

import (
	"context"
	"database/sql"

	"github.com/stewardhq/steward/internal/app"
)

var _ app.SignalStore = (*DB)(nil)

// Signals implements app.SignalStore: a few counts, each through an index, cheap enough
// for every scrape of /metrics.
func (db *DB) Signals(ctx context.Context) (_ *app.Signals, err error) {
	defer wrapErr(&err, "sqlstore.DB.Signals", "")
	sg := &app.Signals{BulkStates: map[string]int{}}
	var oldest sql.NullInt64
	if err := db.queryRow(ctx, "SELECT count(*), min(time) FROM audit_entries WHERE "+db.Audit().pendingWhere()).Scan(&sg.AuditPending, &oldest); err != nil {
		return nil, err
	}
	if oldest.Valid {
		sg.AuditOldest = fromNanos(oldest.Int64)
	}
	// The outbox's sequence numbers are consecutive (outbox_seq), so a webhook's lag is
	// the last number less its cursor, whatever the sweeper deleted.
	var last int64
	if err := db.queryRow(ctx, "SELECT n FROM outbox_seq").Scan(&last); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, "SELECT name, cursor FROM webhooks ORDER BY name")
	if err != nil {
		return nil, err
	}
	cursors := map[string]int64{}
	for rows.Next() {
		var o app.OutboxLag
		var cursor int64
		if err := rows.Scan(&o.Webhook, &cursor); err != nil {
			rows.Close()
			return nil, err
		}
		o.Events = max(last-cursor, 0)
		cursors[o.Webhook] = cursor
		sg.Outbox = append(sg.Outbox, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range sg.Outbox {
		o := &sg.Outbox[i]
		if o.Events == 0 {
			continue
		}
		var t int64
		err := db.queryRow(ctx, "SELECT time FROM outbox WHERE seq > ? ORDER BY seq LIMIT 1", cursors[o.Webhook]).Scan(&t)
		if err == nil {
			o.Oldest = fromNanos(t)
		} else if err != sql.ErrNoRows {
			return nil, err
		}
	}
	if err := db.scanCounts(ctx, "SELECT state, count(*) FROM bulk_actions GROUP BY state", sg.BulkStates); err != nil {
		return nil, err
	}
	if err := db.queryRow(ctx, "SELECT count(*) FROM appeals WHERE breached = 1").Scan(&sg.AppealBreaches); err != nil {
		return nil, err
	}
	return sg, nil
}

// scanCounts reads rows of (key, count) into into.
func (db *DB) scanCounts(ctx context.Context, q string, into map[string]int) error {
	rows, err := db.query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		into[k] = n
	}
	return rows.Err()
}
