// Package client is a Go client for Steward's HTTP API, used by the steward command line,
// by the tests and by platform backends.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one Steward server with one API key.
type Client struct {
	base string
	key  string
	http *http.Client
}

// New returns a client for the server at baseURL (e.g. http://127.0.0.1:8080) using key.
// A nil hc means a client with a 10-minute timeout, enough for the largest import.
func New(baseURL, key string, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Minute}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), key: key, http: hc}
}

// FieldError names one offending field of a refused request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a problem the server answered (RFC 9457).
type Error struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail"`
	Errors    []FieldError `json:"errors,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
}

// Error returns the status, the detail and the fields at fault, one a line, except the
// first when the detail already says it (Steward's detail is "invalid FIELD: MESSAGE").
func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Detail)
	for i, f := range e.Errors {
		if i == 0 && strings.HasPrefix(e.Detail, "invalid "+f.Field+": "+f.Message) {
			continue
		}
		s += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
	}
	return s
}

// Request describes one call.
type Request struct {
	Method         string
	Path           string     // e.g. /v1/accounts/a1
	Query          url.Values //
	Body           []byte     // sent as is
	ContentType    string     // default application/json
	IdempotencyKey string     //
	MaxBody        int64      // the most bytes of answer to read; 0 for no limit
}

// Do sends req and decodes a 2xx JSON answer into out (unless nil). Any other answer is
// returned as an *Error. It returns the status code.
func (c *Client) Do(ctx context.Context, req Request, out any) (int, error) {
	resp, err := c.Send(ctx, req, out)
	return resp.Status, err
}

// Response is what a server answered.
type Response struct {
	Status int
	// Replayed says the server answered with its first answer to this Idempotency-Key
	// (Idempotent-Replayed: true), not applying the request again.
	Replayed bool
}

// Send sends req and decodes a 2xx JSON answer into out (unless nil), as Do does, and
// returns what else the answer says. It never returns a nil *Response.
func (c *Client) Send(ctx context.Context, req Request, out any) (*Response, error) {
	b, resp, err := c.send(ctx, req)
	if err != nil || out == nil {
		return resp, err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return resp, fmt.Errorf("%s %s: decoding the answer: %w", req.Method, req.Path, err)
	}
	return resp, nil
}

// Raw sends req and returns a 2xx answer's body as it came, for answers that are not
// JSON (a text/plain checkpoint). Any other answer is returned as an *Error. It returns
// the status code.
func (c *Client) Raw(ctx context.Context, req Request) ([]byte, int, error) {
	b, resp, err := c.send(ctx, req)
	return b, resp.Status, err
}

// send makes one request; its *Response is never nil.
func (c *Client) send(ctx context.Context, req Request) ([]byte, *Response, error) {
	out := &Response{}
	u := c.base + req.Path
	if len(req.Query) > 0 {
		u += "?" + req.Query.Encode()
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u, body)
	if err != nil {
		return nil, out, err
	}
	if c.key != "" {
		hr.Header.Set("Authorization", "Bearer "+c.key)
	}
	if req.Body != nil {
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	if req.IdempotencyKey != "" {
		hr.Header.Set("Idempotency-Key", req.IdempotencyKey)
	}
	resp, err := c.http.Do(hr)
	if err != nil {
		return nil, out, err
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	var r io.Reader = resp.Body
	if req.MaxBody > 0 {
		r = io.LimitReader(r, req.MaxBody+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, out, fmt.Errorf("%s %s: reading the answer: %w", req.Method, req.Path, err)
	}
	if req.MaxBody > 0 && int64(len(b)) > req.MaxBody {
		return nil, out, fmt.Errorf("%s %s: the answer is over %d bytes", req.Method, req.Path, req.MaxBody)
	}
	if resp.StatusCode/100 != 2 {
		e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
		if json.Unmarshal(b, e) != nil || e.Detail == "" {
			e.Detail = strings.TrimSpace(string(b))
		}
		return nil, out, e
	}
	out.Replayed = resp.Header.Get("Idempotent-Replayed") == "true"
	return b, out, nil
}
