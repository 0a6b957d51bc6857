package appeals

import (
	"context"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// State is where an appeal is in its life.
type State string

const (
	Open      State = "open"      // waiting for re-screening or a person
	Claimed   State = "claimed"   // open, leased to a reviewer (never stored: see Appeal.Lease)
	Decided   State = "decided"   // a person decided it (Outcome)
	Released  State = "released"  // re-screening found the sanction a mistake and lifted it
	Withdrawn State = "withdrawn" // by the user
	Closed    State = "closed"    // the sanction ended or was reverted before a decision
)

// Outcome is what a reviewer decided.
type Outcome string

const (
	Uphold   Outcome = "uphold"   // the sanction stands
	Overturn Outcome = "overturn" // the sanction is lifted as wrongful
	Reduce   Outcome = "reduce"   // the sanction's end moves earlier (Decision.Until)
	// A quality reviewer's outcomes for a released appeal.
	Confirm  Outcome = "confirm"  // the release was right
	Reimpose Outcome = "reimpose" // the release was wrong: the sanction is imposed again
)

// Channel is how an appeal was filed.
type Channel string

const (
	ByUser  Channel = "user"  // the account's holder, with a user token
	ByAgent Channel = "agent" // customer service, on the holder's behalf
)

// Evidence is one thing the user offers: a document's kind, what it says, its hash.
type Evidence struct {
	Kind   string `json:"kind"` // "travel_record", "identity", "text", …
	Text   string `json:"text,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // of a document the platform keeps
}

// Limits on what an appeal carries.
const (
	MaxStatement    = 5000 // characters
	MaxEvidence     = 20
	MaxEvidenceText = 2000 // characters
	MaxNote         = 4000 // bytes
	DefaultSLA      = 72 * time.Hour
	DefaultQA       = 5.0 // percent of releases a person reviews
)

// Appeal is one account's appeal against one sanction.
type Appeal struct {
	ID         string `json:"id"`
	Account    string `json:"account"`
	Sanction   string `json:"sanction"`
	BulkAction string `json:"bulk_action,omitempty"` // the action that made the sanction
	Policy     string `json:"policy,omitempty"`      // the sanction's policy
	// SanctionKind is the sanction's kind, for notices and lists.
	SanctionKind enforce.Kind `json:"sanction_kind"`
	Channel      Channel      `json:"channel"`
	Statement    string       `json:"statement"`
	Evidence     []Evidence   `json:"evidence"`
	State        State        `json:"state"`
	Harm         int64        `json:"harm"` // what waiting costs the user (see harmOf)
	DueAt        time.Time    `json:"due_at"`
	Breached     bool         `json:"breached,omitempty"` // the deadline passed undecided
	// Rescreen says the appeal waits for re-screening (a bulk action's sanction).
	Rescreen bool `json:"rescreen,omitempty"`
	// Screened is what re-screening found: the screen that spares the account, or "" when
	// none did (then people decide).
	Screened string `json:"screened,omitempty"`
	// QA says a released appeal went to a person for quality review.
	QA bool `json:"qa,omitempty"`
	// Provisional says the deadline passed and the bulk action's on_sla_breach lifted
	// the sanction until a person decides.
	Provisional bool `json:"provisional,omitempty"`
	// Round is 1, or 2 after the user asked for a second review of an upheld appeal.
	Round     int                 `json:"round"`
	Outcome   Outcome             `json:"outcome,omitempty"`
	Note      string              `json:"note,omitempty"`
	Until     *time.Time          `json:"until,omitempty"` // reduce: the sanction's new end
	DecidedBy principal.Principal `json:"decided_by,omitzero"`
	DecidedAt *time.Time          `json:"decided_at,omitempty"`
	// Reviewers are those who decided an earlier round: a second review goes to
	// someone else.
	Reviewers []principal.Principal `json:"reviewers,omitempty"`
	FiledBy   principal.Principal   `json:"filed_by"`
	// AccountAtFiling is the account as it was when the appeal was filed, to set beside
	// the account now: what the platform changed since shows.
	AccountAtFiling *accounts.Account `json:"account_at_filing,omitempty"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`

	// Lease is the review queue's lease, when a reviewer holds one (not stored here).
	Lease *Lease `json:"lease,omitempty"`
}

// Lease is who holds an open appeal, until when.
type Lease struct {
	Holder string    `json:"holder"` // principal Identity
	Until  time.Time `json:"until"`
}

// Priority is the appeal's place in the queue, as people read it.
func (a *Appeal) Priority() int64 {
	if a.Breached {
		return a.Harm + 1_000_000
	}
	return a.Harm
}

// IsOpen reports whether the appeal still waits for a decision.
func (a *Appeal) IsOpen() bool { return a.State == Open }

// shown returns a with its displayed state at now: an open appeal under a live lease is
// claimed.
func (a *Appeal) shown(now time.Time) *Appeal {
	if a.State == Open && a.Lease != nil && now.Before(a.Lease.Until) {
		a.State = Claimed
	}
	return a
}

// Filing is a new appeal.
type Filing struct {
	Sanction  string     `json:"sanction"`
	Account   string     `json:"account,omitempty"` // agent filings: whose appeal
	Channel   Channel    `json:"channel,omitempty"` // agent filings: "agent"
	Statement string     `json:"statement"`
	Evidence  []Evidence `json:"evidence,omitempty"`
}

func (f *Filing) check(agent bool) error {
	var fs errs.Fields
	if err := enforce.CheckSanctionID("sanction", f.Sanction); err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	}
	if agent {
		if err := accounts.CheckID("account", f.Account); err != nil {
			fs = append(fs, errs.FieldsOf(err)...)
		}
		if f.Channel != ByAgent {
			fs.Add("channel", `must be "agent" for an appeal filed on a user's behalf`)
		}
	}
	if n := utf8.RuneCountInString(f.Statement); n == 0 || n > MaxStatement {
		fs.Add("statement", "is required, at most %d characters (has %d)", MaxStatement, n)
	}
	if len(f.Evidence) > MaxEvidence {
		fs.Add("evidence", "at most %d items, not %d", MaxEvidence, len(f.Evidence))
	} else {
		for i, e := range f.Evidence {
			p := "evidence[" + strconv.Itoa(i) + "]."
			if !enforce.ValidCode(e.Kind) {
				fs.Add(p+"kind", "is required: %s", enforce.CodeRule)
			}
			if utf8.RuneCountInString(e.Text) > MaxEvidenceText {
				fs.Add(p+"text", "at most %d characters", MaxEvidenceText)
			}
			if e.SHA256 != "" && !isHex64(e.SHA256) {
				fs.Add(p+"sha256", "must be 64 lowercase hex digits")
			}
			if e.Text == "" && e.SHA256 == "" {
				fs.Add(p+"text", "an evidence item needs text or sha256")
			}
		}
	}
	return fs.Err()
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// CheckID returns errs.Invalid on field unless id is an appeal ID (a UUID).
func CheckID(field, id string) error {
	if u, err := uuid.Parse(id); err != nil || len(id) != 36 || u.String() != id {
		return errs.Field(field, "must be an appeal ID (a UUID)")
	}
	return nil
}

// Filter selects appeals to list.
type Filter struct {
	State      State  // "" for every state
	BulkAction string // "" for any
	Policy     string // "" for any
	Account    string // "" for any
	After      string // the cursor: the last ID of the previous page
	Limit      int
	Now        time.Time // for claimed: the leases live at now
}

// Stats are counts and ages of appeals.
type Stats struct {
	Open         int     `json:"open"`
	MedianAgeSec float64 `json:"median_age_seconds"` // of open appeals
	P95AgeSec    float64 `json:"p95_age_seconds"`
	Breaches     int     `json:"breaches"`
	Decided      int     `json:"decided"`
	Overturned   int     `json:"overturned"` // overturn or reduce
	Upheld       int     `json:"upheld"`
	Released     int     `json:"released"`
	Total        int     `json:"total"`
	OverturnRate float64 `json:"overturn_rate"` // overturned / decided
	ReleaseRate  float64 `json:"release_rate"`  // released / total
}

// Row is one group's counts as the store sums them.
type Row struct {
	Key                                                          string // the group's value: a policy, an action, a reviewer
	Open, Breaches, Decided, Overturned, Upheld, Released, Total int
}

// Store keeps appeals. Writes must be called inside a write transaction (see package txn).
type Store interface {
	// Insert stores a new appeal. Returns errs.Conflict naming the open appeal when the
	// sanction has one already.
	Insert(ctx context.Context, a *Appeal) error
	// Get returns the appeal with its queue lease. Returns errs.NotFound.
	Get(ctx context.Context, id string) (*Appeal, error)
	// GetMany returns the appeals of ids that exist, by ID.
	GetMany(ctx context.Context, ids []string) (map[string]*Appeal, error)
	// Update replaces a stored appeal.
	Update(ctx context.Context, a *Appeal) error
	// OpenFor returns the open appeal against sanction. Returns errs.NotFound.
	OpenFor(ctx context.Context, sanction string) (*Appeal, error)
	// List returns a page of appeals in ID order.
	List(ctx context.Context, f Filter) ([]*Appeal, error)
	// Settle stores each re-screened appeal (as Update) that still waits for
	// re-screening, open, and returns how many did.
	Settle(ctx context.Context, as []*Appeal) (int, error)
	// ToRescreen returns up to limit open appeals waiting for re-screening, oldest first.
	ToRescreen(ctx context.Context, limit int) ([]*Appeal, error)
	// OpenForMany returns the open appeals against any of sanctions.
	OpenForMany(ctx context.Context, sanctions []string) ([]*Appeal, error)
	// Sums returns the counts grouped by "", "policy", "bulk_action" or "reviewer";
	// with a value, only that group's (none when it has no appeals).
	Sums(ctx context.Context, by, value string) ([]Row, error)
	// OpenAges returns the age at now of the open appeals at the given quantiles
	// (0 to 1), in the same order; zero without open appeals.
	OpenAges(ctx context.Context, now time.Time, qs ...float64) ([]time.Duration, error)
}
