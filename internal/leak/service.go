package leak

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/txn"
	"github.com/stewardhq/steward/internal/vault"
)

// Audit actions of leak tracing.
const (
	ActionShare       = "leak.share"       // subject share:ID; value: recipient, purpose, fields, counts, commitment
	ActionCanaryPut   = "leak.canary.put"  // subject canary:ID; field names only
	ActionCanaryHit   = "leak.canary_hit"  // subject canary:ID; context: channel, shares
	ActionInvestigate = "leak.investigate" // subject leak:ID; value: rows, matched, ranked suspects
)

// Alert is a security alert of leak tracing: a canary was reached (Kind
// "leak.canary_hit"), or a member of staff's access was unusual (AlertInsider).
type Alert struct {
	Kind       string    `json:"kind"`
	Canary     string    `json:"canary,omitempty"`
	Channel    string    `json:"channel,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	At         time.Time `json:"at"`
	Shares     []string  `json:"shares,omitempty"`     // the shares that carried the canary
	Recipients []string  `json:"recipients,omitempty"` // their recipients

	Actor     string    `json:"actor,omitempty"`     // insider: the key's name
	Pseudonym string    `json:"pseudonym,omitempty"` // insider: what the vault's entries call them
	Role      string    `json:"role,omitempty"`
	Hour      time.Time `json:"hour,omitzero"`     // insider: the hour's start
	Unusual   []Unusual `json:"unusual,omitempty"` // insider: the counts far above baseline
}

// Subject is what the alert is about: canary:ID, or staff:NAME.
func (a Alert) Subject() string {
	if a.Kind == AlertInsider {
		return "staff:" + a.Actor
	}
	return "canary:" + a.Canary
}

// Alerter hears of security alerts, inside the transaction that records them.
type Alerter interface {
	Alert(ctx context.Context, a Alert) error
}

// Config is what a Service takes besides its stores.
type Config struct {
	Alerter Alerter // none when nil
	Now     func() time.Time
	// CanariesPerShare is how many canaries a share carries at least (3 when zero);
	// more once every set of that size is taken.
	CanariesPerShare int
	// InsiderPoll is how often the insider watch checks (5 minutes when zero).
	InsiderPoll time.Duration
}

// Service makes shares, keeps canaries and relays, and investigates leaks.
type Service struct {
	store Store
	vault *vault.Service
	tx    txn.Runner
	audit *audit.Recorder
	alert Alerter
	now   func() time.Time
	per   int

	insiderPoll time.Duration
}

// NewService returns a Service over store.
func NewService(store Store, v *vault.Service, tx txn.Runner, rec *audit.Recorder, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CanariesPerShare <= 0 {
		cfg.CanariesPerShare = 3
	}
	if cfg.InsiderPoll <= 0 {
		cfg.InsiderPoll = 5 * time.Minute
	}
	return &Service{store: store, vault: v, tx: tx, audit: rec, alert: cfg.Alerter, now: cfg.Now, per: cfg.CanariesPerShare,
		insiderPoll: cfg.InsiderPoll}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
