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

// Alert is a security alert of leak tracing: a canary was reached.
type Alert struct {
	Kind       string    `json:"kind"` // "leak.canary_hit"
	Canary     string    `json:"canary"`
	Channel    string    `json:"channel"`
	Detail     string    `json:"detail,omitempty"`
	At         time.Time `json:"at"`
	Shares     []string  `json:"shares"`     // the shares that carried the canary
	Recipients []string  `json:"recipients"` // their recipients
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
}

// NewService returns a Service over store.
func NewService(store Store, v *vault.Service, tx txn.Runner, rec *audit.Recorder, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CanariesPerShare <= 0 {
		cfg.CanariesPerShare = 3
	}
	return &Service{store: store, vault: v, tx: tx, audit: rec, alert: cfg.Alerter, now: cfg.Now, per: cfg.CanariesPerShare}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
