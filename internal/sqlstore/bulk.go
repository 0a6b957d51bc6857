package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/errs"
)

// BulkActions implements bulk.Store.
type BulkActions struct{ db *DB }

// BulkActions returns the bulk action store.
func (db *DB) BulkActions() *BulkActions { return &BulkActions{db} }

var _ bulk.Store = (*BulkActions)(nil)

func (s *BulkActions) Insert(ctx context.Context, a *bulk.Action) (err error) {
	defer wrapErr(&err, "sqlstore.BulkActions.Insert", a.ID)
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, "INSERT INTO bulk_actions (id, state, version, body, created_at) VALUES (?, ?, ?, ?, ?)",
		a.ID, string(a.State), a.Version, string(body), nanos(a.CreatedAt))
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "bulk action %s exists already", a.ID)
	}
	return err
}

func (s *BulkActions) Get(ctx context.Context, id string) (_ *bulk.Action, err error) {
	defer wrapErr(&err, "sqlstore.BulkActions.Get", id)
	var body string
	err = s.db.queryRow(ctx, "SELECT body FROM bulk_actions WHERE id = ?", id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "bulk action %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	var a bulk.Action
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		return nil, fmt.Errorf("stored bulk action %s: %w", id, err)
	}
	if err := readOldNotify(body, &a); err != nil {
		return nil, fmt.Errorf("stored bulk action %s: %w", id, err)
	}
	return &a, nil
}

// readOldNotify sets a's NotifyUsers from "notify", which an action stored before
// notify_users was split from the webhook events said it with.
func readOldNotify(body string, a *bulk.Action) error {
	if strings.Contains(body, `"notify_users":`) {
		return nil
	}
	var old struct {
		Notify *bool `json:"notify"`
	}
	if err := json.Unmarshal([]byte(body), &old); err != nil || old.Notify == nil {
		return err
	}
	a.NotifyUsers = *old.Notify
	return nil
}

func (s *BulkActions) Update(ctx context.Context, a *bulk.Action) (err error) {
	defer wrapErr(&err, "sqlstore.BulkActions.Update", a.ID)
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	res, err := s.db.exec(ctx, "UPDATE bulk_actions SET state = ?, version = ?, body = ? WHERE id = ? AND version = ?",
		string(a.State), a.Version, string(body), a.ID, a.Version-1)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Get(ctx, a.ID); err != nil {
			return err
		}
		return errs.E(errs.Conflict, "bulk action %s changed meanwhile; try again", a.ID)
	}
	return nil
}

func (s *BulkActions) Active(ctx context.Context, states ...bulk.State) (_ []string, err error) {
	defer wrapErr(&err, "sqlstore.BulkActions.Active", "")
	if len(states) == 0 {
		return nil, nil
	}
	args := make([]any, len(states))
	for i, st := range states {
		args[i] = string(st)
	}
	rows, err := s.db.query(ctx, "SELECT id FROM bulk_actions WHERE state IN ("+params(len(states))+") ORDER BY id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// targetChunk is how many targets one INSERT writes: 4 columns × 1000 rows stays under
// both databases' limits on bound parameters.
const targetChunk = 1000

func (s *BulkActions) AddTargets(ctx context.Context, action string, ts []bulk.Target) (err error) {
	defer wrapErr(&err, "sqlstore.BulkActions.AddTargets", action)
	return s.db.insertRows(ctx, "bulk_targets", []string{"action", "ord", "account", "sanction"}, targetChunk, len(ts), func(dst []any, i int) ([]any, error) {
		return append(dst, action, ts[i].Ord, ts[i].Account, ts[i].Sanction), nil
	})
}

func (s *BulkActions) Targets(ctx context.Context, action string, after, upto int64, limit int) (_ []bulk.Target, err error) {
	defer wrapErr(&err, "sqlstore.BulkActions.Targets", action)
	rows, err := s.db.query(ctx, "SELECT ord, account, sanction FROM bulk_targets WHERE action = ? AND ord > ? AND ord <= ? ORDER BY ord LIMIT ?",
		action, after, upto, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bulk.Target
	for rows.Next() {
		var t bulk.Target
		if err := rows.Scan(&t.Ord, &t.Account, &t.Sanction); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
