package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
)

// Webhooks implements notify.WebhookStore.
type Webhooks struct{ db *DB }

// Webhooks returns the webhook, outbox and delivery store.
func (db *DB) Webhooks() *Webhooks { return &Webhooks{db} }

var _ notify.WebhookStore = (*Webhooks)(nil)

func (s *Webhooks) Enqueue(ctx context.Context, events ...*notify.Event) (err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Enqueue", "")
	if len(events) == 0 {
		return nil
	}
	if _, err := s.db.writer(ctx); err != nil {
		return err
	}
	// Taking the numbers locks the sequence row until commit: see the migration.
	var last int64
	if err := s.db.queryRow(ctx, "UPDATE outbox_seq SET n = n + ? RETURNING n", len(events)).Scan(&last); err != nil {
		return err
	}
	first := last - int64(len(events)) + 1
	for i, e := range events {
		e.Seq = first + int64(i)
	}
	return s.db.insertRows(ctx, "outbox", []string{"seq", "id", "type", "account", "time", "data"}, outboxChunk, len(events), func(dst []any, i int) ([]any, error) {
		e := events[i]
		return append(dst, e.Seq, e.ID, e.Type, e.Account, nanos(e.Time), string(e.Data)), nil
	})
}

// outboxChunk is how many events one INSERT writes: 6 columns × 2,000 rows stays under
// both databases' limits on bound parameters.
const outboxChunk = 2000

func (s *Webhooks) Subscribed(ctx context.Context) (_ map[string]bool, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Subscribed", "")
	if _, err := s.db.writer(ctx); err == nil {
		// Hold the sequence row as Enqueue and PutWebhook do: a webhook created or
		// changed concurrently is either seen here or starts after this transaction.
		if _, err := s.db.exec(ctx, "UPDATE outbox_seq SET n = n"); err != nil {
			return nil, err
		}
	}
	rows, err := s.db.query(ctx, "SELECT events FROM webhooks")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var events string
		if err := rows.Scan(&events); err != nil {
			return nil, err
		}
		for _, e := range strings.Split(events, ",") {
			out[e] = true
		}
	}
	return out, rows.Err()
}

func (s *Webhooks) PutWebhook(ctx context.Context, w *notify.Webhook) (_ bool, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.PutWebhook", w.Name)
	// A new webhook starts at the end of the outbox: it receives events from now on. The
	// sequence row stays locked until commit, so a transaction deciding what to enqueue
	// (Subscribed) runs wholly before or after this one.
	var end int64
	if err := s.db.queryRow(ctx, "UPDATE outbox_seq SET n = n RETURNING n").Scan(&end); err != nil {
		return false, err
	}
	res, err := s.db.exec(ctx, `INSERT INTO webhooks (name, url, secret, events, created_at, updated_at, cursor, lease_owner, lease_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, '', 0) ON CONFLICT (name) DO NOTHING`,
		w.Name, w.URL, w.Secret, strings.Join(w.Events, ","), nanos(w.CreatedAt), nanos(w.UpdatedAt), end)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	_, err = s.db.exec(ctx, "UPDATE webhooks SET url = ?, secret = ?, events = ?, updated_at = ? WHERE name = ?",
		w.URL, w.Secret, strings.Join(w.Events, ","), nanos(w.UpdatedAt), w.Name)
	return false, err
}

const webhookCols = "name, url, secret, events, created_at, updated_at"

func scanWebhook(scan func(...any) error) (*notify.Webhook, error) {
	var w notify.Webhook
	var events string
	var created, updated int64
	if err := scan(&w.Name, &w.URL, &w.Secret, &events, &created, &updated); err != nil {
		return nil, err
	}
	w.Events = strings.Split(events, ",")
	w.CreatedAt, w.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &w, nil
}

func (s *Webhooks) GetWebhook(ctx context.Context, name string) (_ *notify.Webhook, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.GetWebhook", name)
	w, err := scanWebhook(s.db.queryRow(ctx, "SELECT "+webhookCols+" FROM webhooks WHERE name = ?", name).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "webhook %q not found", name)
	}
	return w, err
}

func (s *Webhooks) Webhooks(ctx context.Context) (_ []*notify.Webhook, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Webhooks", "")
	rows, err := s.db.query(ctx, "SELECT "+webhookCols+" FROM webhooks ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*notify.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (s *Webhooks) DeleteWebhook(ctx context.Context, name string) (_ *notify.Webhook, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.DeleteWebhook", name)
	w, err := scanWebhook(s.db.queryRow(ctx, "DELETE FROM webhooks WHERE name = ? RETURNING "+webhookCols, name).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "webhook %q not found", name)
	}
	if err != nil {
		return nil, err
	}
	// The delivery history stays: it is a record of what was sent.
	_, err = s.db.exec(ctx, "DELETE FROM webhook_held WHERE webhook = ?", name)
	return w, err
}

func (s *Webhooks) Lease(ctx context.Context, name, owner string, now, until time.Time) (_ int64, _ bool, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Lease", name)
	res, err := s.db.exec(ctx, "UPDATE webhooks SET lease_owner = ?, lease_until = ? WHERE name = ? AND (lease_owner = ? OR lease_until < ?)",
		owner, nanos(until), name, owner, nanos(now))
	if err != nil {
		return 0, false, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		if err := s.db.queryRow(ctx, "SELECT 1 FROM webhooks WHERE name = ?", name).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return 0, false, errs.E(errs.NotFound, "webhook %q not found", name)
		}
		return 0, false, err
	}
	var cursor int64
	err = s.db.queryRow(ctx, "SELECT cursor FROM webhooks WHERE name = ?", name).Scan(&cursor)
	return cursor, err == nil, err
}

func (s *Webhooks) Pending(ctx context.Context, after int64, limit int) (_ []*notify.Event, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Pending", after)
	return collect(ctx, s.db, func(scan func(...any) error) (*notify.Event, error) { return scanEvent(scan) },
		"SELECT "+eventCols+" FROM outbox o WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
}

const eventCols = "o.seq, o.id, o.type, o.account, o.time, o.data"

func scanEvent(scan func(...any) error, more ...any) (*notify.Event, error) {
	var e notify.Event
	var t int64
	var data string
	if err := scan(append([]any{&e.Seq, &e.ID, &e.Type, &e.Account, &t, &data}, more...)...); err != nil {
		return nil, err
	}
	e.Time, e.Data = fromNanos(t), []byte(data)
	return &e, nil
}

func (s *Webhooks) Record(ctx context.Context, owner string, d *notify.Delivery, cursor int64) (err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Record", d.ID)
	_, err = s.db.exec(ctx, `INSERT INTO webhook_deliveries (id, webhook, event, event_type, account, attempt, status, error, outcome, at, duration_us)
		VALUES `+placeholders(1, 11), d.ID, d.Webhook, d.Event, d.EventType, d.Account, d.Attempt, d.Status, d.Error, d.Outcome,
		nanos(d.At), d.Duration.Microseconds())
	if err != nil || cursor <= 0 {
		return err
	}
	return s.Advance(ctx, d.Webhook, owner, cursor)
}

func (s *Webhooks) Advance(ctx context.Context, name, owner string, cursor int64) (err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Advance", name)
	_, err = s.db.exec(ctx, "UPDATE webhooks SET cursor = ? WHERE name = ? AND lease_owner = ? AND cursor < ?", cursor, name, owner, cursor)
	return err
}

// leased reports whether owner holds the webhook's lease, and locks the webhook's row
// until commit, so the lease cannot pass to another process before this transaction's
// writes are in.
func (s *Webhooks) leased(ctx context.Context, name, owner string) (bool, error) {
	res, err := s.db.exec(ctx, "UPDATE webhooks SET lease_owner = lease_owner WHERE name = ? AND lease_owner = ?", name, owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// holdChunk is how many held events one statement of Hold writes.
const holdChunk = 200

func (s *Webhooks) Hold(ctx context.Context, name, owner string, held ...*notify.Held) (err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Hold", name)
	if len(held) == 0 {
		return nil
	}
	if ok, err := s.leased(ctx, name, owner); !ok || err != nil {
		return err
	}
	for len(held) > 0 {
		chunk := held[:min(len(held), holdChunk)]
		held = held[len(chunk):]
		args := make([]any, 0, 5*len(chunk))
		for _, h := range chunk {
			var next any // NULL: behind an earlier held event of its account
			if !h.Next.IsZero() {
				next = nanos(h.Next)
			}
			args = append(args, name, h.Event.Seq, h.Event.Account, h.Attempt, next)
		}
		if _, err := s.db.exec(ctx, "INSERT INTO webhook_held (webhook, seq, account, attempt, next_at) VALUES "+placeholders(len(chunk), 5)+
			" ON CONFLICT (webhook, seq) DO UPDATE SET attempt = excluded.attempt, next_at = excluded.next_at", args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Webhooks) Release(ctx context.Context, name, owner string, e *notify.Event, now time.Time) (err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Release", name)
	if ok, err := s.leased(ctx, name, owner); !ok || err != nil {
		return err
	}
	if _, err := s.db.exec(ctx, "DELETE FROM webhook_held WHERE webhook = ? AND seq = ?", name, e.Seq); err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `UPDATE webhook_held SET next_at = ? WHERE webhook = ? AND next_at IS NULL
		AND seq = (SELECT MIN(seq) FROM webhook_held WHERE webhook = ? AND account = ?)`, nanos(now), name, name, e.Account)
	return err
}

func (s *Webhooks) Due(ctx context.Context, name string, now time.Time, limit int) (_ []*notify.Held, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Due", name)
	return collect(ctx, s.db, func(scan func(...any) error) (*notify.Held, error) {
		var h notify.Held
		var next int64
		e, err := scanEvent(scan, &h.Attempt, &next)
		h.Event, h.Next = e, fromNanos(next)
		return &h, err
	}, "SELECT "+eventCols+`, h.attempt, h.next_at FROM webhook_held h JOIN outbox o ON o.seq = h.seq
		WHERE h.webhook = ? AND h.next_at <= ? ORDER BY h.next_at, h.seq LIMIT ?`, name, nanos(now), limit)
}

func (s *Webhooks) Holding(ctx context.Context, name string, accounts []string) (_ map[string]bool, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Holding", name)
	out := map[string]bool{}
	for len(accounts) > 0 {
		chunk := accounts[:min(len(accounts), inChunk)]
		accounts = accounts[len(chunk):]
		args := []any{name}
		for _, a := range chunk {
			args = append(args, a)
		}
		held, err := collect(ctx, s.db, func(scan func(...any) error) (a string, err error) { return a, scan(&a) },
			"SELECT DISTINCT account FROM webhook_held WHERE webhook = ? AND account IN ("+params(len(chunk))+")", args...)
		if err != nil {
			return nil, err
		}
		for _, a := range held {
			out[a] = true
		}
	}
	return out, nil
}

func (s *Webhooks) Deliveries(ctx context.Context, name, after string, limit int) (_ []*notify.Delivery, err error) {
	defer wrapErr(&err, "sqlstore.Webhooks.Deliveries", name)
	q, args := newestFirst(`SELECT id, webhook, event, event_type, account, attempt, status, error, outcome, at, duration_us
		FROM webhook_deliveries WHERE webhook = ?`, []any{name}, after, limit)
	return collect(ctx, s.db, func(scan func(...any) error) (*notify.Delivery, error) {
		var d notify.Delivery
		var at, us int64
		if err := scan(&d.ID, &d.Webhook, &d.Event, &d.EventType, &d.Account, &d.Attempt, &d.Status, &d.Error, &d.Outcome, &at, &us); err != nil {
			return nil, err
		}
		d.At, d.Duration = fromNanos(at), time.Duration(us)*time.Microsecond
		return &d, nil
	}, q, args...)
}
