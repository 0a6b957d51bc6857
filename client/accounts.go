package client

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"time"
)

// Account is an account as the API shows it.
type Account struct {
	ID         string         `json:"id"`
	Region     string         `json:"region"`
	Verified   bool           `json:"verified"`
	CreatedAt  time.Time      `json:"created_at"`
	Locale     string         `json:"locale"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Linked     []Link         `json:"linked,omitempty"`
	UpdatedAt  time.Time      `json:"updated_at,omitzero"`
}

// Link names an account on another service.
type Link struct {
	Service string `json:"service"`
	Account string `json:"account"`
}

// PutAccount creates or replaces a; it reports whether it created it.
func (c *Client) PutAccount(ctx context.Context, a *Account, idempotencyKey string) (*Account, bool, error) {
	in := *a
	in.UpdatedAt = time.Time{}
	body, err := json.Marshal(&in)
	if err != nil {
		return nil, false, err
	}
	var out Account
	status, err := c.Do(ctx, Request{Method: "PUT", Path: "/v1/accounts/" + url.PathEscape(a.ID), Body: body, IdempotencyKey: idempotencyKey}, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, status == 201, nil
}

// GetAccount returns the account with id.
func (c *Client) GetAccount(ctx context.Context, id string) (*Account, error) {
	var out Account
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/accounts/" + url.PathEscape(id)}, &out)
	return &out, err
}

// AccountPage is one page of accounts.
type AccountPage struct {
	Accounts []*Account `json:"accounts"`
	Next     string     `json:"next,omitempty"`
}

// ListAccounts returns a page of accounts in ID order; region may be empty.
func (c *Client) ListAccounts(ctx context.Context, region, cursor string, limit int) (*AccountPage, error) {
	q := url.Values{}
	if region != "" {
		q.Set("region", region)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out AccountPage
	_, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/accounts", Query: q}, &out)
	return &out, err
}

// ImportResult counts what an import did.
type ImportResult struct {
	Created  int `json:"created"`
	Replaced int `json:"replaced"`
	// Replayed says these counts are of an earlier request with the same Idempotency-Key,
	// and this one changed nothing (from the answer's Idempotent-Replayed header).
	Replayed bool `json:"-"`
}

// ImportAccounts sends up to 100,000 NDJSON lines in one all-or-nothing request.
func (c *Client) ImportAccounts(ctx context.Context, ndjson []byte, idempotencyKey string) (ImportResult, error) {
	var out ImportResult
	resp, err := c.Send(ctx, Request{Method: "POST", Path: "/v1/accounts:import", Body: ndjson,
		ContentType: "application/x-ndjson", IdempotencyKey: idempotencyKey}, &out)
	out.Replayed = resp.Replayed
	return out, err
}
