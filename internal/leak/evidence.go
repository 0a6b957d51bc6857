package leak

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/txn"
)

// EvidenceKind is what an evidence record holds.
type EvidenceKind string

const (
	EvidenceChat EvidenceKind = "chat" // a complete chat transcript
	EvidenceCall EvidenceKind = "call" // a call recording, by its hash (the audio stays where it is)
)

// Limits on evidence.
const (
	MaxEvidenceMessages = 10_000
	MaxEvidenceText     = 4000 // characters of one message
	MaxEvidenceFrom     = 128  // characters of a sender
	MaxEvidenceRef      = 128  // characters of a reference
)

// EvidenceMessage is one message of a chat.
type EvidenceMessage struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	Text string    `json:"text"`
}

// EvidenceRecording names a call recording kept elsewhere.
type EvidenceRecording struct {
	SHA256   string `json:"sha256"`             // hex SHA-256 of the recording's bytes
	Duration string `json:"duration,omitempty"` // e.g. 12m30s
}

// EvidenceContent is what a record keeps sealed: its canonical JSON is what the
// SHA-256 anchored in the audit log is taken over.
type EvidenceContent struct {
	Messages  []EvidenceMessage  `json:"messages,omitempty"`
	Recording *EvidenceRecording `json:"recording,omitempty"`
}

// EvidenceRequest is a record as staff store it.
type EvidenceRequest struct {
	Kind      EvidenceKind `json:"kind"`
	Account   string       `json:"account"`             // whose conversation it is
	Reference string       `json:"reference,omitempty"` // e.g. the complaint or ticket
	EvidenceContent
}

// Evidence is a stored record, without its content.
type Evidence struct {
	ID        string              `json:"id"`
	Kind      EvidenceKind        `json:"kind"`
	Account   string              `json:"account"`
	Reference string              `json:"reference,omitempty"`
	Messages  int                 `json:"messages"`
	SHA256    string              `json:"sha256"` // of the content's canonical JSON
	CreatedAt time.Time           `json:"created_at"`
	CreatedBy principal.Principal `json:"created_by"`
}

// EvidenceStore keeps evidence records, each with its content sealed. Writes must be
// called inside a write transaction (see package txn).
type EvidenceStore interface {
	// CreateEvidence stores a new record and its sealed content.
	CreateEvidence(ctx context.Context, e *Evidence, sealed string) error
	// Evidence returns the record and its sealed content. Returns errs.NotFound.
	Evidence(ctx context.Context, id string) (*Evidence, string, error)
}

// EvidenceSealer seals content under the vault's keys, bound to what it is for
// (vault.Service implements it).
type EvidenceSealer interface {
	SealSecret(ctx context.Context, purpose, secret string) (string, error)
	OpenSecret(ctx context.Context, purpose, sealed string) (string, error)
}

// EvidenceService keeps evidence sealed, anchored in the audit log, and compares what
// a party presents with it.
type EvidenceService struct {
	store    EvidenceStore
	accounts accounts.Store
	tx       txn.Runner
	rec      *audit.Recorder
	sealer   EvidenceSealer
	now      func() time.Time
}

// NewEvidence returns the evidence service.
func NewEvidence(store EvidenceStore, accts accounts.Store, tx txn.Runner, rec *audit.Recorder, sealer EvidenceSealer) *EvidenceService {
	return &EvidenceService{store: store, accounts: accts, tx: tx, rec: rec, sealer: sealer, now: time.Now}
}

// EvidenceSubject is the audit subject of a record's entries.
func EvidenceSubject(id string) string { return "evidence:" + id }

func evidencePurpose(id string) string { return "evidence:" + id }

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkEvidence returns every fault of r at once.
func checkEvidence(r *EvidenceRequest) error {
	var fs errs.Fields
	if err := accounts.CheckID("account", r.Account); err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	}
	if n := len([]rune(r.Reference)); n > MaxEvidenceRef {
		fs.Add("reference", "at most %d characters", MaxEvidenceRef)
	}
	switch r.Kind {
	case EvidenceChat:
		if r.Recording != nil {
			fs.Add("recording", "a chat has messages, not a recording")
		}
		checkMessages(&fs, "messages", r.Messages, true)
	case EvidenceCall:
		if len(r.Messages) > 0 {
			fs.Add("messages", "a call has a recording's hash, not messages")
		}
		switch {
		case r.Recording == nil:
			fs.Add("recording", `is required: {"sha256": hex}`)
		case !sha256Pattern.MatchString(r.Recording.SHA256):
			fs.Add("recording.sha256", "must be 64 lower-case hex digits")
		}
		if r.Recording != nil && r.Recording.Duration != "" {
			if d, err := time.ParseDuration(r.Recording.Duration); err != nil || d <= 0 {
				fs.Add("recording.duration", "must be a positive duration such as 12m30s")
			}
		}
	default:
		fs.Add("kind", "must be chat or call")
	}
	return fs.Err()
}

// checkMessages adds the faults of ms; a record's messages need times, a presented
// sequence's may lack them (a screenshot may not show them).
func checkMessages(fs *errs.Fields, field string, ms []EvidenceMessage, needAt bool) {
	switch {
	case len(ms) == 0:
		fs.Add(field, "name at least one message")
	case len(ms) > MaxEvidenceMessages:
		fs.Add(field, "at most %d messages, not %d", MaxEvidenceMessages, len(ms))
		return
	}
	for i, m := range ms {
		f := fieldAt(field, i)
		if needAt && m.At.IsZero() {
			fs.Add(f+".at", "is required")
		}
		if strings.TrimSpace(m.From) == "" || len([]rune(m.From)) > MaxEvidenceFrom {
			fs.Add(f+".from", "is required, at most %d characters", MaxEvidenceFrom)
		}
		if len([]rune(m.Text)) > MaxEvidenceText {
			fs.Add(f+".text", "at most %d characters", MaxEvidenceText)
		}
		if len(*fs) > 20 { // enough to fix; the rest come next time
			return
		}
	}
}

// Check returns every fault of r at once, as Store would, writing nothing.
func (s *EvidenceService) Check(r EvidenceRequest) error { return checkEvidence(&r) }

// Store seals the record's content under the vault's keys and stores it, with an audit
// entry whose context carries the content's SHA-256, in one transaction. Returns
// errs.Invalid naming every fault, an unknown account among them.
func (s *EvidenceService) Store(ctx context.Context, r EvidenceRequest) (*Evidence, error) {
	if err := checkEvidence(&r); err != nil {
		return nil, err
	}
	for i := range r.Messages {
		r.Messages[i].At = r.Messages[i].At.UTC()
	}
	if _, err := s.accounts.Get(ctx, r.Account); errs.CodeOf(err) == errs.NotFound {
		return nil, errs.Field("account", "no account %q", r.Account)
	} else if err != nil {
		return nil, err
	}
	canon, err := json.Marshal(r.EvidenceContent)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(canon)
	e := &Evidence{ID: uuid.Must(uuid.NewV7()).String(), Kind: r.Kind, Account: r.Account, Reference: r.Reference,
		Messages: len(r.Messages), SHA256: hex.EncodeToString(sum[:]), CreatedAt: s.now().UTC(), CreatedBy: principal.FromContext(ctx)}
	sealed, err := s.sealer.SealSecret(ctx, evidencePurpose(e.ID), string(canon))
	if err != nil {
		return nil, err
	}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.store.CreateEvidence(ctx, e, sealed); err != nil {
			return err
		}
		return s.rec.Record(ctx, audit.Change{Action: "evidence.store", Subject: EvidenceSubject(e.ID), Value: e,
			Context: map[string]string{"sha256": e.SHA256, "kind": string(e.Kind)}})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Get returns the record and its content, opened and checked against its SHA-256. An
// agent reaches only the records it stored. Returns errs.NotFound, errs.Forbidden, and
// errs.Conflict for content that no longer matches its hash.
func (s *EvidenceService) Get(ctx context.Context, id string) (*Evidence, *EvidenceContent, error) {
	e, sealed, err := s.store.Evidence(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if p := principal.FromContext(ctx); p.Role == principal.Agent && p.Name != e.CreatedBy.Name {
		return nil, nil, errs.E(errs.Forbidden, "evidence %s was stored by someone else: an agent reads only the records it stored", id)
	}
	plain, err := s.sealer.OpenSecret(ctx, evidencePurpose(id), sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("leak.Evidence.Get %s: %w", id, err)
	}
	if sum := sha256.Sum256([]byte(plain)); hex.EncodeToString(sum[:]) != e.SHA256 {
		return nil, nil, errs.E(errs.Conflict, "evidence %s: its content no longer matches the SHA-256 it was stored with", id)
	}
	var c EvidenceContent
	if err := json.Unmarshal([]byte(plain), &c); err != nil {
		return nil, nil, fmt.Errorf("leak.Evidence.Get %s: %w", id, err)
	}
	return e, &c, nil
}
