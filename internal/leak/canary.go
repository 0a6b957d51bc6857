package leak

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/vault"
)

// Canary is an identity the platform controls (its phone, mailbox and address reach
// the platform's own systems), blended into shares: a call or message to it, or its
// values in a leaked sample, names the shares that carried it.
type Canary struct {
	ID        string    `json:"id"`
	PII       vault.PII `json:"pii"` // normalised; the fields a share may ask for
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

var canaryID = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

func canaryKey(id string) string { return "canary:" + id }

// PutCanary checks and creates or replaces a canary, reporting whether it created it.
// Returns errs.Invalid naming every field at fault.
func (s *Service) PutCanary(ctx context.Context, id string, p vault.PII) (c *Canary, created bool, err error) {
	var fs errs.Fields
	if !canaryID.MatchString(id) {
		fs.Add("id", "must be a lower-case letter or digit, then up to 63 lower-case letters, digits or _ . -")
	}
	if len(p.Extra) > 0 {
		fs.Add("extra", "a canary carries only the fields a share carries: %v", shareable)
	}
	n, err := vault.Normalize(p)
	if err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	} else if len(n.Present()) == 0 {
		fs.Add("pii", "must hold at least one of %v", shareable)
	}
	if err := fs.Err(); err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	c = &Canary{ID: id, PII: *n, CreatedAt: now, UpdatedAt: now}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		old, err := s.store.GetCanary(ctx, id)
		switch {
		case err == nil:
			c.CreatedAt = old.CreatedAt
		case errs.CodeOf(err) != errs.NotFound:
			return err
		}
		if created, err = s.store.PutCanary(ctx, c); err != nil {
			return err
		}
		fields := n.Present()
		return s.audit.Record(ctx, audit.Change{Action: ActionCanaryPut, Subject: "canary:" + id,
			Value: map[string]any{"fields": fields}, Fields: fields})
	})
	return c, created, err
}

// GetCanary returns a canary. Returns errs.NotFound when there is none.
func (s *Service) GetCanary(ctx context.Context, id string) (*Canary, error) {
	return s.store.GetCanary(ctx, id)
}

// pickCanaries chooses canaries holding every one of fields, at least s.per of them (or
// every one there is), as a set no share carries yet; none when there are no such
// canaries. Returns errs.Conflict when every set is taken.
func (s *Service) pickCanaries(ctx context.Context, fields []string) ([]*Canary, error) {
	all, err := s.store.Canaries(ctx)
	if err != nil {
		return nil, err
	}
	pool := slices.DeleteFunc(all, func(c *Canary) bool {
		return slices.ContainsFunc(fields, func(f string) bool { return !slices.Contains(c.PII.Present(), f) })
	})
	if len(pool) == 0 {
		return nil, nil
	}
	const tries = 32
	for k := min(s.per, len(pool)); k <= len(pool); k++ {
		for range tries {
			rand.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
			set := slices.Clone(pool[:k])
			slices.SortFunc(set, func(a, b *Canary) int { return strings.Compare(a.ID, b.ID) })
			taken, err := s.store.CanarySetTaken(ctx, CanarySetKey(ids(set)))
			if err != nil {
				return nil, err
			}
			if !taken {
				return set, nil
			}
			if k == len(pool) {
				break
			}
		}
	}
	return nil, errs.E(errs.Conflict, "every set of the %d canaries holding %v is carried by a share already: add canaries (PUT /v1/canaries/{id})", len(pool), fields)
}

func ids(cs []*Canary) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

// CanarySetKey is the key of a set of canaries (their IDs, sorted): the hex SHA-256 of
// the IDs joined.
func CanarySetKey(sorted []string) string {
	sum := sha256.Sum256([]byte(strings.Join(sorted, "\n")))
	return hex.EncodeToString(sum[:])
}

// Hit is a call, message or visit that reached a canary.
type Hit struct {
	At      time.Time `json:"at"`
	Channel string    `json:"channel"` // phone, sms, email, post, …
	Detail  string    `json:"detail,omitempty"`
}

// HitReply names the shares that carried the canary a hit reached.
type HitReply struct {
	Canary     string   `json:"canary"`
	Shares     []string `json:"shares"`
	Recipients []string `json:"recipients"`
}

var channelName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// maxDetail is the longest detail of a hit, in bytes.
const maxDetail = 1000

// RecordHit records that a canary was reached and raises a leak.canary_hit security
// alert naming the shares that carried it, in one transaction.
// Returns errs.Invalid naming every field at fault, errs.NotFound when there is no such
// canary.
func (s *Service) RecordHit(ctx context.Context, id string, h Hit) (*HitReply, error) {
	var fs errs.Fields
	if h.At.IsZero() {
		fs.Add("at", "is required: when the canary was reached (RFC 3339)")
	} else if h.At.After(s.now().Add(time.Hour)) {
		fs.Add("at", "is in the future")
	}
	if !channelName.MatchString(h.Channel) {
		fs.Add("channel", "must be a lower-case name such as phone, sms or email")
	}
	if len(h.Detail) > maxDetail || strings.ContainsFunc(h.Detail, func(r rune) bool { return r < ' ' && r != '\n' || r == 0x7f }) {
		fs.Add("detail", "must be at most %d bytes without control characters", maxDetail)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	var out *HitReply
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		if _, err := s.store.GetCanary(ctx, id); err != nil {
			return err
		}
		shares, err := s.store.SharesCarrying(ctx, id)
		if err != nil {
			return err
		}
		out = &HitReply{Canary: id, Shares: []string{}, Recipients: []string{}}
		for _, sh := range shares {
			out.Shares = append(out.Shares, sh.ID)
			if !slices.Contains(out.Recipients, sh.Recipient) {
				out.Recipients = append(out.Recipients, sh.Recipient)
			}
		}
		cx := map[string]string{"channel": h.Channel, "shares": strings.Join(out.Shares, ",")}
		if err := s.audit.Record(ctx, audit.Change{Action: ActionCanaryHit, Subject: "canary:" + id,
			Value: map[string]any{"at": h.At.UTC(), "channel": h.Channel, "shares": out.Shares}, Context: cx}); err != nil {
			return err
		}
		if s.alert == nil {
			return nil
		}
		return s.alert.Alert(ctx, Alert{Kind: ActionCanaryHit, Canary: id, Channel: h.Channel, Detail: h.Detail,
			At: h.At.UTC(), Shares: out.Shares, Recipients: out.Recipients})
	})
	return out, err
}
