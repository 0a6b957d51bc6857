package takeout

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/reports"
)

// State is where an export is in its life.
type State string

// An export is queued, collected part by part, then done (its archive downloads until it
// expires) or failed; an expired export's archive is deleted.
const (
	Queued     State = "queued"
	Collecting State = "collecting"
	Done       State = "done"
	Failed     State = "failed"
	Expired    State = "expired"
)

// Audit actions of takeout; the subject is the account exported.
const (
	ActionStart  = "export.start"  // context: on_behalf_of when staff started it
	ActionFinish = "export.finish" // done or failed, with the archive's size and SHA-256
	ActionExpire = "export.expire" // the archive was deleted
)

// DefaultTTL is how long a finished archive downloads before it is deleted.
const DefaultTTL = 7 * 24 * time.Hour

// Export is one export of an account's data.
type Export struct {
	ID        string              `json:"id"`
	Account   string              `json:"account"`
	State     State               `json:"state"`
	Progress  Progress            `json:"progress"`
	CreatedBy principal.Principal `json:"created_by"` // the end user, or the agent acting on their behalf
	CreatedAt time.Time           `json:"created_at"`
	UpdatedAt time.Time           `json:"updated_at"`
	ExpiresAt time.Time           `json:"expires_at"` // the archive is deleted then
	// Set once done.
	Size    int64     `json:"size,omitempty"`   // the archive's bytes
	SHA256  string    `json:"sha256,omitempty"` // hex, of the whole archive
	Missing []Missing `json:"missing,omitempty"`
	Error   string    `json:"error,omitempty"` // why it failed
	// Phase is "" while Steward's own parts are collected, then "sources" while the
	// sources' parts are awaited.
	Phase      string      `json:"phase,omitempty"`
	Connectors []Connector `json:"connectors,omitempty"`

	Version    int64     `json:"-"` // bumped on every update, for optimistic writes
	LeaseUntil time.Time `json:"-"` // a worker holds it until then
}

// Progress counts the parts collected.
type Progress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// Connector is one source's part of an export.
type Connector struct {
	Source   string    `json:"source"`
	State    string    `json:"state"` // waiting, called (it answered; its upload is awaited), received, missing
	Attempts int       `json:"attempts"`
	NextAt   time.Time `json:"next_attempt_at,omitzero"`
	Size     int64     `json:"size,omitempty"`
	SHA256   string    `json:"sha256,omitempty"`
	Error    string    `json:"last_error,omitempty"`
}

// States of a Connector.
const (
	Waiting  = "waiting"
	Called   = "called"
	Received = "received"
	Absent   = "missing"
)

func (c *Connector) settled() bool { return c.State == Received || c.State == Absent }

// Upload is a one-time upload URL's token, as stored: its SHA-256 only.
type Upload struct {
	TokenHash string    `json:"token_hash"` // hex SHA-256 of the token
	Export    string    `json:"export"`
	Source    string    `json:"source"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Missing is a part the archive lacks, and why.
type Missing struct {
	Part   string `json:"part"`
	Reason string `json:"reason"`
}

// Store keeps exports. Writes must be called inside a write transaction (see package
// txn).
type Store interface {
	// InsertExport stores a new export.
	InsertExport(ctx context.Context, e *Export) error
	// GetExport returns the export. Returns errs.NotFound when there is none.
	GetExport(ctx context.Context, id string) (*Export, error)
	// ListExports returns up to limit exports of account, newest first, after the export
	// with ID after ("" from the newest).
	ListExports(ctx context.Context, account, after string, limit int) ([]*Export, error)
	// ClaimExport leases to until the oldest export queued, or collecting under a lease
	// that ended before now, bumping its version, and returns it.
	// Returns errs.NotFound when there is none.
	ClaimExport(ctx context.Context, now, until time.Time) (*Export, error)
	// UpdateExport stores e, whose Version the caller bumped by one since it read it.
	// Returns errs.NotFound when there is none, errs.Conflict when it changed meanwhile.
	UpdateExport(ctx context.Context, e *Export) error
	// ExpiredExports returns up to limit exports done or failed whose ExpiresAt is
	// before now, oldest first.
	ExpiredExports(ctx context.Context, now time.Time, limit int) ([]*Export, error)
	// PutSource creates or replaces a source, reporting whether it created it.
	PutSource(ctx context.Context, s *Source) (created bool, err error)
	// GetSource returns a source. Returns errs.NotFound when there is none.
	GetSource(ctx context.Context, name string) (*Source, error)
	// DeleteSource removes a source and returns it. Returns errs.NotFound when there is none.
	DeleteSource(ctx context.Context, name string) (*Source, error)
	// Sources returns every source, in name order.
	Sources(ctx context.Context) ([]*Source, error)
	// PutUpload stores an upload token's hash.
	PutUpload(ctx context.Context, u *Upload) error
	// GetUpload returns the upload of a token's hash. Returns errs.NotFound when there
	// is none.
	GetUpload(ctx context.Context, tokenHash string) (*Upload, error)
	// DeleteUploads removes the export's upload tokens, of one source or ("") of all.
	DeleteUploads(ctx context.Context, export, source string) error
	// FiledReports returns up to limit reports filed by reporter, oldest first, after the
	// report with ID after ("" from the first).
	FiledReports(ctx context.Context, reporter, after string, limit int) ([]*reports.Report, error)
}

// CheckID returns errs.Invalid naming field unless id is an export ID (a UUID), which is
// also what makes it safe in a file name.
func CheckID(field, id string) error {
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		return errs.Field(field, "must be an export ID (a lowercase UUID)")
	}
	return nil
}
