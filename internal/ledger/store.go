package ledger

import (
	"context"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
)

// WalletKey names a wallet: a ledger account in one currency.
type WalletKey struct{ Name, Currency string }

// Accounts is what the ledger needs of the accounts: a hold, withdrawal or compensation
// names an account that exists.
type Accounts interface {
	// Get returns the account. Returns errs.NotFound when there is none.
	Get(ctx context.Context, id string) (*accounts.Account, error)
}

// Store keeps the ledger. Writes, and every Lock, must be called inside a write
// transaction (see package txn).
type Store interface {
	// LockWallets returns the wallets of keys that exist, each locked until the
	// transaction ends (taken in one order, so two transactions never wait on each
	// other). A key with no wallet is absent from the map.
	LockWallets(ctx context.Context, keys []WalletKey) (map[WalletKey]*Wallet, error)
	// OpenWallet stores w unless a wallet of its name and currency exists already.
	OpenWallet(ctx context.Context, w *Wallet) error
	// UpdateWallets writes the posted and pending amounts and the hold count of ws.
	UpdateWallets(ctx context.Context, ws []*Wallet) error
	// Wallets returns the wallets of the ledger account name, in currency order.
	Wallets(ctx context.Context, name string) ([]*Wallet, error)
	// GetWallet returns the wallet. Returns errs.NotFound when there is none.
	GetWallet(ctx context.Context, id string) (*Wallet, error)

	// InsertTransfers stores transfers and their entries. Returns errs.Conflict when a
	// transfer's ID is taken.
	InsertTransfers(ctx context.Context, ts []*Transfer, entries []*Entry) error
	// GetTransfers returns the stored transfers of ids that exist, by ID.
	GetTransfers(ctx context.Context, ids []string) (map[string]*Transfer, error)
	// Entries returns up to limit entries of wallet, newest first, before the entry with
	// ID before (from the newest when 0).
	Entries(ctx context.Context, wallet string, before int64, limit int) ([]*Entry, error)

	// InsertHold and UpdateHold store a hold; UpdateHold returns errs.NotFound when
	// there is none.
	InsertHold(ctx context.Context, h *Hold) error
	UpdateHold(ctx context.Context, h *Hold) error
	// GetHold returns the hold. Returns errs.NotFound when there is none.
	GetHold(ctx context.Context, id string) (*Hold, error)
	// ActiveHolds returns the holds on wallet not released and not expired at t, oldest
	// first.
	ActiveHolds(ctx context.Context, wallet string, t time.Time) ([]*Hold, error)

	// InsertRelease and UpdateRelease store a release; GetRelease returns errs.NotFound
	// when there is none.
	InsertRelease(ctx context.Context, r *Release) error
	UpdateRelease(ctx context.Context, r *Release) error
	GetRelease(ctx context.Context, id string) (*Release, error)

	// InsertWithdrawal stores w; errs.Conflict when its ID is taken.
	InsertWithdrawal(ctx context.Context, w *Withdrawal) error
	UpdateWithdrawal(ctx context.Context, w *Withdrawal) error
	// GetWithdrawal returns the withdrawal. Returns errs.NotFound when there is none.
	GetWithdrawal(ctx context.Context, id string) (*Withdrawal, error)

	// InsertCompensation and UpdateCompensation store a compensation; GetCompensation
	// returns errs.NotFound when there is none.
	InsertCompensation(ctx context.Context, c *Compensation) error
	UpdateCompensation(ctx context.Context, c *Compensation) error
	GetCompensation(ctx context.Context, id string) (*Compensation, error)
}
