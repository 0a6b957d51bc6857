package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
)

var evidenceRoles = []principal.Role{principal.Agent, principal.Compliance, principal.Security}

// maxEvidenceBody bounds a record's body: a long chat of 10,000 messages fits at
// about 800 bytes a message.
const maxEvidenceBody = 8 << 20

func (s *server) evidenceRoutes() []route {
	return []route{
		{Method: "POST", Path: "/v1/evidence", Roles: evidenceRoles, MaxBody: maxEvidenceBody,
			Summary: `Stores a record, sealed under the vault's keys: a chat transcript ("kind": "chat", "messages": [{"at", "from", "text"}], up to 10,000) or a call ("kind": "call", "recording": {"sha256"}); the audit entry carries the SHA-256 of its canonical JSON.`,
			Request: evidenceBody{}, Reply: leak.Evidence{}, Status: http.StatusCreated, write: s.storeEvidence},
		{Method: "GET", Path: "/v1/evidence/{id}", Roles: evidenceRoles,
			Summary: "Returns a record, its content checked against its SHA-256, and its audit entry with the leaf bytes and inclusion proof against the latest signed checkpoint (as GET /v1/audit/entries?subject=); an agent reads only the records it stored.",
			Reply:   evidenceReply{}, handle: s.getEvidence},
		{Method: "POST", Path: "/v1/evidence/{id}/compare", Roles: evidenceRoles,
			Summary: "Compares a presented sequence of messages (up to 1,000; at may be left out) with a chat record: which it has, which it has not, which are out of the recorded order (longest common subsequence), which recorded ones were left out.",
			Request: compareBody{}, Reply: leak.EvidenceComparison{}, write: s.compareEvidence},
	}
}

// evidenceMessage is a message as sent: its time is parsed here so that a bad one is
// named by its place.
type evidenceMessage struct {
	At   string `json:"at"` // RFC 3339
	From string `json:"from"`
	Text string `json:"text"`
}

type evidenceBody struct {
	Kind      leak.EvidenceKind       `json:"kind"`
	Account   string                  `json:"account"`
	Reference string                  `json:"reference,omitempty"`
	Messages  []evidenceMessage       `json:"messages,omitempty"`
	Recording *leak.EvidenceRecording `json:"recording,omitempty"`
}

type compareBody struct {
	Messages []evidenceMessage `json:"messages"`
}

// evidenceReply is a record with its content and its anchor in the audit log.
type evidenceReply struct {
	Evidence *leak.Evidence `json:"evidence"`
	// Content is the exact canonical JSON the SHA-256 is taken over.
	Content json.RawMessage `json:"content"`
	// Anchor is the record's audit entry with its proof, and the checkpoint it is proved
	// against; empty until the sequencer has put the entry in a checkpoint.
	Anchor  auditPage `json:"anchor"`
	Pending bool      `json:"pending"` // the entry is not in a signed checkpoint yet
}

// parseMessages returns ms with their times, and a fault per bad time.
func parseMessages(fs *errs.Fields, ms []evidenceMessage) []leak.EvidenceMessage {
	out := make([]leak.EvidenceMessage, len(ms))
	for i, m := range ms {
		at, err := parseTime("messages["+strconv.Itoa(i)+"].at", m.At)
		if err != nil && len(*fs) < 20 {
			*fs = append(*fs, errs.FieldsOf(err)...)
		}
		out[i] = leak.EvidenceMessage{At: at, From: m.From, Text: m.Text}
	}
	return out
}

func (s *server) storeEvidence(r *http.Request, body []byte) (applyFunc, error) {
	var b evidenceBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	var fs errs.Fields
	req := leak.EvidenceRequest{Kind: b.Kind, Account: b.Account, Reference: b.Reference,
		EvidenceContent: leak.EvidenceContent{Messages: parseMessages(&fs, b.Messages), Recording: b.Recording}}
	if len(b.Messages) == 0 {
		req.Messages = nil
	}
	// Every fault at once: the times' own, then the rest (a bad time reads as missing).
	for _, f := range errs.FieldsOf(s.Evidence.Check(req)) {
		if !slices.ContainsFunc(fs, func(g errs.FieldError) bool { return g.Field == f.Field }) {
			fs = append(fs, f)
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		e, err := s.Evidence.Store(ctx, req)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, e, nil
	}, nil
}

func (s *server) getEvidence(r *http.Request) (int, any, error) {
	ctx := r.Context()
	e, c, err := s.Evidence.Get(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	canon, err := json.Marshal(c)
	if err != nil {
		return 0, nil, err
	}
	page, err := s.Audit.Entries(ctx, audit.Filter{Subject: leak.EvidenceSubject(e.ID), Limit: 100})
	if err != nil {
		return 0, nil, err
	}
	out := evidenceReply{Evidence: e, Content: canon, Anchor: auditPageOf(page), Pending: true}
	kept := out.Anchor.Entries[:0]
	for _, en := range out.Anchor.Entries {
		if en.Action == "evidence.store" {
			kept, out.Pending = append(kept, en), false
		}
	}
	out.Anchor.Entries = kept
	return http.StatusOK, out, nil
}

func (s *server) compareEvidence(r *http.Request, body []byte) (applyFunc, error) {
	var b compareBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	var fs errs.Fields
	ms := parseMessages(&fs, b.Messages)
	if err := fs.Err(); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		cmp, err := s.Evidence.Compare(ctx, id, ms)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, cmp, nil
	}, nil
}
