package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
)

// Incidents implements leak.IncidentStore.
type Incidents struct{ db *DB }

// Incidents returns the store of incidents and their affected accounts.
func (db *DB) Incidents() *Incidents { return &Incidents{db} }

var _ leak.IncidentStore = (*Incidents)(nil)

// incidentAccountChunk is how many affected accounts one INSERT writes (2 columns).
const incidentAccountChunk = 1000

func nullNanos(t *time.Time) any {
	if t == nil {
		return nil
	}
	return nanos(*t)
}

func (s *Incidents) CreateIncident(ctx context.Context, in *leak.Incident, accounts []string) (err error) {
	defer wrapErr(&err, "sqlstore.Incidents.CreateIncident", in.ID)
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if _, err := s.db.exec(ctx, "INSERT INTO incidents (id, state, next_alert_at, version, body) VALUES (?, ?, ?, ?, ?)",
		in.ID, string(in.State), nullNanos(in.NextAlert()), in.Version, string(body)); err != nil {
		return err
	}
	args := make([]any, 0, 2*min(len(accounts), incidentAccountChunk))
	for start := 0; start < len(accounts); start += incidentAccountChunk {
		chunk := accounts[start:min(start+incidentAccountChunk, len(accounts))]
		args = args[:0]
		for _, a := range chunk {
			args = append(args, in.ID, a)
		}
		if _, err := s.db.exec(ctx, "INSERT INTO incident_accounts (incident_id, account) VALUES "+placeholders(len(chunk), 2), args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Incidents) Incident(ctx context.Context, id string) (_ *leak.Incident, err error) {
	defer wrapErr(&err, "sqlstore.Incidents.Incident", id)
	in, err := jsonBody[leak.Incident]("incident")(s.db.queryRow(ctx, "SELECT body FROM incidents WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "incident %s not found", id)
	}
	return in, err
}

func (s *Incidents) UpdateIncident(ctx context.Context, in *leak.Incident) (err error) {
	defer wrapErr(&err, "sqlstore.Incidents.UpdateIncident", in.ID)
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	res, err := s.db.exec(ctx, "UPDATE incidents SET state = ?, next_alert_at = ?, version = ?, body = ? WHERE id = ? AND version = ?",
		string(in.State), nullNanos(in.NextAlert()), in.Version, string(body), in.ID, in.Version-1)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.Incident(ctx, in.ID); err != nil {
			return err
		}
		return errs.E(errs.Conflict, "incident %s changed meanwhile; try again", in.ID)
	}
	return nil
}

func (s *Incidents) IncidentAccounts(ctx context.Context, id, after string, limit int) (_ []string, err error) {
	defer wrapErr(&err, "sqlstore.Incidents.IncidentAccounts", id)
	return collect(ctx, s.db, func(scan func(...any) error) (string, error) {
		var a string
		return a, scan(&a)
	}, "SELECT account FROM incident_accounts WHERE incident_id = ? AND account > ? ORDER BY account LIMIT ?", id, after, limit)
}

func (s *Incidents) DueIncidents(ctx context.Context, now time.Time, limit int) (_ []*leak.Incident, err error) {
	defer wrapErr(&err, "sqlstore.Incidents.DueIncidents", "")
	return collect(ctx, s.db, jsonBody[leak.Incident]("incident"),
		"SELECT body FROM incidents WHERE next_alert_at IS NOT NULL AND next_alert_at <= ? ORDER BY next_alert_at, id LIMIT ?", nanos(now), limit)
}
