package client

import (
	"context"
	"encoding/json"
	"net/url"
)

// Export is a data export as the API shows it, kept as the server sent it besides the
// fields a caller acts on.
type Export struct {
	ID       string `json:"id"`
	Account  string `json:"account"`
	State    string `json:"state"` // queued, collecting, done, failed or expired
	Progress struct {
		Done  int `json:"done"`
		Total int `json:"total"`
	} `json:"progress"`
	// Raw is the whole export as the server sent it.
	Raw json.RawMessage `json:"-"`
}

func (e *Export) UnmarshalJSON(b []byte) error {
	type plain Export
	if err := json.Unmarshal(b, (*plain)(e)); err != nil {
		return err
	}
	e.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// StartExport starts an export of the account's data on its holder's behalf (an agent's
// key).
func (c *Client) StartExport(ctx context.Context, account, idempotencyKey string) (*Export, error) {
	var out Export
	_, err := c.Do(ctx, Request{Method: "POST", Path: "/v1/accounts/" + url.PathEscape(account) + "/exports", IdempotencyKey: idempotencyKey}, &out)
	return &out, err
}

// Export returns one of the account's exports.
func (c *Client) Export(ctx context.Context, account, id string) (*Export, error) {
	var out Export
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/accounts/" + url.PathEscape(account) + "/exports/" + url.PathEscape(id)}, &out)
	return &out, err
}

// PutExportSource creates or replaces an export source (an admin's key).
func (c *Client) PutExportSource(ctx context.Context, name, sourceURL, secret, idempotencyKey string) (json.RawMessage, error) {
	body, _ := json.Marshal(map[string]string{"url": sourceURL, "secret": secret})
	var out json.RawMessage
	_, err := c.Do(ctx, Request{Method: "PUT", Path: "/v1/export-sources/" + url.PathEscape(name), Body: body, IdempotencyKey: idempotencyKey}, &out)
	return out, err
}

// ExportSources returns every export source (never their secrets).
func (c *Client) ExportSources(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/export-sources"}, &out)
	return out, err
}

// DeleteExportSource removes an export source and returns it.
func (c *Client) DeleteExportSource(ctx context.Context, name string) (json.RawMessage, error) {
	var out json.RawMessage
	_, err := c.Do(ctx, Request{Method: "DELETE", Path: "/v1/export-sources/" + url.PathEscape(name)}, &out)
	return out, err
}
