package ledger

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/txn"
)

// Config holds a Service's options.
type Config struct {
	// Now is the clock; time.Now when nil. Tests move it.
	Now func() time.Time
	// Announcer is told of every hold and release; none when nil.
	Announcer Announcer
}

// Service moves money between ledger accounts, holds and releases it, pays it out and
// compensates, each change audited in the transaction that writes it.
type Service struct {
	store     Store
	accounts  Accounts
	tx        txn.Runner
	audit     *audit.Recorder
	now       func() time.Time
	announcer Announcer
}

// NewService returns a Service over store, for the accounts of accts.
func NewService(store Store, accts Accounts, tx txn.Runner, rec *audit.Recorder, cfg Config) *Service {
	s := &Service{store: store, accounts: accts, tx: tx, audit: rec, now: cfg.Now, announcer: cfg.Announcer}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// MaxBatch is the most transfers of one TransferBatch.
const MaxBatch = 8000

// stewardIDs starts the IDs of the transfers Steward makes itself (a withdrawal's
// payment, a compensation, a recovery), which a client's may not.
const stewardIDs = "steward:"

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// validUUID reports whether s may be the ID of something Steward made.
func validUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

// Transfer posts t, filling its time, and returns it as stored; replayed says a transfer
// with t's ID and body was posted before, and nothing changed. Returns errs.Invalid
// naming every field at fault, errs.Conflict when t's ID was used with another body,
// errs.FundsHeld or errs.NoFunds when t.From has not that much available.
func (s *Service) Transfer(ctx context.Context, t *Transfer) (_ *Transfer, replayed bool, err error) {
	out, replayed, err := s.post(ctx, []*Transfer{t}, func(int) string { return "" })
	if err != nil {
		return nil, false, err
	}
	return out[0], replayed, nil
}

// TransferBatch posts up to MaxBatch transfers, all or none, in order: a later one may
// spend what an earlier one credited. Those posted before under the same ID and body
// are returned as they were. Returns the errors of Transfer, fields named
// "transfers[i].…".
func (s *Service) TransferBatch(ctx context.Context, ts []*Transfer) ([]*Transfer, error) {
	if len(ts) == 0 || len(ts) > MaxBatch {
		return nil, errs.Field("transfers", "must hold 1 to %d transfers", MaxBatch)
	}
	out, _, err := s.post(ctx, ts, func(i int) string { return fmt.Sprintf("transfers[%d].", i) })
	return out, err
}

func (s *Service) post(ctx context.Context, ts []*Transfer, prefix func(int) string) ([]*Transfer, bool, error) {
	var fs errs.Fields
	ids := make([]string, len(ts))
	seen := make(map[string]int, len(ts))
	now := s.now().UTC()
	changes := make([]audit.Change, len(ts))
	for i, t := range ts {
		t.normalize()
		t.validate(&fs, prefix(i))
		if strings.HasPrefix(t.ID, stewardIDs) {
			fs.Add(prefix(i)+"id", "must not start with %q: Steward names its own transfers so", stewardIDs)
		}
		if j, dup := seen[t.ID]; dup {
			fs.Add(prefix(i)+"id", "is the ID of transfers[%d] too", j)
		}
		seen[t.ID] = i
		ids[i] = t.ID
		t.CreatedAt = now
		changes[i] = transferChange(t)
	}
	if err := fs.Err(); err != nil {
		return nil, false, err
	}
	entries, err := s.audit.Entries(ctx, changes...)
	if err != nil {
		return nil, false, err
	}
	out := make([]*Transfer, len(ts))
	var replayed bool
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		var fresh []*Transfer
		var freshEntries []*audit.Entry
		replayed, fresh, err = s.replays(ctx, ts, ids, prefix, out)
		if err != nil || len(fresh) == 0 {
			return err
		}
		freshEntries = entries
		if len(fresh) < len(ts) {
			freshEntries = make([]*audit.Entry, 0, len(fresh))
			for i, t := range ts {
				if out[i] == t {
					freshEntries = append(freshEntries, entries[i])
				}
			}
		}
		keys := make([]WalletKey, 0, 2*len(fresh))
		for _, t := range fresh {
			keys = append(keys, WalletKey{t.From, t.Currency}, WalletKey{t.To, t.Currency})
		}
		b, err := s.lock(ctx, keys, now)
		if err != nil {
			return err
		}
		legs := make([]*Entry, 0, 2*len(fresh))
		for i, t := range ts {
			if out[i] != t {
				continue
			}
			if legs, err = b.move(legs, prefix(i), t, true); err != nil {
				return err
			}
		}
		if err := b.flush(ctx, fresh, legs); err != nil {
			return err
		}
		return s.audit.Append(ctx, freshEntries)
	})
	if errs.CodeOf(err) == errs.Conflict && len(ts) == 1 {
		// A concurrent request with this ID committed first: answer as its retry.
		if prev, gerr := s.store.GetTransfers(ctx, ids); gerr == nil && prev[ids[0]] != nil && prev[ids[0]].same(ts[0]) {
			return []*Transfer{prev[ids[0]]}, true, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return out, replayed, nil
}

// replays fills out with the transfers of ts posted before (and ts's own for the rest),
// and returns those to post. A stored transfer of another body is errs.Conflict.
func (s *Service) replays(ctx context.Context, ts []*Transfer, ids []string, prefix func(int) string, out []*Transfer) (all bool, fresh []*Transfer, err error) {
	prev, err := s.store.GetTransfers(ctx, ids)
	if err != nil {
		return false, nil, err
	}
	fresh = make([]*Transfer, 0, len(ts))
	for i, t := range ts {
		p := prev[t.ID]
		switch {
		case p == nil:
			out[i] = t
			fresh = append(fresh, t)
		case p.same(t):
			out[i] = p
		default:
			return false, nil, errs.E(errs.Conflict, "%sid: transfer %s was posted before with another body", prefix(i), t.ID)
		}
	}
	return len(fresh) == 0, fresh, nil
}

func transferChange(t *Transfer) audit.Change {
	return audit.Change{Action: "ledger.transfer", Subject: "transfer:" + t.ID, Value: t}
}

// book is the wallets one write transaction locked, and the holds in force on them.
type book struct {
	s       *Service
	ctx     context.Context
	now     time.Time
	wallets map[WalletKey]*Wallet
	holds   map[string][]*Hold // by wallet ID, read once the first time it is debited
	changed []*Wallet
	dirty   map[*Wallet]bool
}

// lock locks the wallets of keys, opening a user's wallet or a standard platform
// account the first time it is used.
func (s *Service) lock(ctx context.Context, keys []WalletKey, now time.Time) (*book, error) {
	keys = uniqueKeys(keys)
	ws, err := s.store.LockWallets(ctx, keys)
	if err != nil {
		return nil, err
	}
	var missing []WalletKey
	for _, k := range keys {
		if ws[k] != nil {
			continue
		}
		if err := s.open(ctx, k, now); err != nil {
			return nil, err
		}
		missing = append(missing, k)
	}
	if len(missing) > 0 {
		opened, err := s.store.LockWallets(ctx, missing)
		if err != nil {
			return nil, err
		}
		for k, w := range opened {
			ws[k] = w
		}
	}
	return &book{s: s, ctx: ctx, now: now, wallets: ws, holds: map[string][]*Hold{}, dirty: map[*Wallet]bool{}}, nil
}

func uniqueKeys(keys []WalletKey) []WalletKey {
	slices.SortFunc(keys, func(a, b WalletKey) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Currency, b.Currency)
	})
	return slices.Compact(keys)
}

// open opens the wallet of k on its first use: a user's, for an account that exists, or
// a standard platform account. Any other platform account an admin opens.
func (s *Service) open(ctx context.Context, k WalletKey, now time.Time) error {
	account, _ := ParseName(k.Name)
	w := &Wallet{ID: newID(), Name: k.Name, Account: account, Currency: k.Currency, CreatedAt: now}
	if account != "" {
		if _, err := s.accounts.Get(ctx, account); errs.CodeOf(err) == errs.NotFound {
			return errs.E(errs.Invalid, "no account %q: a wallet is opened for an account that exists", account)
		} else if err != nil {
			return err
		}
	} else {
		neg, ok := standard[k.Name]
		if !ok {
			return errs.E(errs.Invalid, "no platform account %s in %s: an admin opens it first", k.Name, k.Currency)
		}
		w.AllowNegative = neg
	}
	return s.store.OpenWallet(ctx, w)
}

// OpenPlatform opens the platform account name in currency, which may go below zero
// when allowNegative, and returns it; opening one that is open changes nothing.
// Returns errs.Invalid for a malformed name or currency.
func (s *Service) OpenPlatform(ctx context.Context, name, currency string, allowNegative bool) (*Wallet, error) {
	var fs errs.Fields
	if account, err := ParseName(name); err != nil || account != "" {
		fs.Add("name", `must be "platform:{name}"`)
	}
	if !ValidCurrency(currency) {
		fs.Add("currency", "must be %s", CurrencyRule)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	var out *Wallet
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		w := &Wallet{ID: newID(), Name: name, Currency: currency, AllowNegative: allowNegative, CreatedAt: s.now().UTC()}
		if err := s.store.OpenWallet(ctx, w); err != nil {
			return err
		}
		ws, err := s.store.LockWallets(ctx, []WalletKey{{name, currency}})
		if err != nil {
			return err
		}
		out = ws[WalletKey{name, currency}]
		return s.audit.Record(ctx, audit.Change{Action: "ledger.platform.open", Subject: name + "/" + currency, Value: out})
	})
	return out, err
}

// holdsOn returns the holds in force on w.
func (b *book) holdsOn(w *Wallet) ([]*Hold, error) {
	if w.Holds == 0 {
		return nil, nil
	}
	if hs, ok := b.holds[w.ID]; ok {
		return hs, nil
	}
	hs, err := b.s.store.ActiveHolds(b.ctx, w.ID, b.now)
	if err != nil {
		return nil, err
	}
	b.holds[w.ID] = hs
	return hs, nil
}

// spendable returns nil when amount may leave w: always for a platform account that
// may go negative (down to the bound sums keep), and for any other when it is available
// (checkHolds) or posted and not pending (not). field names the account for errors.
func (b *book) spendable(field string, w *Wallet, amount int64, checkHolds bool) error {
	if w.AllowNegative {
		if w.Posted < math.MinInt64/2+amount {
			return errs.E(errs.NoFunds, "%s: %s in %s is at the least it may hold", field, w.Name, w.Currency)
		}
		return nil
	}
	var holds []*Hold
	if checkHolds {
		var err error
		if holds, err = b.holdsOn(w); err != nil {
			return err
		}
	}
	bal := balance(w, holds)
	if amount <= bal.Available {
		return nil
	}
	if amount <= w.Posted-w.Pending {
		return fundsHeld(field, bal, amount, holds)
	}
	e := errs.E(errs.NoFunds, "%s: %d %s asked, %d available in %s", field, amount, w.Currency, bal.Available, w.Name)
	e.Extensions = map[string]any{"available": bal.Available}
	return e
}

func (b *book) touch(w *Wallet) {
	if !b.dirty[w] {
		b.dirty[w] = true
		b.changed = append(b.changed, w)
	}
}

// move posts t's two legs to the locked wallets, appending them to legs.
func (b *book) move(legs []*Entry, prefix string, t *Transfer, checkHolds bool) ([]*Entry, error) {
	from, to := b.wallets[WalletKey{t.From, t.Currency}], b.wallets[WalletKey{t.To, t.Currency}]
	if err := b.spendable(prefix+"from", from, t.Amount, checkHolds); err != nil {
		return legs, err
	}
	if to.Posted > math.MaxInt64/2-t.Amount {
		return legs, errs.E(errs.Conflict, "%sto: %s in %s is at the most it may hold", prefix, to.Name, to.Currency)
	}
	from.Posted -= t.Amount
	to.Posted += t.Amount
	b.touch(from)
	b.touch(to)
	return append(legs,
		&Entry{Wallet: from.ID, Transfer: t.ID, Kind: t.Kind, Amount: -t.Amount, Balance: from.Posted, CreatedAt: t.CreatedAt},
		&Entry{Wallet: to.ID, Transfer: t.ID, Kind: t.Kind, Amount: t.Amount, Balance: to.Posted, CreatedAt: t.CreatedAt}), nil
}

// flush writes the changed wallets, and ts with their legs.
func (b *book) flush(ctx context.Context, ts []*Transfer, legs []*Entry) error {
	if err := b.s.store.UpdateWallets(ctx, b.changed); err != nil {
		return err
	}
	if len(ts) == 0 {
		return nil
	}
	return b.s.store.InsertTransfers(ctx, ts, legs)
}

// Wallets returns the balances of account's wallets, in currency order. Returns
// errs.Invalid for a malformed account ID. An account with no wallet has none.
func (s *Service) Wallets(ctx context.Context, account string) ([]Balance, error) {
	if _, err := ParseName(UserName(account)); err != nil {
		return nil, errs.Field("id", "must be an account ID")
	}
	ws, err := s.store.Wallets(ctx, UserName(account))
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	out := make([]Balance, len(ws))
	for i, w := range ws {
		var hs []*Hold
		if w.Holds > 0 {
			if hs, err = s.store.ActiveHolds(ctx, w.ID, now); err != nil {
				return nil, err
			}
		}
		out[i] = balance(w, hs)
	}
	return out, nil
}

// Wallet returns the wallet. Returns errs.NotFound when there is none.
func (s *Service) Wallet(ctx context.Context, id string) (*Wallet, error) {
	if !validUUID(id) {
		return nil, errs.E(errs.NotFound, "wallet %q not found", id)
	}
	return s.store.GetWallet(ctx, id)
}

// Entries returns up to limit entries of wallet, newest first, before the entry with ID
// before (0 for the newest).
func (s *Service) Entries(ctx context.Context, wallet string, before int64, limit int) ([]*Entry, error) {
	if _, err := s.Wallet(ctx, wallet); err != nil {
		return nil, err
	}
	return s.store.Entries(ctx, wallet, before, limit)
}
