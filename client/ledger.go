package client

import (
	"context"
	"encoding/json"
	"net/url"
	"time"
)

// Transfer is a transfer between ledger accounts (user:{account} or platform:{name}).
type Transfer struct {
	ID        string            `json:"id"` // the caller's: a retry with it returns the first result
	From      string            `json:"from"`
	To        string            `json:"to"`
	Amount    int64             `json:"amount"` // minor units
	Currency  string            `json:"currency"`
	Kind      string            `json:"kind,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"created_at,omitzero"`
}

// Transfer posts t and returns it as stored; replayed says it was posted before.
func (c *Client) Transfer(ctx context.Context, t *Transfer) (out *Transfer, replayed bool, err error) {
	in := *t
	in.CreatedAt = time.Time{}
	body, err := json.Marshal(&in)
	if err != nil {
		return nil, false, err
	}
	out = &Transfer{}
	status, err := c.Do(ctx, Request{Method: "POST", Path: "/v1/transfers", Body: body}, out)
	if err != nil {
		return nil, false, err
	}
	return out, status == 200, nil
}

// Balance is a wallet's money in one currency.
type Balance struct {
	Wallet    string `json:"wallet"`
	Currency  string `json:"currency"`
	Posted    int64  `json:"posted"`
	Held      int64  `json:"held"`
	Pending   int64  `json:"pending"`
	Available int64  `json:"available"`
}

// Wallets returns the balances of account's wallets, in currency order.
func (c *Client) Wallets(ctx context.Context, account string) ([]Balance, error) {
	var out struct {
		Wallets []Balance `json:"wallets"`
	}
	if _, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/accounts/" + url.PathEscape(account) + "/wallets"}, &out); err != nil {
		return nil, err
	}
	return out.Wallets, nil
}
