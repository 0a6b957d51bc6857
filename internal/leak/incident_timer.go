package leak

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/principal"
)

// IncidentTimer raises incident.deadline_near once an open incident is within its
// warning window (the last quarter of its time) and incident.deadline_passed once its
// deadline is behind with users still untold, each once, audited.
type IncidentTimer struct{ s *Incidents }

// Timer returns the worker that raises the deadline alerts.
func (s *Incidents) Timer() *IncidentTimer { return &IncidentTimer{s} }

// dueBatch is how many due incidents one pass reads.
const dueBatch = 100

// Run raises due alerts every Poll until ctx ends. A failed pass is logged and tried
// again at the next.
func (t *IncidentTimer) Run(ctx context.Context) error {
	tick := time.NewTicker(t.s.cfg.Poll)
	defer tick.Stop()
	for {
		if _, err := t.Tick(ctx); err != nil && ctx.Err() == nil {
			t.s.cfg.Logger.Warn("incident timer", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Tick raises every alert due now and returns how many it raised.
func (t *IncidentTimer) Tick(ctx context.Context) (int, error) {
	ctx = principal.NewContext(audit.WithRequestID(ctx, "incident-timer"), principal.Steward)
	raised := 0
	for {
		now := t.s.cfg.Now().UTC()
		due, err := t.s.store.DueIncidents(ctx, now, dueBatch)
		if err != nil || len(due) == 0 {
			return raised, err
		}
		for _, in := range due {
			n, err := t.alert(ctx, in.ID, now)
			if err != nil {
				return raised, err
			}
			raised += n
		}
		if len(due) < dueBatch {
			return raised, nil
		}
	}
}

// alert raises what is due of incident id at now, re-read in the transaction.
func (t *IncidentTimer) alert(ctx context.Context, id string, now time.Time) (int, error) {
	raised := 0
	err := t.s.tx.Write(ctx, func(ctx context.Context) error {
		raised = 0
		in, err := t.s.store.Incident(ctx, id)
		if err != nil {
			return err
		}
		var events []IncidentEvent
		if in.State == IncidentOpen && in.NearAlertAt == nil && !now.Before(in.WarnAt) {
			in.NearAlertAt = &now
			events = append(events, IncidentDeadlineNear)
		}
		if in.State == IncidentOpen && in.PassedAlertAt == nil && now.After(in.Deadline) {
			in.PassedAlertAt = &now
			events = append(events, IncidentDeadlinePassed)
		}
		if len(events) == 0 {
			return nil
		}
		in.Version++
		if err := t.s.store.UpdateIncident(ctx, in); err != nil {
			return err
		}
		for _, ev := range events {
			if err := t.s.event(ctx, ev, in, now); err != nil {
				return err
			}
			if err := t.s.rec.Record(ctx, audit.Change{Action: string(ev), Subject: incidentSubject(id),
				Value: map[string]any{"deadline": in.Deadline, "at": now, "accounts": in.Accounts}}); err != nil {
				return err
			}
		}
		raised = len(events)
		return nil
	})
	return raised, err
}
