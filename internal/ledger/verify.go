package ledger

import "context"

// Fault is the first row at fault of one of the ledger's rules, as Verify finds it.
type Fault struct {
	Rule   string // which rule it breaks, e.g. "posted"
	Row    string // the row at fault, e.g. "wallet 0193… (user:u-1 CNY)"
	Detail string // how
}

func (f *Fault) Error() string { return f.Rule + ": " + f.Row + ": " + f.Detail }

// Rules lists what Verify checks, in order, each with what it means.
var Rules = []struct{ Name, Means string }{
	{"legs", "every transfer has exactly two entries, a debit and a credit of its amount"},
	{"orphans", "every entry belongs to a stored transfer"},
	{"currency", "per currency, debits equal credits"},
	{"posted", "each wallet's posted amount is the sum of its entries"},
	{"negative", "no user wallet is, or ever was, below zero"},
	{"pending", "each wallet's pending amount is the sum of its pending withdrawals, and held plus pending is never above posted"},
	{"holds", "each wallet counts the holds on it not released"},
	{"audit", "every transfer has its audit entry"},
}

// Checker finds the first row at fault of a rule of Rules.
type Checker interface {
	// FirstFault returns the first row breaking rule, nil when none does.
	FirstFault(ctx context.Context, rule string) (*Fault, error)
}

// Verify checks every rule of Rules in order and returns the first fault found, nil
// when the ledger is exact.
func Verify(ctx context.Context, c Checker) (*Fault, error) {
	for _, r := range Rules {
		f, err := c.FirstFault(ctx, r.Name)
		if err != nil || f != nil {
			return f, err
		}
	}
	return nil, nil
}
