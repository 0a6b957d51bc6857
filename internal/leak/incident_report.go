package leak

import (
	"context"
	"slices"
	"time"

	"github.com/stewardhq/steward/internal/audit"
)

// IncidentReport is the regulator's report of an incident, drawn from its record.
type IncidentReport struct {
	Incident    *Incident      `json:"incident"`
	GeneratedAt time.Time      `json:"generated_at"`
	Deadline    DeadlineState  `json:"deadline_state"`
	Timeline    []IncidentStep `json:"timeline"`
}

// IncidentStep is one dated step of an incident.
type IncidentStep struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
}

// Report returns the regulator's report of the incident; drawing it up is audited.
// Returns errs.NotFound.
func (s *Incidents) Report(ctx context.Context, id string) (*IncidentReport, error) {
	var rep *IncidentReport
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		in, err := s.store.Incident(ctx, id)
		if err != nil {
			return err
		}
		now := s.cfg.Now().UTC()
		rep = &IncidentReport{Incident: in, GeneratedAt: now, Deadline: in.DeadlineState(now), Timeline: timeline(in)}
		return s.rec.Record(ctx, audit.Change{Action: "incident.report", Subject: incidentSubject(id),
			Value: map[string]any{"version": in.Version, "generated_at": now, "deadline_state": rep.Deadline}})
	})
	return rep, err
}

func timeline(in *Incident) []IncidentStep {
	steps := []IncidentStep{{in.DetectedAt, "detected"}, {in.CreatedAt, "declared"}}
	add := func(t *time.Time, what string) {
		if t != nil {
			steps = append(steps, IncidentStep{*t, what})
		}
	}
	add(in.NearAlertAt, "deadline near: alert raised")
	add(in.PassedAlertAt, "deadline passed: alert raised")
	add(in.NotifiedAt, "affected users notified")
	steps = append(steps, IncidentStep{in.Deadline, "regulator deadline"})
	slices.SortStableFunc(steps, func(a, b IncidentStep) int { return a.At.Compare(b.At) })
	return steps
}
