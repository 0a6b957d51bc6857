package ledger

import (
	"encoding/hex"
	"time"

	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// HoldAuthority is the ground of a hold: a legal order (issuer, reference and the
// SHA-256 of the order's document) or a platform risk rule or policy.
type HoldAuthority struct {
	authority.Authority
	DocumentSHA256 string `json:"document_sha256,omitempty"`
}

// Hold keeps an amount of a wallet, or all of it and everything credited later, from
// being spent until it is released or expires.
type Hold struct {
	ID        string              `json:"id"`
	Wallet    string              `json:"wallet"`
	Account   string              `json:"account"`
	Currency  string              `json:"currency"`
	All       bool                `json:"all"`              // the whole balance, and every later credit
	Amount    int64               `json:"amount,omitempty"` // what it still holds, when not All
	Authority HoldAuthority       `json:"authority"`
	Reason    string              `json:"reason"`
	ExpiresAt *time.Time          `json:"expires_at,omitempty"`
	Author    principal.Principal `json:"author"`
	CreatedAt time.Time           `json:"created_at"`
	// ReleasedAt is when the last of it was released; nil while it holds.
	ReleasedAt *time.Time `json:"released_at,omitempty"`
}

// MaxReason is the most bytes of a reason.
const MaxReason = 1024

// HoldRequest is what a hold is placed with. Amount 0 with All unset is malformed.
type HoldRequest struct {
	Account   string
	Currency  string
	All       bool
	Amount    int64
	Authority HoldAuthority
	Reason    string
	ExpiresAt *time.Time
}

func (r *HoldRequest) validate(now time.Time) error {
	var fs errs.Fields
	if _, err := ParseName(UserName(r.Account)); err != nil {
		fs.Add("account", "must be an account ID")
	}
	if !ValidCurrency(r.Currency) {
		fs.Add("currency", "must be %s", CurrencyRule)
	}
	if !r.All {
		checkAmount(&fs, "amount", r.Amount)
	}
	r.Authority.Validate(&fs, "authority.")
	if r.Authority.Kind == authority.LegalOrder {
		if b, err := hex.DecodeString(r.Authority.DocumentSHA256); err != nil || len(b) != 32 {
			fs.Add("authority.document_sha256", "is required for a legal order: the SHA-256 of the order's document, 64 hex digits")
		}
	} else if r.Authority.DocumentSHA256 != "" {
		if b, err := hex.DecodeString(r.Authority.DocumentSHA256); err != nil || len(b) != 32 {
			fs.Add("authority.document_sha256", "must be 64 hex digits")
		}
	}
	if r.Authority.Kind == authority.Policy && r.Authority.Rule == "" && r.Authority.Reference == "" {
		fs.Add("authority.reference", "is required for a policy hold: the policy or risk case it follows")
	}
	if r.Reason == "" || len(r.Reason) > MaxReason {
		fs.Add("reason", "is required: at most %d bytes saying why", MaxReason)
	}
	if r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
		fs.Add("expires_at", "is in the past: the hold would hold nothing")
	}
	return fs.Err()
}

// ReleaseState is where a release stands.
type ReleaseState string

const (
	// Requested: a release of a legal order's hold waits for a second person.
	Requested ReleaseState = "requested"
	// Applied: the amount is free again.
	Applied ReleaseState = "applied"
)

// Release frees some or all of a hold. A release of a legal order's hold is applied
// only once a second person approves it.
type Release struct {
	ID          string               `json:"id"`
	Hold        string               `json:"hold"`
	All         bool                 `json:"all"`
	Amount      int64                `json:"amount,omitempty"`
	Reason      string               `json:"reason"`
	State       ReleaseState         `json:"state"`
	RequestedBy principal.Principal  `json:"requested_by"`
	ApprovedBy  *principal.Principal `json:"approved_by,omitempty"`
	CreatedAt   time.Time            `json:"created_at"`
	AppliedAt   *time.Time           `json:"applied_at,omitempty"`
}

// heldBy describes a hold as a refused withdrawal names it.
type heldBy struct {
	ID        string         `json:"id"`
	All       bool           `json:"all"`
	Amount    int64          `json:"amount,omitempty"`
	Kind      authority.Kind `json:"kind"`
	Issuer    string         `json:"issuer,omitempty"`
	Reference string         `json:"reference,omitempty"`
	Rule      string         `json:"rule,omitempty"`
	Reason    string         `json:"reason"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
}

// fundsHeld returns the funds_held error naming each of holds.
func fundsHeld(field string, b Balance, amount int64, holds []*Hold) error {
	named := make([]heldBy, len(holds))
	msg := ""
	for i, h := range holds {
		a := h.Authority
		named[i] = heldBy{ID: h.ID, All: h.All, Amount: h.Amount, Kind: a.Kind, Issuer: a.Issuer, Reference: a.Reference,
			Rule: a.Rule, Reason: h.Reason, ExpiresAt: h.ExpiresAt}
		if i > 0 {
			msg += "; "
		}
		msg += "hold " + h.ID + " (" + string(a.Kind)
		if a.Issuer != "" {
			msg += " of " + a.Issuer
		}
		if a.Reference != "" {
			msg += ", reference " + a.Reference
		}
		msg += ")"
	}
	e := errs.E(errs.FundsHeld, "%s: %d %s asked, %d available, %d held by %s", field, amount, b.Currency, b.Available, b.Held, msg)
	e.Extensions = map[string]any{"holds": named, "available": b.Available, "held": b.Held}
	return e
}
