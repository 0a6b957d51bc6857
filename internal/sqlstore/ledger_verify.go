package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/stewardhq/steward/internal/ledger"
)

var _ ledger.Checker = (*Ledger)(nil)

// faultQueries find the first row breaking each rule of ledger.Rules: each returns the
// row's name and what is wrong, as two text columns, or no row.
var faultQueries = map[string]string{
	"legs": `SELECT 'transfer ' || t.id, 'has ' || count(e.id) || ' entries summing to ' || COALESCE(sum(e.amount), 0) ||
		', largest ' || COALESCE(max(e.amount), 0) || ', for an amount of ' || t.amount
		FROM ledger_transfers t LEFT JOIN ledger_entries e ON e.transfer = t.id
		GROUP BY t.id, t.amount, t.created_at
		HAVING count(e.id) <> 2 OR COALESCE(sum(e.amount), 0) <> 0 OR COALESCE(max(e.amount), 0) <> t.amount
		ORDER BY t.created_at, t.id LIMIT 1`,
	"orphans": `SELECT 'entry ' || e.id, 'names transfer ' || e.transfer || ', which is not stored'
		FROM ledger_entries e LEFT JOIN ledger_transfers t ON t.id = e.transfer WHERE t.id IS NULL ORDER BY e.id LIMIT 1`,
	"currency": `SELECT 'currency ' || w.currency, 'entries sum to ' || sum(e.amount) || ', not 0'
		FROM ledger_entries e JOIN ledger_wallets w ON w.id = e.wallet GROUP BY w.currency HAVING sum(e.amount) <> 0
		ORDER BY w.currency LIMIT 1`,
	"posted": `SELECT 'wallet ' || w.id || ' (' || w.name || ' ' || w.currency || ')',
		'posted is ' || w.posted || ', its entries sum to ' || COALESCE(sum(e.amount), 0)
		FROM ledger_wallets w LEFT JOIN ledger_entries e ON e.wallet = w.id
		GROUP BY w.id, w.name, w.currency, w.posted HAVING w.posted <> COALESCE(sum(e.amount), 0) ORDER BY w.id LIMIT 1`,
	"negative": `SELECT 'entry ' || e.id || ' of wallet ' || w.id || ' (' || w.name || ' ' || w.currency || ')',
		'leaves a balance of ' || e.balance
		FROM ledger_entries e JOIN ledger_wallets w ON w.id = e.wallet
		WHERE w.account <> '' AND e.balance < 0 ORDER BY e.id LIMIT 1`,
	"pending": `SELECT 'wallet ' || w.id || ' (' || w.name || ' ' || w.currency || ')',
		'pending is ' || w.pending || ', its pending withdrawals sum to ' || COALESCE(sum(d.amount), 0) || ', posted is ' || w.posted
		FROM ledger_wallets w LEFT JOIN ledger_withdrawals d ON d.wallet = w.id AND d.state = 'pending'
		GROUP BY w.id, w.name, w.currency, w.pending, w.posted
		HAVING w.pending <> COALESCE(sum(d.amount), 0) OR (w.account <> '' AND w.pending > w.posted) OR w.pending < 0
		ORDER BY w.id LIMIT 1`,
	"holds": `SELECT 'wallet ' || w.id || ' (' || w.name || ' ' || w.currency || ')',
		'counts ' || w.holds || ' holds, ' || count(h.id) || ' are not released'
		FROM ledger_wallets w LEFT JOIN ledger_holds h ON h.wallet = w.id AND h.released_at IS NULL
		GROUP BY w.id, w.name, w.currency, w.holds HAVING w.holds <> count(h.id) ORDER BY w.id LIMIT 1`,
	"audit": `SELECT 'transfer ' || t.id, 'has no audit entry'
		FROM ledger_transfers t WHERE NOT EXISTS (SELECT 1 FROM audit_entries a WHERE a.subject = 'transfer:' || t.id AND a.action = 'ledger.transfer')
		ORDER BY t.created_at, t.id LIMIT 1`,
}

// FirstFault implements ledger.Checker.
func (l *Ledger) FirstFault(ctx context.Context, rule string) (_ *ledger.Fault, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.FirstFault", rule)
	q, ok := faultQueries[rule]
	if !ok {
		return nil, fmt.Errorf("no query for rule %q", rule)
	}
	f := &ledger.Fault{Rule: rule}
	err = l.db.queryRow(ctx, q).Scan(&f.Row, &f.Detail)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// LedgerCounts returns how many transfers, entries and wallets the ledger holds.
func (l *Ledger) LedgerCounts(ctx context.Context) (transfers, entries, wallets int64, err error) {
	defer wrapErr(&err, "sqlstore.Ledger.LedgerCounts", "")
	err = l.db.queryRow(ctx, `SELECT (SELECT count(*) FROM ledger_transfers), (SELECT count(*) FROM ledger_entries),
		(SELECT count(*) FROM ledger_wallets)`).Scan(&transfers, &entries, &wallets)
	return transfers, entries, wallets, err
}
