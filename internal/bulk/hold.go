package bulk

import (
	"context"
	"regexp"

	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/errs"
)

// This file holds an action's holds: besides sanctioning its targets, an action may
// freeze their wallets in one currency under its authority, in each batch's own
// transaction, and its revert asks for their release. The ledger does the holding
// (bulk may not import it: a hold is the ledger's, enforced in its own transactions);
// the wiring gives the runner a Holder.

// HoldSpec is what an action holds of each target's wallet: all of it, in Currency.
type HoldSpec struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"` // "all": the balance and everything credited later, until released
	// DocumentSHA256 is the SHA-256 of the legal order's document, required when the
	// action's authority is a legal order.
	DocumentSHA256 string `json:"document_sha256,omitempty"`
}

// TargetHold is one hold an action places: its ID is the target's sanction ID, so a
// batch run again places none twice and the revert finds them.
type TargetHold struct {
	ID, Account string
	Spec        HoldSpec
	Authority   authority.Authority
	Reason      string
}

// Holder places and releases the holds of actions. Both are called inside the batch's
// write transaction.
type Holder interface {
	HoldTargets(ctx context.Context, hs []TargetHold) error
	// ReleaseTargets asks for the release of the holds with those IDs that still hold.
	ReleaseTargets(ctx context.Context, ids []string, reason string) error
}

var (
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	sha256Pattern   = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// check adds to fs what is wrong with the spec, under an action of authority a.
func (h *HoldSpec) check(fs *errs.Fields, a authority.Authority, holder Holder) {
	if holder == nil {
		fs.Add("hold", "this server keeps no ledger to hold wallets in")
	}
	if !currencyPattern.MatchString(h.Currency) {
		fs.Add("hold.currency", "must be an ISO 4217 code: three capital letters such as CNY")
	}
	if h.Amount != "all" {
		fs.Add("hold.amount", `must be "all": an action holds each target's whole wallet`)
	}
	switch {
	case a.Kind == authority.LegalOrder && !sha256Pattern.MatchString(h.DocumentSHA256):
		fs.Add("hold.document_sha256", "is required for a legal order: the SHA-256 of the order's document, 64 lowercase hex digits")
	case h.DocumentSHA256 != "" && !sha256Pattern.MatchString(h.DocumentSHA256):
		fs.Add("hold.document_sha256", "must be 64 lowercase hex digits")
	}
	if a.Kind == authority.Policy && a.Reference == "" && a.Rule == "" {
		fs.Add("authority.reference", "is required for an action that holds wallets: the policy or risk case it follows")
	}
}

// holdsOf returns the holds a places on the targets whose sanctions are sns' IDs.
func (a *Action) holdsOf(accounts, ids []string) []TargetHold {
	if a.Hold == nil {
		return nil
	}
	hs := make([]TargetHold, len(ids))
	for i := range ids {
		hs[i] = TargetHold{ID: ids[i], Account: accounts[i], Spec: *a.Hold, Authority: a.Authority,
			Reason: "bulk action " + a.ID + " (" + a.Name + ")"}
	}
	return hs
}
