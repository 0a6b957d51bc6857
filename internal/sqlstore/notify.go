package sqlstore

import (
	"context"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/notify"
)

// Notices implements notify.Store.
type Notices struct{ db *DB }

// Notices returns the notice store.
func (db *DB) Notices() *Notices { return &Notices{db} }

var _ notify.Store = (*Notices)(nil)

// noticeChunk is how many notices one INSERT writes: 8 columns × 500 rows stays under
// both databases' limits on bound parameters.
const noticeChunk = 500

func (s *Notices) Insert(ctx context.Context, ns ...*notify.Notice) (err error) {
	defer wrapErr(&err, "sqlstore.Notices.Insert", "")
	return s.db.insertRows(ctx, "notices", []string{"id", "account", "event", "sanction", "locale", "subject", "body", "created_at"}, noticeChunk, len(ns),
		func(dst []any, i int) ([]any, error) {
			n := ns[i]
			return append(dst, n.ID, n.Account, string(n.Event), n.Sanction, n.Locale, n.Subject, n.Body, nanos(n.CreatedAt)), nil
		})
}

func (s *Notices) List(ctx context.Context, account, after string, limit int) (_ []*notify.Notice, err error) {
	defer wrapErr(&err, "sqlstore.Notices.List", account)
	q, args := newestFirst("SELECT id, account, event, sanction, locale, subject, body, created_at FROM notices WHERE account = ?",
		[]any{account}, after, limit)
	return collect(ctx, s.db, func(scan func(...any) error) (*notify.Notice, error) {
		var n notify.Notice
		var event string
		var created int64
		if err := scan(&n.ID, &n.Account, &event, &n.Sanction, &n.Locale, &n.Subject, &n.Body, &created); err != nil {
			return nil, err
		}
		n.Event, n.CreatedAt = enforce.Event(event), fromNanos(created)
		return &n, nil
	}, q, args...)
}
