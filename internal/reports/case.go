package reports

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/principal"
)

// State is where a case stands.
type State string

const (
	Open    State = "open"    // collecting reports, waiting for a reviewer
	Decided State = "decided" // a reviewer decided it; new reports open a new case
)

// Flags a case may carry.
const (
	FlagBrigade = "suspected_brigade"
)

// Case is every report and signal about one target in one category, until decided.
type Case struct {
	ID       string `json:"id"`
	Target   string `json:"target"`
	Category string `json:"category"`
	State    State  `json:"state"`
	// Score is what the queue orders by: the weights of the credible reports and of the
	// signals, Weight - Discounted + SignalWeight.
	Score        float64  `json:"score"`
	Weight       float64  `json:"weight"`     // every report's weight
	Discounted   float64  `json:"discounted"` // the weight of reports not counted
	SignalWeight float64  `json:"signal_weight"`
	Reports      int      `json:"reports"`
	Signals      int      `json:"signals"`
	Flags        []string `json:"flags"`
	Cluster      *Cluster `json:"cluster,omitempty"` // set with FlagBrigade
	// Set by decisions: the outcome, the sanction it imposed, who decided and why. A
	// protected target's case is actioned only by a second reviewer: the first one's
	// approval waits in Approvals.
	Outcome   Outcome               `json:"outcome,omitempty"`
	Sanction  string                `json:"sanction,omitempty"`
	Note      string                `json:"note,omitempty"`
	DecidedBy *principal.Principal  `json:"decided_by,omitempty"`
	DecidedAt *time.Time            `json:"decided_at,omitempty"`
	Approvals []principal.Principal `json:"approvals,omitempty"`
	// Automated lists the sanctions signals' rules imposed by themselves, as a policy
	// allowed them.
	Automated []string  `json:"automated,omitempty"`
	OpenedAt  time.Time `json:"opened_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Version   int64     `json:"version"` // bumped on every write
}

func (c *Case) rescore() { c.Score = max(0, c.Weight-c.Discounted) + c.SignalWeight }

// Flagged reports whether the case carries flag.
func (c *Case) Flagged(flag string) bool {
	for _, f := range c.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

// Cluster is what a reviewer sees of a suspected brigade: how many reported in the
// burst, and how they are related.
type Cluster struct {
	Reporters    int     `json:"reporters"`     // in the burst window
	Baseline     float64 `json:"baseline"`      // the target's usual reports per window
	New          int     `json:"new"`           // reporters younger than Config.NewAge
	LowAccuracy  int     `json:"low_accuracy"`  // reporters below Config.LowAccuracy
	SharedDevice int     `json:"shared_device"` // reporters sharing a device with another
	SharedIP     int     `json:"shared_ip"`     // reporters sharing an IP prefix with another
	SharedLinks  int     `json:"shared_links"`  // reporters with a linked account in common
	Related      int     `json:"related"`       // reporters with any of the above
	Credible     int     `json:"credible"`      // reports still counted
	Window       string  `json:"window"`        // the burst window, as a Go duration
}

// Accuracy is one reporter's record in one category.
type Accuracy struct {
	Reporter  string     `json:"reporter"`
	Category  string     `json:"category"`
	Actioned  int        `json:"actioned"`  // reports that led to action
	Dismissed int        `json:"dismissed"` // reports dismissed
	BadFaith  *time.Time `json:"bad_faith_until,omitempty"`
}

// Rate is the platform-wide record of one category: the prior of every reporter's.
type Rate struct {
	Category  string `json:"category"`
	Actioned  int    `json:"actioned"`
	Dismissed int    `json:"dismissed"`
}

// Filter selects a page of cases: open ones by score, highest first, unless State says
// otherwise.
type Filter struct {
	State    State  // Open when empty
	Category string // any when empty
	Flag     string // any when empty
	After    *Cursor
	Limit    int
}

// Cursor is where a page of cases ends: the last case's score and ID.
type Cursor struct {
	Score float64
	ID    string
}

// Store keeps reports, signals, cases and reporters' records. Writes must be called
// inside a write transaction (see package txn).
type Store interface {
	// OpenCase returns the open case of target and category, locked until the
	// transaction ends, creating it from c (whose ID, times and version it uses) when
	// there is none; created says which.
	OpenCase(ctx context.Context, c *Case) (_ *Case, created bool, err error)
	// UpdateCase stores c, whose Version was bumped by one since it was read. Returns
	// errs.NotFound when there is none, errs.Conflict when it changed meanwhile.
	UpdateCase(ctx context.Context, c *Case) error
	// GetCase returns the case. Returns errs.NotFound when there is none.
	GetCase(ctx context.Context, id string) (*Case, error)
	// ListCases returns a page of cases, highest score first, then by ID, last first.
	ListCases(ctx context.Context, f Filter) ([]*Case, error)
	// InsertReport stores r. Returns errs.Conflict when its reporter reported its target
	// in its category on the same UTC day already.
	InsertReport(ctx context.Context, r *Report) error
	// CaseReports returns the case's reports created at since or later, oldest first, at
	// most limit.
	CaseReports(ctx context.Context, caseID string, since time.Time, limit int) ([]*Report, error)
	// Discount marks the reports as discounted.
	Discount(ctx context.Context, ids []string) error
	// CountReports returns how many reports about target in category were created in
	// [from, to).
	CountReports(ctx context.Context, target, category string, from, to time.Time) (int, error)
	// InsertSignal stores s.
	InsertSignal(ctx context.Context, s *Signal) error
	// CaseSignals returns the case's signals, oldest first, at most limit.
	CaseSignals(ctx context.Context, caseID string, limit int) ([]*Signal, error)
	// Accuracy returns the reporter's records, by category; a category without one is
	// missing.
	Accuracy(ctx context.Context, reporter string) (map[string]*Accuracy, error)
	// Learn adds actioned and dismissed to each reporter's record in category, and the
	// totals to the category's platform-wide rate.
	Learn(ctx context.Context, category string, reporters []string, actioned bool) error
	// MarkBadFaith sets the reporters' bad-faith time in category to until.
	MarkBadFaith(ctx context.Context, category string, reporters []string, until time.Time) error
	// Rate returns the category's platform-wide record (zero when none).
	Rate(ctx context.Context, category string) (Rate, error)
}
