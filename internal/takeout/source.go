package takeout

import (
	"context"
	"net/http"
	"regexp"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
)

// Source is an export source: a platform service holding what Steward does not (photos,
// mail, contacts, game saves), which Steward asks for its part of every export.
type Source struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Secret    string    `json:"-"` // signs Steward's requests; sealed at rest
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	checked string // the URL CheckSource found reachable
}

// Audit actions of export sources; the subject is "export-source:" + name, the value
// never holds the secret.
const (
	ActionSourcePut    = "export_source.put"
	ActionSourceDelete = "export_source.delete"
	ActionPartReceived = "export.part_received" // a source's part arrived; subject the account
)

// Reach is where Steward may call sources: the webhook URL policy (notify.Reach, which
// takeout may not import).
type Reach interface {
	// CheckURL says what is wrong with rawURL as a source's address, or "" when none.
	CheckURL(ctx context.Context, rawURL string) string
	// Client returns the HTTP client that calls sources.
	Client(timeout time.Duration) *http.Client
}

// Signer returns the signature header of body sent at t with secret: the webhook
// signature scheme (notify.Sign).
type Signer func(secret string, t time.Time, body []byte) string

var sourceName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// MinSecret is the shortest secret a source may have, in bytes, as for webhooks.
const MinSecret = 16

// CheckSource validates src as PutSource does, resolving its URL's host: call it before
// the write transaction that puts src, so that PutSource does not resolve it inside.
// Returns errs.Invalid naming every field at fault.
func (s *Service) CheckSource(ctx context.Context, src *Source) error {
	src.checked = ""
	if err := s.checkSource(ctx, src); err != nil {
		return err
	}
	src.checked = src.URL
	return nil
}

func (s *Service) checkSource(ctx context.Context, src *Source) error {
	var fs errs.Fields
	if !sourceName.MatchString(src.Name) {
		fs.Add("name", "must be 1 to 64 lowercase letters, digits, _ . or -, starting with a letter")
	}
	switch {
	case src.URL == "":
		fs.Add("url", "is required")
	case s.cfg.Reach == nil:
		fs.Add("url", "no source may be called: this server has no outgoing policy")
	case src.checked != src.URL:
		if msg := s.cfg.Reach.CheckURL(ctx, src.URL); msg != "" {
			fs.Add("url", "%s", msg)
		}
	}
	if len(src.Secret) < MinSecret || len(src.Secret) > 256 {
		fs.Add("secret", "must be %d to 256 bytes", MinSecret)
	}
	return fs.Err()
}

// PutSource validates and creates or replaces a source, reporting whether it created
// it. Returns errs.Invalid naming every field at fault, among them a URL the Reach
// refuses.
func (s *Service) PutSource(ctx context.Context, src *Source) (created bool, err error) {
	if err := s.checkSource(ctx, src); err != nil {
		return false, err
	}
	now := s.now()
	err = s.d.Tx.Write(ctx, func(ctx context.Context) error {
		switch old, err := s.d.Store.GetSource(ctx, src.Name); {
		case err == nil:
			src.CreatedAt = old.CreatedAt
		case errs.CodeOf(err) == errs.NotFound:
			src.CreatedAt = now
		default:
			return err
		}
		src.UpdatedAt = now
		if created, err = s.d.Store.PutSource(ctx, src); err != nil {
			return err
		}
		return s.d.Audit.Record(ctx, audit.Change{Action: ActionSourcePut, Subject: "export-source:" + src.Name, Value: src})
	})
	return created, err
}

// GetSource returns a source. Returns errs.NotFound when there is none.
func (s *Service) GetSource(ctx context.Context, name string) (*Source, error) {
	return s.d.Store.GetSource(ctx, name)
}

// Sources returns every source, in name order.
func (s *Service) Sources(ctx context.Context) ([]*Source, error) { return s.d.Store.Sources(ctx) }

// DeleteSource removes a source and returns it as it was; exports under way stop
// asking it. Returns errs.NotFound when there is none.
func (s *Service) DeleteSource(ctx context.Context, name string) (*Source, error) {
	var out *Source
	err := s.d.Tx.Write(ctx, func(ctx context.Context) (err error) {
		if out, err = s.d.Store.DeleteSource(ctx, name); err != nil {
			return err
		}
		return s.d.Audit.Record(ctx, audit.Change{Action: ActionSourceDelete, Subject: "export-source:" + name, Value: out})
	})
	return out, err
}
