package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
)

// Sanctions implements enforce.Store and enforce.Feed.
type Sanctions struct{ db *DB }

// Sanctions returns the sanction and policy store.
func (db *DB) Sanctions() *Sanctions { return &Sanctions{db} }

var (
	_ enforce.Store = (*Sanctions)(nil)
	_ enforce.Feed  = (*Sanctions)(nil)
)

// sanctionsChannel is the channel DB.signal tells of sanction changes, and Watch listens on.
const sanctionsChannel = "steward_sanctions"

func (s *Sanctions) NextSeq(ctx context.Context) (_ int64, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.NextSeq", "")
	if _, err := s.db.writer(ctx); err != nil {
		return 0, err
	}
	var n int64
	if err := s.db.queryRow(ctx, "UPDATE sanction_seq SET n = n + 1 RETURNING n").Scan(&n); err != nil {
		return 0, fmt.Errorf("next sanction sequence: %w", err)
	}
	if err := s.db.signal(ctx, sanctionsChannel); err != nil {
		return 0, err
	}
	return n, nil
}

// sanctionRow returns the columns of sn written at seq, in sanctionCols order after id.
func sanctionRow(sn *enforce.Sanction, seq int64) ([]any, error) {
	body, err := json.Marshal(sn)
	if err != nil {
		return nil, err
	}
	var end, lifted, strikeUntil any
	if sn.End != nil {
		end = nanos(*sn.End)
	}
	if sn.Lifted != nil {
		lifted = nanos(sn.Lifted.At)
	}
	withdrawn := false
	if sn.Strike != nil {
		strikeUntil = nanos(sn.Strike.Until)
		withdrawn = sn.Strike.Withdrawn
	}
	return []any{sn.Account, string(sn.Kind), strings.Join(sn.Scope.Services, ","), strings.Join(sn.Scope.Capabilities, ","),
		nanos(sn.Start), end, lifted, sn.ReasonCode, sn.Policy, string(sn.Source), strikeUntil, withdrawn, seq, string(body)}, nil
}

func (s *Sanctions) Insert(ctx context.Context, sn *enforce.Sanction, seq int64) (err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.Insert", sn.ID)
	row, err := sanctionRow(sn, seq)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `INSERT INTO sanctions (id, account, kind, services, capabilities, start_at, end_at, lifted_at,
		reason_code, policy, source, strike_until, strike_withdrawn, seq, body) VALUES `+placeholders(1, 15), append([]any{sn.ID}, row...)...)
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "sanction %s exists already", sn.ID)
	}
	return err
}

func (s *Sanctions) Update(ctx context.Context, sn *enforce.Sanction, seq int64) (err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.Update", sn.ID)
	row, err := sanctionRow(sn, seq)
	if err != nil {
		return err
	}
	res, err := s.db.exec(ctx, `UPDATE sanctions SET account = ?, kind = ?, services = ?, capabilities = ?, start_at = ?,
		end_at = ?, lifted_at = ?, reason_code = ?, policy = ?, source = ?, strike_until = ?, strike_withdrawn = ?, seq = ?,
		body = ? WHERE id = ?`, append(row, sn.ID)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "sanction %s not found", sn.ID)
	}
	return nil
}

func (s *Sanctions) Get(ctx context.Context, id string) (_ *enforce.Sanction, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.Get", id)
	var body string
	err = s.db.queryRow(ctx, "SELECT body FROM sanctions WHERE id = ?", id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "sanction %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	return decodeSanction(body)
}

func decodeSanction(body string) (*enforce.Sanction, error) {
	var sn enforce.Sanction
	if err := json.Unmarshal([]byte(body), &sn); err != nil {
		return nil, fmt.Errorf("stored sanction: %w", err)
	}
	return &sn, nil
}

func (s *Sanctions) List(ctx context.Context, account, after string, limit int) (_ []*enforce.Sanction, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.List", account)
	q, args := newestFirst("SELECT body FROM sanctions WHERE account = ?", []any{account}, after, limit)
	return collect(ctx, s.db, func(scan func(...any) error) (*enforce.Sanction, error) {
		var body string
		if err := scan(&body); err != nil {
			return nil, err
		}
		return decodeSanction(body)
	}, q, args...)
}

func (s *Sanctions) CountStrikes(ctx context.Context, account, policy string, t time.Time) (_ int, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.CountStrikes", account)
	var n int
	err = s.db.queryRow(ctx, `SELECT count(*) FROM sanctions WHERE account = ? AND policy = ? AND source = ?
		AND strike_withdrawn = ? AND strike_until > ?`, account, policy, string(enforce.FromStrike), false, nanos(t)).Scan(&n)
	return n, err
}

func (s *Sanctions) PutPolicy(ctx context.Context, p *enforce.Policy) (_ bool, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.PutPolicy", p.ID)
	body, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	res, err := s.db.exec(ctx, "INSERT INTO sanction_policies (id, body, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
		p.ID, string(body), nanos(p.UpdatedAt))
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	_, err = s.db.exec(ctx, "UPDATE sanction_policies SET body = ?, updated_at = ? WHERE id = ?", string(body), nanos(p.UpdatedAt), p.ID)
	return false, err
}

func (s *Sanctions) GetPolicy(ctx context.Context, id string) (_ *enforce.Policy, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.GetPolicy", id)
	var body string
	err = s.db.queryRow(ctx, "SELECT body FROM sanction_policies WHERE id = ?", id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "policy %q not found", id)
	}
	if err != nil {
		return nil, err
	}
	var p enforce.Policy
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return nil, fmt.Errorf("stored policy %s: %w", id, err)
	}
	return &p, nil
}
