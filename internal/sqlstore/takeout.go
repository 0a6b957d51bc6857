package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/reports"
	"github.com/stewardhq/steward/internal/takeout"
)

// Takeout implements takeout.Store.
type Takeout struct{ db *DB }

// Takeout returns the store of data exports.
func (db *DB) Takeout() *Takeout { return &Takeout{db} }

var _ takeout.Store = (*Takeout)(nil)

const exportCols = "body, version, lease_until"

func scanExport(scan func(...any) error) (*takeout.Export, error) {
	var body string
	var version, lease int64
	if err := scan(&body, &version, &lease); err != nil {
		return nil, err
	}
	var e takeout.Export
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return nil, fmt.Errorf("stored export: %w", err)
	}
	e.Version = version
	if lease != 0 {
		e.LeaseUntil = fromNanos(lease)
	}
	return &e, nil
}

// leaseNanos is 0 for no lease (the zero time is out of int64 nanoseconds' range).
func leaseNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return nanos(t)
}

func (s *Takeout) InsertExport(ctx context.Context, e *takeout.Export) (err error) {
	defer wrapErr(&err, "sqlstore.Takeout.InsertExport", e.ID)
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `INSERT INTO takeout_exports (id, account, state, created_by, expires_at, lease_until, version, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.Account, string(e.State), e.CreatedBy.Identity(),
		nanos(e.ExpiresAt), leaseNanos(e.LeaseUntil), e.Version, string(body))
	return err
}

func (s *Takeout) GetExport(ctx context.Context, id string) (_ *takeout.Export, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.GetExport", id)
	e, err := scanExport(s.db.queryRow(ctx, "SELECT "+exportCols+" FROM takeout_exports WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "export %s not found", id)
	}
	return e, err
}

func (s *Takeout) ListExports(ctx context.Context, account, after string, limit int) (_ []*takeout.Export, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.ListExports", account)
	q, args := newestFirst("SELECT "+exportCols+" FROM takeout_exports WHERE account = ?", []any{account}, after, limit)
	return collect(ctx, s.db, scanExport, q, args...)
}

func (s *Takeout) ClaimExport(ctx context.Context, now, until time.Time) (_ *takeout.Export, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.ClaimExport", "")
	if _, err := s.db.writer(ctx); err != nil {
		return nil, err
	}
	// A queued export first, then one whose builder stopped holding it; the version check
	// of the update makes two processes claiming at once take different ones or none.
	for _, c := range []struct {
		q    string
		args []any
	}{
		{"SELECT " + exportCols + " FROM takeout_exports WHERE state = 'queued' ORDER BY id LIMIT 1", nil},
		{"SELECT " + exportCols + " FROM takeout_exports WHERE state = 'collecting' AND lease_until < ? ORDER BY id LIMIT 1", []any{nanos(now)}},
	} {
		e, err := scanExport(s.db.queryRow(ctx, c.q, c.args...).Scan)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, err
		}
		e.Version++
		e.State, e.LeaseUntil, e.UpdatedAt = takeout.Collecting, until, now
		if err := s.UpdateExport(ctx, e); err != nil {
			return nil, err
		}
		return e, nil
	}
	return nil, errs.E(errs.NotFound, "no export waits")
}

func (s *Takeout) UpdateExport(ctx context.Context, e *takeout.Export) (err error) {
	defer wrapErr(&err, "sqlstore.Takeout.UpdateExport", e.ID)
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	res, err := s.db.exec(ctx, "UPDATE takeout_exports SET state = ?, expires_at = ?, lease_until = ?, version = ?, body = ? WHERE id = ? AND version = ?",
		string(e.State), nanos(e.ExpiresAt), leaseNanos(e.LeaseUntil), e.Version, string(body), e.ID, e.Version-1)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.GetExport(ctx, e.ID); err != nil {
			return err
		}
		return errs.E(errs.Conflict, "export %s changed meanwhile", e.ID)
	}
	return nil
}

func (s *Takeout) ExpiredExports(ctx context.Context, now time.Time, limit int) (_ []*takeout.Export, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.ExpiredExports", "")
	return collect(ctx, s.db, scanExport, "SELECT "+exportCols+" FROM takeout_exports WHERE state IN ('done', 'failed') AND expires_at < ? ORDER BY expires_at LIMIT ?",
		nanos(now), limit)
}

func (s *Takeout) FiledReports(ctx context.Context, reporter, after string, limit int) (_ []*reports.Report, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.FiledReports", reporter)
	return collect(ctx, s.db, jsonBody[reports.Report]("report"),
		"SELECT body FROM reports WHERE reporter = ? AND id > ? ORDER BY id LIMIT ?", reporter, after, limit)
}

const sourceCols = "name, url, secret, created_at, updated_at"

func scanSource(scan func(...any) error) (*takeout.Source, error) {
	var src takeout.Source
	var created, updated int64
	if err := scan(&src.Name, &src.URL, &src.Secret, &created, &updated); err != nil {
		return nil, err
	}
	src.CreatedAt, src.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &src, nil
}

func (s *Takeout) PutSource(ctx context.Context, src *takeout.Source) (created bool, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.PutSource", src.Name)
	res, err := s.db.exec(ctx, "UPDATE takeout_sources SET url = ?, secret = ?, updated_at = ? WHERE name = ?",
		src.URL, src.Secret, nanos(src.UpdatedAt), src.Name)
	if err != nil {
		return false, err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return false, nil
	}
	_, err = s.db.exec(ctx, "INSERT INTO takeout_sources ("+sourceCols+") VALUES (?, ?, ?, ?, ?)",
		src.Name, src.URL, src.Secret, nanos(src.CreatedAt), nanos(src.UpdatedAt))
	return err == nil, err
}

func (s *Takeout) GetSource(ctx context.Context, name string) (_ *takeout.Source, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.GetSource", name)
	src, err := scanSource(s.db.queryRow(ctx, "SELECT "+sourceCols+" FROM takeout_sources WHERE name = ?", name).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "export source %q not found", name)
	}
	return src, err
}

func (s *Takeout) DeleteSource(ctx context.Context, name string) (_ *takeout.Source, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.DeleteSource", name)
	src, err := s.GetSource(ctx, name)
	if err != nil {
		return nil, err
	}
	_, err = s.db.exec(ctx, "DELETE FROM takeout_sources WHERE name = ?", name)
	return src, err
}

func (s *Takeout) Sources(ctx context.Context) (_ []*takeout.Source, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.Sources", "")
	return collect(ctx, s.db, scanSource, "SELECT "+sourceCols+" FROM takeout_sources ORDER BY name")
}

func (s *Takeout) PutUpload(ctx context.Context, u *takeout.Upload) (err error) {
	defer wrapErr(&err, "sqlstore.Takeout.PutUpload", u.Export)
	_, err = s.db.exec(ctx, "INSERT INTO takeout_uploads (token_hash, export_id, source, expires_at) VALUES (?, ?, ?, ?)",
		u.TokenHash, u.Export, u.Source, nanos(u.ExpiresAt))
	return err
}

func (s *Takeout) GetUpload(ctx context.Context, tokenHash string) (_ *takeout.Upload, err error) {
	defer wrapErr(&err, "sqlstore.Takeout.GetUpload", "")
	u := takeout.Upload{TokenHash: tokenHash}
	var expires int64
	err = s.db.queryRow(ctx, "SELECT export_id, source, expires_at FROM takeout_uploads WHERE token_hash = ?", tokenHash).
		Scan(&u.Export, &u.Source, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such upload URL, or it was used")
	}
	u.ExpiresAt = fromNanos(expires)
	return &u, err
}

func (s *Takeout) DeleteUploads(ctx context.Context, export, source string) (err error) {
	defer wrapErr(&err, "sqlstore.Takeout.DeleteUploads", export)
	if source == "" {
		_, err = s.db.exec(ctx, "DELETE FROM takeout_uploads WHERE export_id = ?", export)
		return err
	}
	_, err = s.db.exec(ctx, "DELETE FROM takeout_uploads WHERE export_id = ? AND source = ?", export, source)
	return err
}
