package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/review"
)

// Review implements review.Store.
type Review struct{ db *DB }

// Review returns the review queue store.
func (db *DB) Review() *Review { return &Review{db} }

var _ review.Store = (*Review)(nil)

func (s *Review) Put(ctx context.Context, it *review.Item) (err error) {
	defer wrapErr(&err, "sqlstore.Review.Put", it.ID)
	if _, err := s.db.exec(ctx, "DELETE FROM review_excluded WHERE queue = ? AND id = ?", it.Queue, it.ID); err != nil {
		return err
	}
	if _, err := s.db.exec(ctx, `INSERT INTO review_items (queue, id, harm, breached, due_at, created_at, holder, lease_until)
		VALUES (?, ?, ?, ?, ?, ?, '', 0)
		ON CONFLICT (queue, id) DO UPDATE SET harm = excluded.harm, breached = excluded.breached, due_at = excluded.due_at,
			holder = '', lease_until = 0`,
		it.Queue, it.ID, it.Harm, boolInt(it.Breached), nanos(it.DueAt), nanos(it.CreatedAt)); err != nil {
		return err
	}
	for _, who := range it.Excluded {
		if _, err := s.db.exec(ctx, "INSERT INTO review_excluded (queue, id, who) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			it.Queue, it.ID, who); err != nil {
			return err
		}
	}
	return nil
}

func (s *Review) Get(ctx context.Context, queue, id string) (_ *review.Item, err error) {
	defer wrapErr(&err, "sqlstore.Review.Get", id)
	it := review.Item{Queue: queue, ID: id}
	var breached int
	var due, created, until int64
	err = s.db.queryRow(ctx, "SELECT harm, breached, due_at, created_at, holder, lease_until FROM review_items WHERE queue = ? AND id = ?",
		queue, id).Scan(&it.Harm, &breached, &due, &created, &it.Holder, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "%s is in no review queue", id)
	}
	if err != nil {
		return nil, err
	}
	it.Breached, it.DueAt, it.CreatedAt, it.LeaseUntil = breached != 0, fromNanos(due), fromNanos(created), fromNanos(until)
	if until == 0 {
		it.LeaseUntil = time.Time{}
	}
	rows, err := s.db.query(ctx, "SELECT who FROM review_excluded WHERE queue = ? AND id = ?", queue, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var who string
		if err := rows.Scan(&who); err != nil {
			return nil, err
		}
		it.Excluded = append(it.Excluded, who)
	}
	return &it, rows.Err()
}

func (s *Review) Remove(ctx context.Context, queue string, ids ...string) (err error) {
	defer wrapErr(&err, "sqlstore.Review.Remove", "")
	for start := 0; start < len(ids); start += inChunk {
		chunk := ids[start:min(start+inChunk, len(ids))]
		args := []any{queue}
		for _, id := range chunk {
			args = append(args, id)
		}
		for _, table := range []string{"review_items", "review_excluded"} {
			if _, err := s.db.exec(ctx, "DELETE FROM "+table+" WHERE queue = ? AND id IN ("+params(len(chunk))+")", args...); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Review) Claim(ctx context.Context, queue, who string, n int, now, until time.Time) (_ []string, err error) {
	defer wrapErr(&err, "sqlstore.Review.Claim", who)
	// The order the index holds, skipping leased and excluded rows; on PostgreSQL also
	// rows another claim has locked, and the UPDATE checks the lease again.
	ids, err := collect(ctx, s.db, func(scan func(...any) error) (string, error) {
		var id string
		return id, scan(&id)
	}, `SELECT i.id FROM review_items i WHERE i.queue = ? AND i.lease_until < ?
		AND NOT EXISTS (SELECT 1 FROM review_excluded e WHERE e.queue = i.queue AND e.id = i.id AND e.who = ?)
		ORDER BY i.breached DESC, i.harm DESC, i.created_at, i.id LIMIT ?`+s.db.d.skipLocked,
		queue, nanos(now), who, n)
	if err != nil || len(ids) == 0 {
		return ids, err
	}
	got := ids[:0]
	for _, id := range ids {
		res, err := s.db.exec(ctx, "UPDATE review_items SET holder = ?, lease_until = ? WHERE queue = ? AND id = ? AND lease_until < ?",
			who, nanos(until), queue, id, nanos(now))
		if err != nil {
			return nil, err
		}
		if k, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if k == 1 {
			got = append(got, id)
		}
	}
	return got, nil
}

func (s *Review) Release(ctx context.Context, queue, id string) (err error) {
	defer wrapErr(&err, "sqlstore.Review.Release", id)
	_, err = s.db.exec(ctx, "UPDATE review_items SET holder = '', lease_until = 0 WHERE queue = ? AND id = ?", queue, id)
	return err
}

func (s *Review) Breach(ctx context.Context, queue string, now time.Time, limit int) (_ []string, err error) {
	defer wrapErr(&err, "sqlstore.Review.Breach", queue)
	ids, err := collect(ctx, s.db, func(scan func(...any) error) (string, error) {
		var id string
		return id, scan(&id)
	}, "SELECT id FROM review_items WHERE queue = ? AND breached = 0 AND due_at < ? ORDER BY due_at LIMIT ?"+s.db.d.forUpdate,
		queue, nanos(now), limit)
	if err != nil || len(ids) == 0 {
		return ids, err
	}
	args := []any{queue}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err = s.db.exec(ctx, "UPDATE review_items SET breached = 1 WHERE queue = ? AND id IN ("+params(len(ids))+")", args...)
	return ids, err
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
