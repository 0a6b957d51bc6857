// Package audit records every change Steward makes as an append-only log entry, written
// in the same transaction as the change. Entries hold who, what, on which subject and a
// digest of the change, never the personal data itself.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/stewardhq/steward/internal/principal"
)

// Entry is one audit record. Its JSON encoding, with fields in this order and no
// insignificant space, is the leaf that the log commits to.
type Entry struct {
	Action string              `json:"action"` // e.g. "account.put"
	Actor  principal.Principal `json:"actor"`  // who made the change
	// ClientRequestID is the request ID the caller sent (X-Request-Id), as the caller
	// said it: a label, never Steward's own RequestID; absent when none was sent, so
	// entries from before it existed keep their bytes.
	ClientRequestID string `json:"client_request_id,omitempty"`
	// Context is what a reader of the entry needs besides the field names, e.g. the
	// purpose and ticket of a personal-data reveal; never a value. Absent when empty, so
	// entries from before it existed keep their bytes.
	Context   map[string]string `json:"context,omitempty"`
	Digest    string            `json:"digest"`     // hex SHA-256 of the change's canonical JSON
	Fields    []string          `json:"fields"`     // names of the change's top-level fields, sorted
	RequestID string            `json:"request_id"` // Steward's own ID of the request or work that caused it
	Subject   string            `json:"subject"`    // e.g. the account ID
	Time      time.Time         `json:"time"`       // UTC

	leaf []byte // Leaf's answer, when Recorder.Entries made e
}

// Leaf returns the canonical bytes of e.
func (e *Entry) Leaf() []byte {
	if e.leaf != nil {
		return e.leaf
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(fmt.Sprintf("audit: marshal entry: %v", err)) // only strings, a time and a slice
	}
	return b
}

// Store appends entries. Append must be called inside the write transaction of the
// change the entries record (see package txn).
type Store interface {
	Append(ctx context.Context, entries []*Entry) error
}

// Recorder builds entries from changes and appends them.
type Recorder struct {
	store Store
	now   func() time.Time
}

// NewRecorder returns a Recorder appending to store.
func NewRecorder(store Store) *Recorder {
	return &Recorder{store: store, now: time.Now}
}

// Change is one change to record.
type Change struct {
	Action  string
	Subject string
	Value   any               // the change's canonical form; marshalled to JSON for the digest
	Fields  []string          // the names of the fields it sets; when nil, Value's top-level keys
	Context map[string]string // see Entry.Context
}

// Record appends one entry per change, with the actor and request ID carried by ctx.
// Call it inside the change's write transaction.
func (r *Recorder) Record(ctx context.Context, changes ...Change) error {
	entries, err := r.Entries(ctx, changes...)
	if err != nil {
		return err
	}
	return r.store.Append(ctx, entries)
}

// Append appends entries made by Entries. Call it inside the change's write transaction.
func (r *Recorder) Append(ctx context.Context, entries []*Entry) error {
	return r.store.Append(ctx, entries)
}

// Entries makes one entry per change, with the actor and request ID carried by ctx,
// without writing them. A hot path calls it before its write transaction and Append
// inside it, so the encoding and hashing happen outside the one committer every write
// waits on.
func (r *Recorder) Entries(ctx context.Context, changes ...Change) ([]*Entry, error) {
	actor, reqID, clientID := principal.FromContext(ctx), RequestID(ctx), ClientRequestID(ctx)
	now := r.now().UTC()
	entries := make([]*Entry, len(changes))
	for i, c := range changes {
		canon, err := json.Marshal(c.Value)
		if err != nil {
			return nil, fmt.Errorf("audit: marshal %s: %w", c.Action, err)
		}
		sum := sha256.Sum256(canon)
		fields := c.Fields
		if fields == nil {
			fields = fieldNames(canon)
		}
		entries[i] = &Entry{
			Action:    c.Action,
			Actor:     actor,
			Context:   c.Context,
			Digest:    hex.EncodeToString(sum[:]),
			Fields:    fields,
			RequestID: reqID, ClientRequestID: clientID,
			Subject: c.Subject,
			Time:    now,
		}
		entries[i].leaf = entries[i].Leaf()
	}
	return entries, nil
}

// fieldNames lists the top-level keys of a JSON object, sorted; none for other values.
// canon is json.Marshal's output, so it is valid and compact: the keys are the strings
// at depth one followed by a colon. A key with an escape takes the slow path.
func fieldNames(canon []byte) []string {
	if len(canon) == 0 || canon[0] != '{' {
		return []string{}
	}
	names := []string{}
	depth := 0
	key, escaped := []byte(nil), false // the last string at depth one
	for i := 0; i < len(canon); i++ {
		switch canon[i] {
		case '"':
			start, esc := i, false
			for i++; i < len(canon) && canon[i] != '"'; i++ {
				if canon[i] == '\\' {
					esc = true
					i++
				}
			}
			if depth == 1 {
				key, escaped = canon[start+1:min(i, len(canon))], esc
			}
		case ':':
			if depth == 1 && key != nil {
				if escaped {
					return fieldNamesSlow(canon)
				}
				names = append(names, string(key))
				key = nil
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
	}
	slices.Sort(names)
	return names
}

// fieldNamesSlow is fieldNames by way of encoding/json.
func fieldNamesSlow(canon []byte) []string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(canon, &obj) != nil {
		return []string{}
	}
	names := make([]string, 0, len(obj))
	for k := range obj {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

type requestKey struct{}

// WithRequestID returns a context whose changes are recorded as caused by request id: an
// API request's ID, or a worker's name for its own work (e.g. "bulk:" and the action).
// Who made them is the principal in ctx (see package principal).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestKey{}, id)
}

// RequestID returns the request ID set by WithRequestID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestKey{}).(string)
	return id
}

type clientRequestKey struct{}

// WithClientRequestID returns a context whose changes record id as the request ID their
// caller sent: kept apart from Steward's own, since a caller may send anything.
func WithClientRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, clientRequestKey{}, id)
}

// ClientRequestID returns the ID set by WithClientRequestID, or "".
func ClientRequestID(ctx context.Context) string {
	id, _ := ctx.Value(clientRequestKey{}).(string)
	return id
}
