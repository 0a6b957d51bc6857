package ledger

import (
	"context"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
)

// Withdraw reserves w's amount of the account's wallet for the payment rail, as a
// pending withdrawal, and returns it; replayed says one with w's ID and body was made
// before and nothing changed. What is available is read, and reserved, with the
// wallet's row locked in this transaction: holds placed before it commits are seen,
// whatever any cache or decision index says. A sanction never stops it (a withdrawal is
// protected). Returns errs.Invalid naming every field at fault, errs.Conflict for w's
// ID used with another body, errs.FundsHeld naming each hold, or errs.NoFunds.
func (s *Service) Withdraw(ctx context.Context, w *Withdrawal) (_ *Withdrawal, replayed bool, err error) {
	if err := w.validate(); err != nil {
		return nil, false, err
	}
	now := s.now().UTC()
	w.State, w.CreatedAt, w.UpdatedAt, w.Transfer, w.Reason = Pending, now, now, "", ""
	var out *Withdrawal
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		prev, err := s.store.GetWithdrawal(ctx, w.ID)
		switch {
		case err == nil && prev.same(w):
			out, replayed = prev, true
			return nil
		case err == nil:
			return errs.E(errs.Conflict, "id: withdrawal %s was made before with another body", w.ID)
		case errs.CodeOf(err) != errs.NotFound:
			return err
		}
		key := WalletKey{UserName(w.Account), w.Currency}
		ws, err := s.store.LockWallets(ctx, []WalletKey{key})
		if err != nil {
			return err
		}
		wallet := ws[key]
		if wallet == nil {
			e := errs.E(errs.NoFunds, "amount: %s has no %s wallet", w.Account, w.Currency)
			e.Extensions = map[string]any{"available": 0}
			return e
		}
		b := &book{s: s, ctx: ctx, now: now, holds: map[string][]*Hold{}}
		if err := b.spendable("amount", wallet, w.Amount, true); err != nil {
			return err
		}
		wallet.Pending += w.Amount
		w.Wallet = wallet.ID
		if err := s.store.UpdateWallets(ctx, []*Wallet{wallet}); err != nil {
			return err
		}
		if err := s.store.InsertWithdrawal(ctx, w); err != nil {
			return err
		}
		out = w
		return s.audit.Record(ctx, audit.Change{Action: "ledger.withdrawal", Subject: w.Account, Value: w})
	})
	if errs.CodeOf(err) == errs.Conflict {
		if prev, gerr := s.store.GetWithdrawal(ctx, w.ID); gerr == nil && prev.same(w) {
			return prev, true, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return out, replayed, nil
}

// Withdrawal returns the withdrawal. Returns errs.NotFound when there is none.
func (s *Service) Withdrawal(ctx context.Context, id string) (*Withdrawal, error) {
	if !ValidClientID(id) {
		return nil, errs.E(errs.NotFound, "withdrawal %q not found", id)
	}
	return s.store.GetWithdrawal(ctx, id)
}

// Complete records that the payment rail paid withdrawal id: its amount leaves the
// wallet for platform:withdrawals. Completing a completed one changes nothing.
// Returns errs.NotFound, errs.Conflict for a failed one.
func (s *Service) Complete(ctx context.Context, id string) (*Withdrawal, error) {
	return s.settle(ctx, id, Completed, "")
}

// Fail records that the payment rail could not pay withdrawal id: its amount is
// available again. Failing a failed one changes nothing. Returns errs.NotFound,
// errs.Conflict for a completed one, errs.Invalid for a reason over MaxReason.
func (s *Service) Fail(ctx context.Context, id, reason string) (*Withdrawal, error) {
	if len(reason) > MaxReason {
		return nil, errs.Field("reason", "at most %d bytes", MaxReason)
	}
	return s.settle(ctx, id, Failed, reason)
}

func (s *Service) settle(ctx context.Context, id string, to WithdrawalState, reason string) (*Withdrawal, error) {
	if _, err := s.Withdrawal(ctx, id); err != nil {
		return nil, err
	}
	var out *Withdrawal
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		w, err := s.store.GetWithdrawal(ctx, id)
		if err != nil {
			return err
		}
		out = w
		switch w.State {
		case to:
			return nil
		case Completed, Failed:
			return errs.E(errs.Conflict, "withdrawal %s is %s already", id, w.State)
		}
		now := s.now().UTC()
		key := WalletKey{UserName(w.Account), w.Currency}
		keys := []WalletKey{key}
		if to == Completed {
			keys = append(keys, WalletKey{Withdrawals, w.Currency})
		}
		b, err := s.lock(ctx, keys, now)
		if err != nil {
			return err
		}
		wallet := b.wallets[key]
		wallet.Pending -= w.Amount
		b.touch(wallet)
		var ts []*Transfer
		var legs []*Entry
		var changes []audit.Change
		if to == Completed {
			// Reserved before any hold placed since, so no hold stops it now.
			t := &Transfer{ID: stewardIDs + "withdrawal:" + w.ID, From: key.Name, To: Withdrawals, Amount: w.Amount,
				Currency: w.Currency, Kind: "withdrawal", CreatedAt: now}
			if legs, err = b.move(nil, "", t, false); err != nil {
				return err
			}
			ts, w.Transfer = []*Transfer{t}, t.ID
			changes = append(changes, transferChange(t))
		}
		w.State, w.Reason, w.UpdatedAt = to, reason, now
		if err := b.flush(ctx, ts, legs); err != nil {
			return err
		}
		if err := s.store.UpdateWithdrawal(ctx, w); err != nil {
			return err
		}
		changes = append(changes, audit.Change{Action: "ledger.withdrawal." + string(to), Subject: w.Account, Value: w})
		return s.audit.Record(ctx, changes...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
