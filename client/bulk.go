package client

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"time"
)

// BulkProgress is how far a bulk action's execution or revert has come.
type BulkProgress struct {
	Accounts    int  `json:"accounts"` // accounts to scan for targets, counted at execute
	Scanned     int  `json:"scanned"`  // of those, scanned so far
	Total       int  `json:"total"`    // targets fixed (so far, while preparing)
	Done        int  `json:"done"`
	Reverted    int  `json:"reverted"`
	CanaryCount int  `json:"canary_count"`
	CanaryDone  bool `json:"canary_done"`
	EvalErrors  int  `json:"eval_errors"` // accounts left unsanctioned because an expression failed on them
}

// BulkAction is a bulk action as the API shows it. Criteria, screens, sanction and
// authority are kept as the server sent them.
type BulkAction struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	State         string          `json:"state"`
	Criteria      string          `json:"criteria"`
	Screens       json.RawMessage `json:"screens"`
	Sanction      json.RawMessage `json:"sanction"`
	Authority     json.RawMessage `json:"authority"`
	NotifyUsers   bool            `json:"notify_users"`
	CanaryPercent float64         `json:"canary_percent"`
	Progress      BulkProgress    `json:"progress"`
	RevertReason  string          `json:"revert_reason,omitempty"`
	// Error says why the runner paused the action itself (an expression failed).
	Error string `json:"error,omitempty"`
	// LastDryRun is the last dry run of a draft, in short, as the server sent it.
	LastDryRun      json.RawMessage `json:"last_dry_run,omitempty"`
	AllowEvalErrors bool            `json:"allow_eval_errors,omitempty"`
	Rate            float64         `json:"rate"`        // targets (accounts while preparing) per second in the current phase
	ETASeconds      float64         `json:"eta_seconds"` // estimated seconds left
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

// BulkCounts is how one group of accounts fares in a dry run.
type BulkCounts struct {
	Accounts   int `json:"accounts"`
	Matched    int `json:"matched"`
	Spared     int `json:"spared"`
	Already    int `json:"already"`
	ToSanction int `json:"to_sanction"`
}

// BulkDryRun is what executing a bulk action now would do.
type BulkDryRun struct {
	Action string `json:"action"`
	BulkCounts
	SparedBy   map[string]int `json:"spared_by"`
	EvalErrors int            `json:"eval_errors"` // accounts on which an expression failed: neither matched nor spared
	// FirstEvalError is the first such failure (account, expr, message), as the server sent it.
	FirstEvalError json.RawMessage        `json:"first_eval_error,omitempty"`
	ByRegion       map[string]*BulkCounts `json:"by_region"`
	ByVerified     map[string]*BulkCounts `json:"by_verified"`
	ByAge          map[string]*BulkCounts `json:"by_age"`
	Samples        json.RawMessage        `json:"samples"`
	Seconds        float64                `json:"seconds"`
}

// CreateBulkAction creates a draft from a JSON request body as POST /v1/bulk-actions
// takes it (name, criteria, screens, sanction, authority, notify).
func (c *Client) CreateBulkAction(ctx context.Context, body []byte, idempotencyKey string) (*BulkAction, error) {
	var out BulkAction
	_, err := c.Do(ctx, Request{Method: "POST", Path: "/v1/bulk-actions", Body: body, IdempotencyKey: idempotencyKey}, &out)
	return &out, err
}

// GetBulkAction returns a bulk action with its progress, rate and estimate.
func (c *Client) GetBulkAction(ctx context.Context, id string) (*BulkAction, error) {
	var out BulkAction
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/bulk-actions/" + url.PathEscape(id)}, &out)
	return &out, err
}

// DryRunBulkAction evaluates the action over every account, changing nothing.
func (c *Client) DryRunBulkAction(ctx context.Context, id string) (*BulkDryRun, error) {
	var out BulkDryRun
	_, err := c.Do(ctx, Request{Method: "POST", Path: "/v1/bulk-actions/" + url.PathEscape(id) + "/dry-run"}, &out)
	return &out, err
}

// BulkTarget is one target of a bulk action and what the action has done to it.
type BulkTarget struct {
	Ord        int64  `json:"ord"`
	Account    string `json:"account"`
	Sanction   string `json:"sanction"`
	Sanctioned bool   `json:"sanctioned"`
	Reverted   bool   `json:"reverted"`
}

// BulkTargets returns a page of up to limit of the action's targets after cursor ("" for
// the first page), and the cursor of the next page ("" after the last).
func (c *Client) BulkTargets(ctx context.Context, id, cursor string, limit int) ([]BulkTarget, string, error) {
	var out struct {
		Targets []BulkTarget `json:"targets"`
		Next    string       `json:"next"`
	}
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/bulk-actions/" + url.PathEscape(id) + "/targets?" + q.Encode()}, &out)
	return out.Targets, out.Next, err
}

func (c *Client) bulkChange(ctx context.Context, id, verb string, body any, idempotencyKey string) (*BulkAction, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	var out BulkAction
	_, err := c.Do(ctx, Request{Method: "POST", Path: "/v1/bulk-actions/" + url.PathEscape(id) + "/" + verb, Body: b, IdempotencyKey: idempotencyKey}, &out)
	return &out, err
}

// BulkExecute is how to execute a draft.
type BulkExecute struct {
	CanaryPercent *float64 `json:"canary_percent,omitempty"` // nil: the server's default (1%)
	// AllowEvalErrors executes although the dry run found accounts on which an
	// expression fails; they are left unsanctioned.
	AllowEvalErrors bool `json:"allow_eval_errors,omitempty"`
}

// ExecuteBulkAction starts executing a draft.
func (c *Client) ExecuteBulkAction(ctx context.Context, id string, opts BulkExecute, idempotencyKey string) (*BulkAction, error) {
	return c.bulkChange(ctx, id, "execute", opts, idempotencyKey)
}

// PauseBulkAction pauses an action after its current batch.
func (c *Client) PauseBulkAction(ctx context.Context, id, idempotencyKey string) (*BulkAction, error) {
	return c.bulkChange(ctx, id, "pause", nil, idempotencyKey)
}

// ResumeBulkAction resumes a paused action, or one waiting after its canary.
func (c *Client) ResumeBulkAction(ctx context.Context, id, idempotencyKey string) (*BulkAction, error) {
	return c.bulkChange(ctx, id, "resume", nil, idempotencyKey)
}

// RevertBulkAction lifts every sanction the action made, as wrongful.
func (c *Client) RevertBulkAction(ctx context.Context, id, reason, idempotencyKey string) (*BulkAction, error) {
	return c.bulkChange(ctx, id, "revert", map[string]string{"reason": reason}, idempotencyKey)
}
