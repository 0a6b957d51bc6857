package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/reports"
)

// Reports implements reports.Store.
type Reports struct{ db *DB }

// Reports returns the store of reports, signals, cases and reporters' records.
func (db *DB) Reports() *Reports { return &Reports{db} }

var _ reports.Store = (*Reports)(nil)

const day = int64(24 * time.Hour)

func (s *Reports) OpenCase(ctx context.Context, c *reports.Case) (_ *reports.Case, created bool, err error) {
	defer wrapErr(&err, "sqlstore.Reports.OpenCase", c.Target)
	if _, err := s.db.writer(ctx); err != nil {
		return nil, false, err
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, false, err
	}
	res, err := s.db.exec(ctx, `INSERT INTO report_cases (id, target, category, state, score, flagged, version, body, opened_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target, category) WHERE state = 'open' DO NOTHING`,
		c.ID, c.Target, c.Category, string(c.State), c.Score, false, c.Version, string(body), nanos(c.OpenedAt))
	if err != nil {
		return nil, false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return c, true, nil
	}
	var stored string
	err = s.db.queryRow(ctx, "SELECT body FROM report_cases WHERE target = ? AND category = ? AND state = 'open'"+s.db.d.forUpdate,
		c.Target, c.Category).Scan(&stored)
	if err != nil {
		return nil, false, err
	}
	open, err := decodeCase(stored)
	return open, false, err
}

func decodeCase(body string) (*reports.Case, error) {
	var c reports.Case
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		return nil, fmt.Errorf("stored case: %w", err)
	}
	return &c, nil
}

func (s *Reports) UpdateCase(ctx context.Context, c *reports.Case) (err error) {
	defer wrapErr(&err, "sqlstore.Reports.UpdateCase", c.ID)
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	res, err := s.db.exec(ctx, "UPDATE report_cases SET state = ?, score = ?, flagged = ?, version = ?, body = ? WHERE id = ? AND version = ?",
		string(c.State), c.Score, c.Flagged(reports.FlagBrigade), c.Version, string(body), c.ID, c.Version-1)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetCase(ctx, c.ID); err != nil {
			return err
		}
		return errs.E(errs.Conflict, "case %s changed meanwhile; try again", c.ID)
	}
	return nil
}

func (s *Reports) GetCase(ctx context.Context, id string) (_ *reports.Case, err error) {
	defer wrapErr(&err, "sqlstore.Reports.GetCase", id)
	var body string
	err = s.db.queryRow(ctx, "SELECT body FROM report_cases WHERE id = ?", id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "case %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	return decodeCase(body)
}

func (s *Reports) ListCases(ctx context.Context, f reports.Filter) (_ []*reports.Case, err error) {
	defer wrapErr(&err, "sqlstore.Reports.ListCases", "")
	q, args := "SELECT body FROM report_cases WHERE state = ?", []any{string(f.State)}
	if f.Category != "" {
		q, args = q+" AND category = ?", append(args, f.Category)
	}
	if f.Flag != "" {
		q, args = q+" AND flagged = ?", append(args, true)
	}
	if f.After != nil {
		// A row comparison, so both databases read the index backwards from the cursor.
		q, args = q+" AND (score, id) < (?, ?)", append(args, f.After.Score, f.After.ID)
	}
	return collect(ctx, s.db, func(scan func(...any) error) (*reports.Case, error) {
		var body string
		if err := scan(&body); err != nil {
			return nil, err
		}
		return decodeCase(body)
	}, q+" ORDER BY score DESC, id DESC LIMIT ?", append(args, f.Limit)...)
}

func (s *Reports) InsertReport(ctx context.Context, r *reports.Report) (err error) {
	defer wrapErr(&err, "sqlstore.Reports.InsertReport", r.ID)
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `INSERT INTO reports (id, case_id, reporter, target, category, day, created_at, discounted, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Case, r.Reporter, r.Target, r.Category, nanos(r.CreatedAt)/day,
		nanos(r.CreatedAt), r.Discounted, string(body))
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "%s reported %s for %s today already", r.Reporter, r.Target, r.Category)
	}
	return err
}

func (s *Reports) CaseReports(ctx context.Context, caseID string, since time.Time, limit int) (_ []*reports.Report, err error) {
	defer wrapErr(&err, "sqlstore.Reports.CaseReports", caseID)
	from := int64(0)
	if !since.IsZero() {
		from = nanos(since)
	}
	return collect(ctx, s.db, func(scan func(...any) error) (*reports.Report, error) {
		var body string
		var discounted bool
		if err := scan(&body, &discounted); err != nil {
			return nil, err
		}
		var r reports.Report
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			return nil, fmt.Errorf("stored report: %w", err)
		}
		r.Discounted = discounted
		return &r, nil
	}, "SELECT body, discounted FROM reports WHERE case_id = ? AND created_at >= ? ORDER BY created_at, id LIMIT ?", caseID, from, limit)
}

func (s *Reports) Discount(ctx context.Context, ids []string) (err error) {
	defer wrapErr(&err, "sqlstore.Reports.Discount", "")
	for start := 0; start < len(ids); start += inChunk {
		chunk := ids[start:min(start+inChunk, len(ids))]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, true)
		for _, id := range chunk {
			args = append(args, id)
		}
		if _, err := s.db.exec(ctx, "UPDATE reports SET discounted = ? WHERE id IN ("+params(len(chunk))+")", args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Reports) CountReports(ctx context.Context, target, category string, from, to time.Time) (_ int, err error) {
	defer wrapErr(&err, "sqlstore.Reports.CountReports", target)
	var n int
	err = s.db.queryRow(ctx, "SELECT count(*) FROM reports WHERE target = ? AND category = ? AND created_at >= ? AND created_at < ?",
		target, category, nanos(from), nanos(to)).Scan(&n)
	return n, err
}

func (s *Reports) InsertSignal(ctx context.Context, sg *reports.Signal) (err error) {
	defer wrapErr(&err, "sqlstore.Reports.InsertSignal", sg.ID)
	body, err := json.Marshal(sg)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, "INSERT INTO report_signals (id, case_id, account, rule, created_at, body) VALUES (?, ?, ?, ?, ?, ?)",
		sg.ID, sg.Case, sg.Account, sg.Rule, nanos(sg.CreatedAt), string(body))
	return err
}

func (s *Reports) CaseSignals(ctx context.Context, caseID string, limit int) (_ []*reports.Signal, err error) {
	defer wrapErr(&err, "sqlstore.Reports.CaseSignals", caseID)
	return collect(ctx, s.db, jsonBody[reports.Signal]("signal"), "SELECT body FROM report_signals WHERE case_id = ? ORDER BY id LIMIT ?", caseID, limit)
}

func (s *Reports) Accuracy(ctx context.Context, reporter string) (_ map[string]*reports.Accuracy, err error) {
	defer wrapErr(&err, "sqlstore.Reports.Accuracy", reporter)
	rows, err := s.db.query(ctx, "SELECT category, actioned, dismissed, bad_faith_until FROM reporter_accuracy WHERE reporter = ?", reporter)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]*reports.Accuracy{}
	for rows.Next() {
		a := &reports.Accuracy{Reporter: reporter}
		var until sql.NullInt64
		if err := rows.Scan(&a.Category, &a.Actioned, &a.Dismissed, &until); err != nil {
			return nil, err
		}
		if until.Valid {
			t := fromNanos(until.Int64)
			a.BadFaith = &t
		}
		out[a.Category] = a
	}
	return out, rows.Err()
}

// learnChunk is how many reporters one upsert writes: 4 parameters a row.
const learnChunk = 500

func (s *Reports) Learn(ctx context.Context, category string, reporters []string, actioned bool) (err error) {
	defer wrapErr(&err, "sqlstore.Reports.Learn", category)
	a, d := 0, 0
	if actioned {
		a = 1
	} else {
		d = 1
	}
	for start := 0; start < len(reporters); start += learnChunk {
		chunk := reporters[start:min(start+learnChunk, len(reporters))]
		args := make([]any, 0, 4*len(chunk))
		for _, r := range chunk {
			args = append(args, r, category, a, d)
		}
		if _, err := s.db.exec(ctx, `INSERT INTO reporter_accuracy (reporter, category, actioned, dismissed) VALUES `+placeholders(len(chunk), 4)+`
			ON CONFLICT (reporter, category) DO UPDATE SET actioned = reporter_accuracy.actioned + excluded.actioned,
			dismissed = reporter_accuracy.dismissed + excluded.dismissed`, args...); err != nil {
			return err
		}
	}
	_, err = s.db.exec(ctx, `INSERT INTO report_rates (category, actioned, dismissed) VALUES (?, ?, ?)
		ON CONFLICT (category) DO UPDATE SET actioned = report_rates.actioned + excluded.actioned,
		dismissed = report_rates.dismissed + excluded.dismissed`, category, a*len(reporters), d*len(reporters))
	return err
}

func (s *Reports) MarkBadFaith(ctx context.Context, category string, reporters []string, until time.Time) (err error) {
	defer wrapErr(&err, "sqlstore.Reports.MarkBadFaith", category)
	for start := 0; start < len(reporters); start += learnChunk {
		chunk := reporters[start:min(start+learnChunk, len(reporters))]
		args := make([]any, 0, 3*len(chunk))
		for _, r := range chunk {
			args = append(args, r, category, nanos(until))
		}
		rows := strings.Repeat("(?, ?, 0, 0, ?), ", len(chunk)-1) + "(?, ?, 0, 0, ?)"
		if _, err := s.db.exec(ctx, `INSERT INTO reporter_accuracy (reporter, category, actioned, dismissed, bad_faith_until)
			VALUES `+rows+` ON CONFLICT (reporter, category) DO UPDATE SET bad_faith_until = excluded.bad_faith_until`, args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Reports) Rate(ctx context.Context, category string) (_ reports.Rate, err error) {
	defer wrapErr(&err, "sqlstore.Reports.Rate", category)
	r := reports.Rate{Category: category}
	err = s.db.queryRow(ctx, "SELECT actioned, dismissed FROM report_rates WHERE category = ?", category).Scan(&r.Actioned, &r.Dismissed)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	return r, err
}
