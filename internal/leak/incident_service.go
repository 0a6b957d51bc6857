package leak

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/txn"
)

// LeakAccounts names the accounts a leak investigation matched its sample to.
type LeakAccounts interface {
	// LeakAccounts returns the accounts of the investigation. Returns errs.NotFound when
	// there is none.
	LeakAccounts(ctx context.Context, leakID string) ([]string, error)
}

// IncidentEvent names what an incident's webhooks hear of.
type IncidentEvent string

const (
	IncidentCreated        IncidentEvent = "incident.created"
	IncidentNotifiedEvent  IncidentEvent = "incident.notified"
	IncidentDeadlineNear   IncidentEvent = "incident.deadline_near"
	IncidentDeadlinePassed IncidentEvent = "incident.deadline_passed"
)

// IncidentEvents lists every incident event.
var IncidentEvents = []IncidentEvent{IncidentCreated, IncidentNotifiedEvent, IncidentDeadlineNear, IncidentDeadlinePassed}

// IncidentAnnouncer tells affected users of an incident and webhooks of its events.
// Both are called inside the change's write transaction.
type IncidentAnnouncer interface {
	// NoticeIncident writes a notice dated at to each of accounts, in its locale.
	NoticeIncident(ctx context.Context, in *Incident, accounts []string, at time.Time) error
	// IncidentEvent puts ev about in, which happened at at, in the webhook outbox.
	IncidentEvent(ctx context.Context, ev IncidentEvent, in *Incident, at time.Time) error
}

// IncidentConfig tunes the incidents service. The zero value serves tests.
type IncidentConfig struct {
	// Deadlines override DefaultIncidentDeadlines, grade by grade.
	Deadlines map[IncidentGrade]time.Duration
	// Leaks resolves {"leak": ID}; without it such an incident is refused.
	Leaks     LeakAccounts
	Announcer IncidentAnnouncer // none when nil
	Now       func() time.Time  // time.Now when nil
	Poll      time.Duration     // how often the timer looks for due alerts (30 s when zero)
	Logger    *slog.Logger
}

// Incidents declares incidents, tells their affected users and renders their reports.
type Incidents struct {
	store     IncidentStore
	accounts  accounts.Store
	tx        txn.Runner
	rec       *audit.Recorder
	cfg       IncidentConfig
	deadlines map[IncidentGrade]time.Duration
}

// NewIncidents returns the incidents service.
func NewIncidents(store IncidentStore, accts accounts.Store, tx txn.Runner, rec *audit.Recorder, cfg IncidentConfig) *Incidents {
	d := maps.Clone(DefaultIncidentDeadlines)
	maps.Copy(d, cfg.Deadlines)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Incidents{store: store, accounts: accts, tx: tx, rec: rec, cfg: cfg, deadlines: d}
}

func incidentSubject(id string) string { return "incident:" + id }

// incidentChange is what the audit log records of an incident: every field but the
// affected accounts, which it commits to by their digest.
type incidentChange struct {
	*Incident
	AccountsSHA256 string `json:"accounts_sha256,omitempty"`
}

// accountsDigest is the hex SHA-256 of the sorted IDs, one a line.
func accountsDigest(ids []string) string {
	h := sha256.New()
	for _, id := range ids {
		h.Write([]byte(id + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// IncidentDraft is an incident with its affected accounts found, not yet stored.
type IncidentDraft struct {
	incident *Incident
	accounts []string // sorted, distinct
}

// Create declares an incident and fixes its affected accounts: those of the leak
// investigation, or those the selection matches now. Returns what Prepare returns.
func (s *Incidents) Create(ctx context.Context, r IncidentRequest) (*Incident, error) {
	d, err := s.Prepare(ctx, r)
	if err != nil {
		return nil, err
	}
	return s.Commit(ctx, d)
}

// Prepare checks r and finds its affected accounts, outside any write transaction (a
// selection reads every account). Returns errs.Invalid naming every bad field, and
// errs.NotOffered for a leak without leak investigations wired.
func (s *Incidents) Prepare(ctx context.Context, r IncidentRequest) (*IncidentDraft, error) {
	now := s.cfg.Now().UTC()
	within, err := checkIncident(&r, s.deadlines, now)
	if err != nil {
		return nil, err
	}
	ids, err := s.affected(ctx, r.Affected, now)
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	r.DetectedAt = r.DetectedAt.UTC()
	r.DataTypes = slices.Clone(r.DataTypes)
	in := &Incident{ID: uuid.Must(uuid.NewV7()).String(), IncidentRequest: r, Deadline: r.DetectedAt.Add(within),
		WarnAt: r.DetectedAt.Add(within - within/4), State: IncidentOpen, Accounts: len(ids), CreatedAt: now,
		CreatedBy: principal.FromContext(ctx), Version: 1}
	return &IncidentDraft{in, ids}, nil
}

// Commit stores a prepared incident with its accounts, its event and its audit entry
// in one transaction.
func (s *Incidents) Commit(ctx context.Context, d *IncidentDraft) (*Incident, error) {
	in := d.incident
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.store.CreateIncident(ctx, in, d.accounts); err != nil {
			return err
		}
		if err := s.event(ctx, IncidentCreated, in, in.CreatedAt); err != nil {
			return err
		}
		return s.rec.Record(ctx, audit.Change{Action: "incident.create", Subject: incidentSubject(in.ID),
			Value: incidentChange{in, accountsDigest(d.accounts)}})
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// Check returns every fault of r at once, as Create would, without selecting anyone.
func (s *Incidents) Check(r IncidentRequest) error {
	_, err := checkIncident(&r, s.deadlines, s.cfg.Now().UTC())
	return err
}

// affected returns the accounts a declares, at most MaxIncidentAffect.
func (s *Incidents) affected(ctx context.Context, a IncidentAffected, now time.Time) ([]string, error) {
	if a.Selection != "" {
		return selectAccounts(ctx, s.accounts, a.Selection, now, MaxIncidentAffect)
	}
	if s.cfg.Leaks == nil {
		return nil, &errs.Error{Code: errs.NotOffered, Message: "leak investigations are not available",
			Fields: []errs.FieldError{{Field: "affected.leak", Message: "leak investigations are not available"}}}
	}
	ids, err := s.cfg.Leaks.LeakAccounts(ctx, a.Leak)
	switch {
	case errs.CodeOf(err) == errs.NotFound:
		return nil, errs.Field("affected.leak", "no leak investigation %q", a.Leak)
	case err != nil:
		return nil, err
	case len(ids) > MaxIncidentAffect:
		return nil, errs.Field("affected.leak", "the investigation matched %d accounts, more than %d: declare the breach as several incidents", len(ids), MaxIncidentAffect)
	}
	return slices.Clone(ids), nil
}

// Get returns the incident. Returns errs.NotFound.
func (s *Incidents) Get(ctx context.Context, id string) (*Incident, error) {
	return s.store.Incident(ctx, id)
}

// Now is the service's clock, for the deadline's state.
func (s *Incidents) Now() time.Time { return s.cfg.Now().UTC() }

// notifyPage is how many affected accounts are noticed per store read.
const notifyPage = 1000

// Notify sends every affected user a notice in their locale, all in one transaction
// with its audit entry. Returns errs.NotFound, or errs.Conflict when the users were
// told already.
func (s *Incidents) Notify(ctx context.Context, id string) (*Incident, error) {
	var out *Incident
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		in, err := s.store.Incident(ctx, id)
		if err != nil {
			return err
		}
		if in.State == IncidentNotified {
			return errs.E(errs.Conflict, "incident %s: its users were told at %s", id, in.NotifiedAt.Format(time.RFC3339))
		}
		now, by := s.cfg.Now().UTC(), principal.FromContext(ctx)
		h := sha256.New()
		n := 0
		for after := ""; ; {
			ids, err := s.store.IncidentAccounts(ctx, id, after, notifyPage)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				break
			}
			for _, a := range ids {
				h.Write([]byte(a + "\n"))
			}
			n += len(ids)
			if s.cfg.Announcer != nil {
				if err := s.cfg.Announcer.NoticeIncident(ctx, in, ids, now); err != nil {
					return err
				}
			}
			after = ids[len(ids)-1]
		}
		in.State, in.NotifiedAt, in.NotifiedBy = IncidentNotified, &now, &by
		in.Version++
		if err := s.store.UpdateIncident(ctx, in); err != nil {
			return err
		}
		if err := s.event(ctx, IncidentNotifiedEvent, in, now); err != nil {
			return err
		}
		out = in
		return s.rec.Record(ctx, audit.Change{Action: "incident.notify", Subject: incidentSubject(id),
			Value:   map[string]any{"notified": n, "accounts_sha256": hex.EncodeToString(h.Sum(nil)), "notified_at": now, "deadline": in.Deadline},
			Context: map[string]string{"deadline": string(in.DeadlineState(now))}})
	})
	if err != nil {
		return nil, fmt.Errorf("leak.Incidents.Notify %s: %w", id, err)
	}
	return out, nil
}

func (s *Incidents) event(ctx context.Context, ev IncidentEvent, in *Incident, at time.Time) error {
	if s.cfg.Announcer == nil {
		return nil
	}
	return s.cfg.Announcer.IncidentEvent(ctx, ev, in, at)
}
