package leak

import (
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// IncidentGrade is an incident's severity, which sets how soon the regulator must hear
// of it and the affected users be told.
type IncidentGrade string

const (
	GradeCritical IncidentGrade = "critical" // 1 h by default
	GradeMajor    IncidentGrade = "major"    // 4 h
	GradeGeneral  IncidentGrade = "general"  // 72 h
)

// DefaultIncidentDeadlines are the deadlines of each grade, counted from detection,
// unless Config.Deadlines says otherwise.
var DefaultIncidentDeadlines = map[IncidentGrade]time.Duration{
	GradeCritical: time.Hour,
	GradeMajor:    4 * time.Hour,
	GradeGeneral:  72 * time.Hour,
}

// IncidentDataTypes are the kinds of personal data an incident may name; notices name
// each in the user's language.
var IncidentDataTypes = []string{"name", "phone", "email", "address", "id_number", "bank_card", "card_last4", "plate", "order", "location", "credentials"}

// Limits on an incident.
const (
	MaxIncidentText   = 4000    // characters of the cause, harm, advice, remedies, contact
	MaxIncidentTitle  = 200     // characters
	MaxIncidentAffect = 100_000 // affected accounts: a larger breach is several incidents, each notified on its own
	maxReportWithin   = 720 * time.Hour
)

// IncidentState is where an incident stands with its users.
type IncidentState string

const (
	IncidentOpen     IncidentState = "open"     // affected accounts known, users not yet told
	IncidentNotified IncidentState = "notified" // every affected user has a notice
)

// DeadlineState says how the incident stands against its regulator deadline.
type DeadlineState string

const (
	DeadlinePending DeadlineState = "pending" // users not told, deadline ahead
	DeadlineNear    DeadlineState = "near"    // users not told, deadline within the warning window
	DeadlinePassed  DeadlineState = "passed"  // users not told, deadline behind
	DeadlineMet     DeadlineState = "met"     // told before the deadline
	DeadlineMissed  DeadlineState = "missed"  // told, but after it
)

// IncidentAffected says who an incident affected: the accounts of a leak investigation,
// or those a CEL selection over `account` matches. Exactly one is set.
type IncidentAffected struct {
	Leak      string `json:"leak,omitempty"`
	Selection string `json:"selection,omitempty"`
}

// IncidentRequest is an incident as staff declare it.
type IncidentRequest struct {
	Title      string        `json:"title"`
	DetectedAt time.Time     `json:"detected_at"`
	DataTypes  []string      `json:"data_types"`
	Cause      string        `json:"cause"`
	Harm       string        `json:"harm"`     // the possible harm to users
	Remedies   string        `json:"remedies"` // what the platform has done
	Advice     string        `json:"advice"`   // what a user can do
	Contact    string        `json:"contact"`  // whom to contact
	Grade      IncidentGrade `json:"grade"`
	// ReportWithin overrides the grade's deadline, counted from DetectedAt.
	ReportWithin string           `json:"report_within,omitempty"`
	Affected     IncidentAffected `json:"affected"`
}

// Incident is a personal-data breach: what leaked, why, whom it affects and how it
// stands against the deadline.
type Incident struct {
	ID string `json:"id"`
	IncidentRequest
	Deadline      time.Time            `json:"deadline"` // DetectedAt plus the grade's (or the request's) time
	WarnAt        time.Time            `json:"warn_at"`  // when incident.deadline_near is raised
	State         IncidentState        `json:"state"`
	Accounts      int                  `json:"accounts"` // how many are affected
	CreatedAt     time.Time            `json:"created_at"`
	CreatedBy     principal.Principal  `json:"created_by"`
	NotifiedAt    *time.Time           `json:"notified_at,omitempty"`
	NotifiedBy    *principal.Principal `json:"notified_by,omitempty"`
	NearAlertAt   *time.Time           `json:"near_alert_at,omitempty"`   // when incident.deadline_near was raised
	PassedAlertAt *time.Time           `json:"passed_alert_at,omitempty"` // when incident.deadline_passed was raised
	Version       int64                `json:"version"`
}

// NextAlert returns when the timer should next look at the incident, or nil when it
// has nothing left to raise: a notified incident, or both alerts raised.
func (in *Incident) NextAlert() *time.Time {
	switch {
	case in.State != IncidentOpen || in.PassedAlertAt != nil:
		return nil
	case in.NearAlertAt == nil:
		return &in.WarnAt
	}
	return &in.Deadline
}

// DeadlineState returns how the incident stands against its deadline at now.
func (in *Incident) DeadlineState(now time.Time) DeadlineState {
	switch {
	case in.NotifiedAt != nil && !in.NotifiedAt.After(in.Deadline):
		return DeadlineMet
	case in.NotifiedAt != nil:
		return DeadlineMissed
	case now.After(in.Deadline):
		return DeadlinePassed
	case !now.Before(in.WarnAt):
		return DeadlineNear
	}
	return DeadlinePending
}

var dataTypePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// checkIncident returns every fault of r at once, and the deadline's length.
func checkIncident(r *IncidentRequest, deadlines map[IncidentGrade]time.Duration, now time.Time) (time.Duration, error) {
	var fs errs.Fields
	text := func(field, v string, max int) {
		switch n := len([]rune(v)); {
		case strings.TrimSpace(v) == "":
			fs.Add(field, "is required")
		case n > max:
			fs.Add(field, "at most %d characters, not %d", max, n)
		}
	}
	text("title", r.Title, MaxIncidentTitle)
	for _, f := range []struct {
		name string
		v    string
	}{{"cause", r.Cause}, {"harm", r.Harm}, {"remedies", r.Remedies}, {"advice", r.Advice}, {"contact", r.Contact}} {
		text(f.name, f.v, MaxIncidentText)
	}
	switch {
	case r.DetectedAt.IsZero():
		fs.Add("detected_at", "is required: when the breach was detected (RFC 3339)")
	case r.DetectedAt.After(now.Add(time.Minute)):
		fs.Add("detected_at", "is in the future")
	}
	if len(r.DataTypes) == 0 {
		fs.Add("data_types", "name at least one of %q", IncidentDataTypes)
	}
	seen := map[string]bool{}
	for i, t := range r.DataTypes {
		switch {
		case !dataTypePattern.MatchString(t) || !slices.Contains(IncidentDataTypes, t):
			fs.Add(fieldAt("data_types", i), "must be one of %q", IncidentDataTypes)
		case seen[t]:
			fs.Add(fieldAt("data_types", i), "%q is named twice", t)
		}
		seen[t] = true
	}
	within, ok := deadlines[r.Grade]
	if !ok {
		fs.Add("grade", "must be one of critical, major, general")
	}
	if r.ReportWithin != "" {
		d, err := time.ParseDuration(r.ReportWithin)
		if err != nil || d < time.Minute || d > maxReportWithin {
			fs.Add("report_within", "must be a duration from 1m to %s, e.g. 4h", maxReportWithin)
		}
		within = d
	}
	switch a := r.Affected; {
	case a.Leak == "" && a.Selection == "":
		fs.Add("affected", `is required: {"leak": ID} or {"selection": CEL}`)
	case a.Leak != "" && a.Selection != "":
		fs.Add("affected", "give leak or selection, not both")
	case a.Selection != "":
		if err := checkSelection(a.Selection); err != nil {
			fs.Add("affected.selection", "%s", err)
		}
	}
	return within, fs.Err()
}

func fieldAt(field string, i int) string { return field + "[" + strconv.Itoa(i) + "]" }

// IncidentStore keeps incidents and their affected accounts. Writes must be called
// inside a write transaction (see package txn).
type IncidentStore interface {
	// CreateIncident stores a new incident with its affected accounts.
	CreateIncident(ctx context.Context, in *Incident, accounts []string) error
	// Incident returns the incident. Returns errs.NotFound when there is none.
	Incident(ctx context.Context, id string) (*Incident, error)
	// UpdateIncident stores in, whose Version is one more than the stored one.
	// Returns errs.NotFound, or errs.Conflict when it changed meanwhile.
	UpdateIncident(ctx context.Context, in *Incident) error
	// IncidentAccounts returns up to limit affected accounts of the incident in ID
	// order, after the account after ("" from the first).
	IncidentAccounts(ctx context.Context, id, after string, limit int) ([]string, error)
	// DueIncidents returns up to limit incidents whose next alert is due at now,
	// earliest first.
	DueIncidents(ctx context.Context, now time.Time, limit int) ([]*Incident, error)
}
