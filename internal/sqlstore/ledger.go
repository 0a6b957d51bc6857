package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
)

// Ledger implements ledger.Store.
type Ledger struct{ db *DB }

// Ledger returns the ledger's store.
func (db *DB) Ledger() *Ledger { return &Ledger{db} }

var _ ledger.Store = (*Ledger)(nil)

const walletCols = "id, name, currency, account, allow_negative, posted, pending, holds, created_at"

func scanWallet(scan func(...any) error) (*ledger.Wallet, error) {
	var w ledger.Wallet
	var holds, created int64
	if err := scan(&w.ID, &w.Name, &w.Currency, &w.Account, &w.AllowNegative, &w.Posted, &w.Pending, &holds, &created); err != nil {
		return nil, err
	}
	w.Holds, w.CreatedAt = int(holds), fromNanos(created)
	return &w, nil
}

// lockChunk is how many wallets one locking SELECT names (two parameters each).
const lockChunk = 250

func (l *Ledger) LockWallets(ctx context.Context, keys []ledger.WalletKey) (_ map[ledger.WalletKey]*ledger.Wallet, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.LockWallets", len(keys))
	if _, err := l.db.writer(ctx); err != nil {
		return nil, err
	}
	out := make(map[ledger.WalletKey]*ledger.Wallet, len(keys))
	args := make([]any, 0, 2*min(len(keys), lockChunk))
	for start := 0; start < len(keys); start += lockChunk {
		chunk := keys[start:min(start+lockChunk, len(keys))]
		args = args[:0]
		for _, k := range chunk {
			args = append(args, k.Name, k.Currency)
		}
		// Locked in (name, currency) order, as every transaction takes them.
		q := "SELECT " + walletCols + " FROM ledger_wallets WHERE (name, currency) IN (" + placeholders(len(chunk), 2) +
			") ORDER BY name, currency" + l.db.d.forUpdate
		ws, err := collect(ctx, l.db, scanWallet, q, args...)
		if err != nil {
			return nil, err
		}
		for _, w := range ws {
			out[ledger.WalletKey{Name: w.Name, Currency: w.Currency}] = w
		}
	}
	return out, nil
}

func (l *Ledger) OpenWallet(ctx context.Context, w *ledger.Wallet) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.OpenWallet", w.Name)
	_, err = l.db.exec(ctx, "INSERT INTO ledger_wallets ("+walletCols+") VALUES "+placeholders(1, 9)+" ON CONFLICT (name, currency) DO NOTHING",
		w.ID, w.Name, w.Currency, w.Account, w.AllowNegative, w.Posted, w.Pending, int64(w.Holds), nanos(w.CreatedAt))
	return err
}

func (l *Ledger) UpdateWallets(ctx context.Context, ws []*ledger.Wallet) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.UpdateWallets", len(ws))
	if len(ws) == 1 || !l.db.d.foldsWrites {
		for _, w := range ws {
			if _, err := l.db.exec(ctx, "UPDATE ledger_wallets SET posted = ?, pending = ?, holds = ? WHERE id = ?",
				w.Posted, w.Pending, int64(w.Holds), w.ID); err != nil {
				return err
			}
		}
		return nil
	}
	// One statement per chunk rather than one per wallet: a batch of 8,000 transfers
	// changes up to 16,000 wallets, each a round trip on its own.
	for start := 0; start < len(ws); start += rowChunk {
		chunk := ws[start:min(start+rowChunk, len(ws))]
		var posted, pending, holds strings.Builder
		args := make([]any, 0, 7*len(chunk))
		for _, w := range chunk {
			posted.WriteString(" WHEN ? THEN CAST(? AS BIGINT)")
			args = append(args, w.ID, w.Posted)
		}
		for _, w := range chunk {
			pending.WriteString(" WHEN ? THEN CAST(? AS BIGINT)")
			args = append(args, w.ID, w.Pending)
		}
		for _, w := range chunk {
			holds.WriteString(" WHEN ? THEN CAST(? AS BIGINT)")
			args = append(args, w.ID, int64(w.Holds))
		}
		for _, w := range chunk {
			args = append(args, w.ID)
		}
		q := "UPDATE ledger_wallets SET posted = CASE id" + posted.String() + " END, pending = CASE id" + pending.String() +
			" END, holds = CASE id" + holds.String() + " END WHERE id IN (" + params(len(chunk)) + ")"
		if _, err := l.db.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func (l *Ledger) Wallets(ctx context.Context, name string) (_ []*ledger.Wallet, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.Wallets", name)
	return collect(ctx, l.db, scanWallet, "SELECT "+walletCols+" FROM ledger_wallets WHERE name = ? ORDER BY currency", name)
}

func (l *Ledger) GetWallet(ctx context.Context, id string) (_ *ledger.Wallet, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.GetWallet", id)
	w, err := scanWallet(l.db.queryRow(ctx, "SELECT "+walletCols+" FROM ledger_wallets WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "wallet %s not found", id)
	}
	return w, err
}

// rowChunk is how many rows one multi-row INSERT writes.
const rowChunk = 200

func (l *Ledger) InsertTransfers(ctx context.Context, ts []*ledger.Transfer, entries []*ledger.Entry) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.InsertTransfers", len(ts))
	args := make([]any, 0, 8*min(len(ts), rowChunk))
	for start := 0; start < len(ts); start += rowChunk {
		chunk := ts[start:min(start+rowChunk, len(ts))]
		args = args[:0]
		for _, t := range chunk {
			body, err := json.Marshal(t)
			if err != nil {
				return err
			}
			args = append(args, t.ID, t.From, t.To, t.Currency, t.Amount, t.Kind, nanos(t.CreatedAt), string(body))
		}
		_, err := l.db.exec(ctx, "INSERT INTO ledger_transfers (id, from_name, to_name, currency, amount, kind, created_at, body) VALUES "+
			placeholders(len(chunk), 8), args...)
		if errs.CodeOf(err) == errs.Conflict {
			return errs.E(errs.Conflict, "a transfer of this ID was posted already")
		}
		if err != nil {
			return err
		}
	}
	for start := 0; start < len(entries); start += rowChunk {
		chunk := entries[start:min(start+rowChunk, len(entries))]
		args = args[:0]
		for _, e := range chunk {
			args = append(args, e.Wallet, e.Transfer, e.Kind, e.Amount, e.Balance, nanos(e.CreatedAt))
		}
		if _, err := l.db.exec(ctx, "INSERT INTO ledger_entries (wallet, transfer, kind, amount, balance, created_at) VALUES "+
			placeholders(len(chunk), 6), args...); err != nil {
			return err
		}
	}
	return nil
}

func (l *Ledger) GetTransfers(ctx context.Context, ids []string) (_ map[string]*ledger.Transfer, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.GetTransfers", len(ids))
	out := map[string]*ledger.Transfer{}
	err = l.db.queryIn(ctx, "SELECT body FROM ledger_transfers WHERE id IN (%s)", ids, func(scan func(...any) error) error {
		var body string
		if err := scan(&body); err != nil {
			return err
		}
		var t ledger.Transfer
		if err := json.Unmarshal([]byte(body), &t); err != nil {
			return fmt.Errorf("stored transfer: %w", err)
		}
		out[t.ID] = &t
		return nil
	})
	return out, err
}

func (l *Ledger) Entries(ctx context.Context, wallet string, before int64, limit int) (_ []*ledger.Entry, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.Entries", wallet)
	q := "SELECT id, wallet, transfer, kind, amount, balance, created_at FROM ledger_entries WHERE wallet = ?"
	args := []any{wallet}
	if before > 0 {
		q += " AND id < ?"
		args = append(args, before)
	}
	return collect(ctx, l.db, func(scan func(...any) error) (*ledger.Entry, error) {
		var e ledger.Entry
		var created int64
		if err := scan(&e.ID, &e.Wallet, &e.Transfer, &e.Kind, &e.Amount, &e.Balance, &created); err != nil {
			return nil, err
		}
		e.CreatedAt = fromNanos(created)
		return &e, nil
	}, q+" ORDER BY id DESC LIMIT ?", append(args, limit)...)
}

func (l *Ledger) InsertHold(ctx context.Context, h *ledger.Hold) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.InsertHold", h.ID)
	body, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = l.db.exec(ctx, "INSERT INTO ledger_holds (id, wallet, account, released_at, expires_at, body) VALUES "+placeholders(1, 6),
		h.ID, h.Wallet, h.Account, optNanos(h.ReleasedAt), optNanos(h.ExpiresAt), string(body))
	return err
}

func (l *Ledger) UpdateHold(ctx context.Context, h *ledger.Hold) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.UpdateHold", h.ID)
	body, err := json.Marshal(h)
	if err != nil {
		return err
	}
	res, err := l.db.exec(ctx, "UPDATE ledger_holds SET released_at = ?, expires_at = ?, body = ? WHERE id = ?",
		optNanos(h.ReleasedAt), optNanos(h.ExpiresAt), string(body), h.ID)
	return notFoundIfNone(res, err, "hold", h.ID)
}

// notFoundIfNone returns err, or errs.NotFound when the write res changed no row.
func notFoundIfNone(res sql.Result, err error, what, id string) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.E(errs.NotFound, "%s %s not found", what, id)
	}
	return nil
}

// getBody reads the JSON body of the row of table with id into v.
func (l *Ledger) getBody(ctx context.Context, table, what, id string, v any) error {
	var body string
	err := l.db.queryRow(ctx, "SELECT body FROM "+table+" WHERE id = ?", id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "%s %s not found", what, id)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		return fmt.Errorf("stored %s: %w", what, err)
	}
	return nil
}

func (l *Ledger) GetHold(ctx context.Context, id string) (_ *ledger.Hold, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.GetHold", id)
	var h ledger.Hold
	if err := l.getBody(ctx, "ledger_holds", "hold", id, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

func (l *Ledger) ActiveHolds(ctx context.Context, wallet string, t time.Time) (_ []*ledger.Hold, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.ActiveHolds", wallet)
	return collect(ctx, l.db, jsonBody[ledger.Hold]("hold"), "SELECT body FROM ledger_holds WHERE wallet = ? AND released_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY id",
		wallet, nanos(t))
}

// putBody inserts (or, when update, replaces) the row of table with id and body v, and
// the extra columns cols with vals.
func (l *Ledger) putBody(ctx context.Context, update bool, table, what, id string, v any, cols []string, vals ...any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if update {
		set := ""
		for _, c := range cols {
			set += c + " = ?, "
		}
		res, err := l.db.exec(ctx, "UPDATE "+table+" SET "+set+"body = ? WHERE id = ?", append(vals, string(body), id)...)
		return notFoundIfNone(res, err, what, id)
	}
	all := append([]string{"id"}, append(cols, "body")...)
	args := append([]any{id}, append(vals, string(body))...)
	_, err = l.db.exec(ctx, "INSERT INTO "+table+" ("+strings.Join(all, ", ")+") VALUES "+placeholders(1, len(all)), args...)
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "%s %s exists already", what, id)
	}
	return err
}

func (l *Ledger) InsertRelease(ctx context.Context, r *ledger.Release) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.InsertRelease", r.ID)
	return l.putBody(ctx, false, "ledger_releases", "release", r.ID, r, []string{"hold"}, r.Hold)
}

func (l *Ledger) UpdateRelease(ctx context.Context, r *ledger.Release) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.UpdateRelease", r.ID)
	return l.putBody(ctx, true, "ledger_releases", "release", r.ID, r, nil)
}

func (l *Ledger) GetRelease(ctx context.Context, id string) (_ *ledger.Release, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.GetRelease", id)
	var r ledger.Release
	if err := l.getBody(ctx, "ledger_releases", "release", id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

var withdrawalCols = []string{"account", "wallet", "state", "amount"}

func (l *Ledger) InsertWithdrawal(ctx context.Context, w *ledger.Withdrawal) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.InsertWithdrawal", w.ID)
	return l.putBody(ctx, false, "ledger_withdrawals", "withdrawal", w.ID, w, withdrawalCols, w.Account, w.Wallet, string(w.State), w.Amount)
}

func (l *Ledger) UpdateWithdrawal(ctx context.Context, w *ledger.Withdrawal) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.UpdateWithdrawal", w.ID)
	return l.putBody(ctx, true, "ledger_withdrawals", "withdrawal", w.ID, w, withdrawalCols, w.Account, w.Wallet, string(w.State), w.Amount)
}

func (l *Ledger) GetWithdrawal(ctx context.Context, id string) (_ *ledger.Withdrawal, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.GetWithdrawal", id)
	var w ledger.Withdrawal
	if err := l.getBody(ctx, "ledger_withdrawals", "withdrawal", id, &w); err != nil {
		return nil, err
	}
	return &w, nil
}

func (l *Ledger) InsertCompensation(ctx context.Context, c *ledger.Compensation) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.InsertCompensation", c.ID)
	return l.putBody(ctx, false, "ledger_compensations", "compensation", c.ID, c, []string{"account"}, c.Account)
}

func (l *Ledger) UpdateCompensation(ctx context.Context, c *ledger.Compensation) (err error) {
	defer wrapErr(&err, "sqlstore.Ledger.UpdateCompensation", c.ID)
	return l.putBody(ctx, true, "ledger_compensations", "compensation", c.ID, c, nil)
}

func (l *Ledger) GetCompensation(ctx context.Context, id string) (_ *ledger.Compensation, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.GetCompensation", id)
	var c ledger.Compensation
	if err := l.getBody(ctx, "ledger_compensations", "compensation", id, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
