package client

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
)

// Appeal is an appeal as the API shows staff, kept as the server sent it besides the
// fields a caller acts on.
type Appeal struct {
	ID       string `json:"id"`
	Account  string `json:"account"`
	Sanction string `json:"sanction"`
	State    string `json:"state"`
	Priority int64  `json:"priority"`
	Outcome  string `json:"outcome,omitempty"`
	// Raw is the whole appeal as the server sent it.
	Raw json.RawMessage `json:"-"`
}

func (a *Appeal) UnmarshalJSON(b []byte) error {
	type plain Appeal
	if err := json.Unmarshal(b, (*plain)(a)); err != nil {
		return err
	}
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// AppealFilter selects appeals to list.
type AppealFilter struct {
	State, BulkAction, Policy string
}

// ListAppeals returns a page of appeals and the cursor of the next ("" on the last).
func (c *Client) ListAppeals(ctx context.Context, f AppealFilter, cursor string, limit int) ([]Appeal, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"state": f.State, "bulk_action": f.BulkAction, "policy": f.Policy, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out struct {
		Appeals []Appeal `json:"appeals"`
		Next    string   `json:"next"`
	}
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/appeals", Query: q}, &out)
	return out.Appeals, out.Next, err
}

// ClaimAppeals leases up to n open appeals to the caller for lease (e.g. "15m").
func (c *Client) ClaimAppeals(ctx context.Context, n int, lease, idempotencyKey string) ([]Appeal, error) {
	body, _ := json.Marshal(map[string]any{"n": n, "lease": lease})
	var out struct {
		Appeals []Appeal `json:"appeals"`
	}
	_, err := c.Do(ctx, Request{Method: "POST", Path: "/v1/appeals:claim", Body: body, IdempotencyKey: idempotencyKey}, &out)
	return out.Appeals, err
}

// AppealDecision is a reviewer's decision.
type AppealDecision struct {
	Outcome string `json:"outcome"`
	Note    string `json:"note"`
	Until   string `json:"until,omitempty"` // reduce: RFC 3339
}

// DecideAppeal decides an appeal the caller holds.
func (c *Client) DecideAppeal(ctx context.Context, id string, d AppealDecision, idempotencyKey string) (*Appeal, error) {
	body, _ := json.Marshal(d)
	var out Appeal
	_, err := c.Do(ctx, Request{Method: "POST", Path: "/v1/appeals/" + url.PathEscape(id) + "/decision", Body: body, IdempotencyKey: idempotencyKey}, &out)
	return &out, err
}

// AppealStats returns the appeals' statistics as the server sent them.
func (c *Client) AppealStats(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/appeals/stats"}, &out)
	return out, err
}
