package client

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// maxAuditAnswer bounds what a witness reads from a server it does not trust.
const maxAuditAnswer = 16 << 20

// AuditVerifierKey returns the note verifier key (name+hash+key) that checks the audit
// log's checkpoints.
func (c *Client) AuditVerifierKey(ctx context.Context) (string, error) {
	b, _, err := c.Raw(ctx, Request{Method: "GET", Path: "/v1/audit/verifier-key", MaxBody: maxAuditAnswer})
	return strings.TrimSpace(string(b)), err
}

// AuditCheckpoint returns the audit log's latest checkpoint: a signed note, as served.
func (c *Client) AuditCheckpoint(ctx context.Context) ([]byte, error) {
	b, _, err := c.Raw(ctx, Request{Method: "GET", Path: "/v1/audit/checkpoint", MaxBody: maxAuditAnswer})
	return b, err
}

// AuditConsistencyProof returns the hashes proving that the audit log's tree of size to
// extends its tree of size from, bottom up; an error if the server answers for other sizes.
func (c *Client) AuditConsistencyProof(ctx context.Context, from, to int64) ([][]byte, error) {
	q := url.Values{"from": {strconv.FormatInt(from, 10)}, "to": {strconv.FormatInt(to, 10)}}
	var p struct {
		From   int64    `json:"from"`
		To     int64    `json:"to"`
		Hashes [][]byte `json:"hashes"` // standard base64
	}
	if _, err := c.Do(ctx, Request{Method: "GET", Path: "/v1/audit/proof/consistency", Query: q, MaxBody: maxAuditAnswer}, &p); err != nil {
		return nil, err
	}
	if p.From != from || p.To != to {
		return nil, fmt.Errorf("consistency proof: asked for %d to %d, got %d to %d", from, to, p.From, p.To)
	}
	return p.Hashes, nil
}
