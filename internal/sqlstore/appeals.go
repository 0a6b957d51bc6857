package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/errs"
)

// Appeals implements appeals.Store.
type Appeals struct{ db *DB }

// Appeals returns the appeal store.
func (db *DB) Appeals() *Appeals { return &Appeals{db} }

var _ appeals.Store = (*Appeals)(nil)

// appealQueue is the review queue appeals wait in; the list joins it for leases.
const appealQueue = "appeals"

func appealRow(a *appeals.Appeal) ([]any, error) {
	lease := a.Lease
	a.Lease = nil // the queue's, not stored here
	body, err := json.Marshal(a)
	a.Lease = lease
	if err != nil {
		return nil, err
	}
	var open any
	if a.State == appeals.Open {
		open = a.Sanction
	}
	return []any{a.Account, a.Sanction, a.BulkAction, a.Policy, string(a.State), open, boolInt(a.Rescreen), boolInt(a.Breached),
		string(a.Outcome), a.DecidedBy.Identity(), nanos(a.CreatedAt), string(body), a.ID}, nil
}

func (s *Appeals) Insert(ctx context.Context, a *appeals.Appeal) (err error) {
	defer wrapErr(&err, "sqlstore.Appeals.Insert", a.ID)
	row, err := appealRow(a)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `INSERT INTO appeals (account, sanction, bulk_action, policy, state, open_sanction, rescreen, breached,
		outcome, decided_by, created_at, body, id) VALUES (`+params(13)+`)`, row...)
	if errs.CodeOf(err) == errs.Conflict {
		if open, gerr := s.OpenFor(ctx, a.Sanction); gerr == nil {
			return errs.E(errs.Conflict, "sanction %s has an open appeal already: %s", a.Sanction, open.ID)
		}
		return errs.E(errs.Conflict, "appeal %s exists already", a.ID)
	}
	return err
}

func (s *Appeals) Update(ctx context.Context, a *appeals.Appeal) (err error) {
	defer wrapErr(&err, "sqlstore.Appeals.Update", a.ID)
	row, err := appealRow(a)
	if err != nil {
		return err
	}
	res, err := s.db.exec(ctx, `UPDATE appeals SET account = ?, sanction = ?, bulk_action = ?, policy = ?, state = ?, open_sanction = ?,
		rescreen = ?, breached = ?, outcome = ?, decided_by = ?, created_at = ?, body = ? WHERE id = ?`, row...)
	if err != nil {
		if errs.CodeOf(err) == errs.Conflict {
			return errs.E(errs.Conflict, "sanction %s has another open appeal", a.Sanction)
		}
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return errs.E(errs.NotFound, "appeal %s not found", a.ID)
	}
	return nil
}

// appealSelect reads an appeal's body and its lease in the appeals queue.
const appealSelect = `SELECT a.body, COALESCE(r.holder, ''), COALESCE(r.lease_until, 0) FROM appeals a
	LEFT JOIN review_items r ON r.queue = 'appeals' AND r.id = a.id`

func scanAppeal(scan func(...any) error) (*appeals.Appeal, error) {
	var body, holder string
	var until int64
	if err := scan(&body, &holder, &until); err != nil {
		return nil, err
	}
	var a appeals.Appeal
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		return nil, fmt.Errorf("stored appeal: %w", err)
	}
	if holder != "" && until != 0 {
		a.Lease = &appeals.Lease{Holder: holder, Until: fromNanos(until)}
	}
	return &a, nil
}

func (s *Appeals) Get(ctx context.Context, id string) (_ *appeals.Appeal, err error) {
	defer wrapErr(&err, "sqlstore.Appeals.Get", id)
	a, err := scanAppeal(s.db.queryRow(ctx, appealSelect+" WHERE a.id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "appeal %s not found", id)
	}
	return a, err
}

func (s *Appeals) GetMany(ctx context.Context, ids []string) (_ map[string]*appeals.Appeal, err error) {
	defer wrapErr(&err, "sqlstore.Appeals.GetMany", "")
	out := make(map[string]*appeals.Appeal, len(ids))
	err = s.db.queryIn(ctx, appealSelect+" WHERE a.id IN (%s)", ids, func(scan func(...any) error) error {
		a, err := scanAppeal(scan)
		if err == nil {
			out[a.ID] = a
		}
		return err
	})
	return out, err
}

func (s *Appeals) OpenFor(ctx context.Context, sanction string) (_ *appeals.Appeal, err error) {
	defer wrapErr(&err, "sqlstore.Appeals.OpenFor", sanction)
	a, err := scanAppeal(s.db.queryRow(ctx, appealSelect+" WHERE a.open_sanction = ?", sanction).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "sanction %s has no open appeal", sanction)
	}
	return a, err
}

func (s *Appeals) List(ctx context.Context, f appeals.Filter) (_ []*appeals.Appeal, err error) {
	defer wrapErr(&err, "sqlstore.Appeals.List", "")
	q, args := appealSelect+" WHERE 1 = 1", []any{}
	switch f.State {
	case "":
	case appeals.Claimed:
		q += " AND a.state = 'open' AND r.lease_until >= ?"
		args = append(args, nanos(f.Now))
	case appeals.Open:
		q += " AND a.state = 'open' AND COALESCE(r.lease_until, 0) < ?"
		args = append(args, nanos(f.Now))
	default:
		q += " AND a.state = ?"
		args = append(args, string(f.State))
	}
	for _, c := range []struct{ col, v string }{{"bulk_action", f.BulkAction}, {"policy", f.Policy}, {"account", f.Account}} {
		if c.v != "" {
			q += " AND a." + c.col + " = ?"
			args = append(args, c.v)
		}
	}
	if f.After != "" {
		q += " AND a.id > ?"
		args = append(args, f.After)
	}
	q += " ORDER BY a.id LIMIT ?"
	return collect(ctx, s.db, scanAppeal, q, append(args, f.Limit)...)
}

func (s *Appeals) ToRescreen(ctx context.Context, limit int) (_ []*appeals.Appeal, err error) {
	defer wrapErr(&err, "sqlstore.Appeals.ToRescreen", "")
	return collect(ctx, s.db, scanAppeal, appealSelect+" WHERE a.rescreen = 1 ORDER BY a.id LIMIT ?", limit)
}

func (s *Appeals) OpenForMany(ctx context.Context, sanctions []string) (_ []*appeals.Appeal, err error) {
	defer wrapErr(&err, "sqlstore.Appeals.OpenForMany", "")
	var out []*appeals.Appeal
	err = s.db.queryIn(ctx, appealSelect+" WHERE a.open_sanction IN (%s)", sanctions, func(scan func(...any) error) error {
		a, err := scanAppeal(scan)
		if err == nil {
			out = append(out, a)
		}
		return err
	})
	return out, err
}

func (s *Appeals) Sums(ctx context.Context, by, value string) (_ []appeals.Row, err error) {
	defer wrapErr(&err, "sqlstore.Appeals.Sums", by)
	key := "''"
	switch by {
	case "":
	case "policy", "bulk_action":
		key = by
	case "reviewer":
		key = "decided_by"
	default:
		return nil, fmt.Errorf("no grouping %q", by)
	}
	sum := func(cond string) string { return "COALESCE(SUM(CASE WHEN " + cond + " THEN 1 ELSE 0 END), 0)" }
	q := `SELECT ` + key + `, ` + sum("state = 'open'") + `, ` + sum("breached = 1") + `, ` + sum("state = 'decided'") + `, ` +
		sum("state = 'decided' AND outcome IN ('overturn', 'reduce')") + `, ` + sum("state = 'decided' AND outcome = 'uphold'") + `, ` +
		sum("state = 'released'") + `, COUNT(*) FROM appeals`
	var args []any
	switch {
	case by != "" && value != "":
		q += " WHERE " + key + " = ?"
		args = append(args, value)
	case by == "reviewer":
		q += " WHERE decided_by <> ''"
	}
	if by != "" {
		q += " GROUP BY " + key + " ORDER BY " + key
	}
	return collect(ctx, s.db, func(scan func(...any) error) (appeals.Row, error) {
		var r appeals.Row
		return r, scan(&r.Key, &r.Open, &r.Breaches, &r.Decided, &r.Overturned, &r.Upheld, &r.Released, &r.Total)
	}, q, args...)
}

func (s *Appeals) OpenAges(ctx context.Context, now time.Time, qs ...float64) (_ []time.Duration, err error) {
	defer wrapErr(&err, "sqlstore.Appeals.OpenAges", "")
	out := make([]time.Duration, len(qs))
	var n int
	if err := s.db.queryRow(ctx, "SELECT COUNT(*) FROM appeals WHERE state = 'open'").Scan(&n); err != nil || n == 0 {
		return out, err
	}
	for i, q := range qs {
		// The q-quantile of ages is the (1-q)-quantile of filing times, newest first.
		k := int(float64(n-1) * q)
		var created int64
		if err := s.db.queryRow(ctx, "SELECT created_at FROM appeals WHERE state = 'open' ORDER BY created_at DESC LIMIT 1 OFFSET ?", k).Scan(&created); err != nil {
			return nil, err
		}
		out[i] = now.Sub(fromNanos(created))
	}
	return out, nil
}
