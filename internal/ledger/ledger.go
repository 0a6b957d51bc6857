package ledger

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
)

// MaxAmount bounds any one amount, so that sums of many never overflow int64.
const MaxAmount = 1_000_000_000_000_000

// Standard platform accounts, opened on first use in any currency.
const (
	Deposits         = "platform:deposits"     // money arriving from outside; may go negative
	Withdrawals      = "platform:withdrawals"  // money paid out by the payment rail
	CompensationFund = "platform:compensation" // advances to victims, repaid by recoveries
	Fees             = "platform:fees"
	Recoveries       = "platform:recoveries" // funds police or others recovered; may go negative
)

// standard lists the platform accounts opened on first use, and whether each may go
// below zero: the two that stand for money outside Steward.
var standard = map[string]bool{Deposits: true, Withdrawals: false, CompensationFund: false, Fees: false, Recoveries: true}

var (
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	platformPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
	kindPattern     = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,31}$`)
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)
)

// Rules, for messages.
const (
	CurrencyRule = "an ISO 4217 code: three capital letters such as CNY"
	NameRule     = `"user:{account}" or "platform:{name}" (1 to 32 of a-z, 0-9, _ and -, starting with a letter)`
	KindRule     = "1 to 32 of a-z, 0-9, _ . and -, starting with a letter"
	ClientIDRule = "1 to 128 letters, digits and . _ : @ -, starting with a letter or digit"
)

// ValidCurrency reports whether c is an ISO 4217 code in form.
func ValidCurrency(c string) bool { return currencyPattern.MatchString(c) }

// ValidClientID reports whether id is in the form of a client's ID of a transfer or
// withdrawal.
func ValidClientID(id string) bool { return clientIDPattern.MatchString(id) }

// UserName returns the ledger account name of account's wallets.
func UserName(account string) string { return "user:" + account }

// ParseName returns the user account a ledger account name names ("" for a platform
// account), or an error saying why it names none.
func ParseName(name string) (account string, err error) {
	switch {
	case strings.HasPrefix(name, "user:"):
		if a := name[len("user:"):]; accounts.ValidID(a) {
			return a, nil
		}
	case strings.HasPrefix(name, "platform:"):
		if platformPattern.MatchString(name[len("platform:"):]) {
			return "", nil
		}
	}
	return "", fmt.Errorf("must be %s", NameRule)
}

// checkAmount adds to fs unless n is a positive amount no larger than MaxAmount.
func checkAmount(fs *errs.Fields, field string, n int64) {
	if n <= 0 || n > MaxAmount {
		fs.Add(field, "must be a whole number of minor units from 1 to %d", int64(MaxAmount))
	}
}

// checkMoney adds to fs every way account, amount and currency are malformed.
func checkMoney(fs *errs.Fields, account string, amount int64, currency string) {
	if !accounts.ValidID(account) {
		fs.Add("account", "must be %s", accounts.IDRule)
	}
	checkAmount(fs, "amount", amount)
	if !ValidCurrency(currency) {
		fs.Add("currency", "must be %s", CurrencyRule)
	}
}

// Wallet is one ledger account in one currency: a user's wallet or a platform account.
type Wallet struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`              // user:{account} or platform:{name}
	Account       string    `json:"account,omitempty"` // the user's account; "" for a platform account
	Currency      string    `json:"currency"`
	AllowNegative bool      `json:"allow_negative"` // never for a user's wallet
	Posted        int64     `json:"posted"`         // the sum of its entries
	Pending       int64     `json:"pending"`        // reserved by pending withdrawals
	Holds         int       `json:"-"`              // holds placed and not released (some may have expired)
	CreatedAt     time.Time `json:"created_at"`
}

// Balance is a wallet's money as its holder sees it.
type Balance struct {
	Wallet    string `json:"wallet"`
	Currency  string `json:"currency"`
	Posted    int64  `json:"posted"`
	Held      int64  `json:"held"`
	Pending   int64  `json:"pending"`
	Available int64  `json:"available"` // posted − held − pending
}

// balance returns w's balance under the holds in force on it.
func balance(w *Wallet, holds []*Hold) Balance {
	free := max(w.Posted-w.Pending, 0)
	var held int64
	for _, h := range holds {
		if h.All {
			held = free
			break
		}
		held += h.Amount
	}
	held = min(held, free)
	return Balance{Wallet: w.ID, Currency: w.Currency, Posted: w.Posted, Held: held, Pending: w.Pending,
		Available: w.Posted - w.Pending - held}
}

// Transfer moves Amount of Currency from one ledger account to another. ID is the
// client's: a retry with the same ID and body returns the first result.
type Transfer struct {
	ID        string            `json:"id"`
	From      string            `json:"from"`
	To        string            `json:"to"`
	Amount    int64             `json:"amount"`
	Currency  string            `json:"currency"`
	Kind      string            `json:"kind"` // default "transfer"
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
}

// Metadata limits.
const (
	MaxMetadataKeys = 16
	MaxMetadataSize = 4096 // bytes of keys and values
)

func (t *Transfer) normalize() {
	if t.Kind == "" {
		t.Kind = "transfer"
	}
}

// validate adds every way t is malformed to fs, with field names after prefix.
func (t *Transfer) validate(fs *errs.Fields, prefix string) {
	if !ValidClientID(t.ID) {
		fs.Add(prefix+"id", "must be %s", ClientIDRule)
	}
	_, ferr := ParseName(t.From)
	if ferr != nil {
		fs.Add(prefix+"from", "%v", ferr)
	}
	_, terr := ParseName(t.To)
	if terr != nil {
		fs.Add(prefix+"to", "%v", terr)
	}
	if ferr == nil && terr == nil && t.From == t.To {
		fs.Add(prefix+"to", "must differ from from")
	}
	checkAmount(fs, prefix+"amount", t.Amount)
	if !ValidCurrency(t.Currency) {
		fs.Add(prefix+"currency", "must be %s", CurrencyRule)
	}
	if !kindPattern.MatchString(t.Kind) {
		fs.Add(prefix+"kind", "must be %s", KindRule)
	}
	size := 0
	for k, v := range t.Metadata {
		size += len(k) + len(v)
		if k == "" {
			fs.Add(prefix+"metadata", "has an empty key")
		}
	}
	if len(t.Metadata) > MaxMetadataKeys || size > MaxMetadataSize {
		fs.Add(prefix+"metadata", "at most %d keys and %d bytes", MaxMetadataKeys, MaxMetadataSize)
	}
}

// same reports whether u is t's request again: everything but the time it was made.
func (t *Transfer) same(u *Transfer) bool {
	if t.From != u.From || t.To != u.To || t.Amount != u.Amount || t.Currency != u.Currency || t.Kind != u.Kind || len(t.Metadata) != len(u.Metadata) {
		return false
	}
	for k, v := range t.Metadata {
		if w, ok := u.Metadata[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Entry is one line of a wallet's statement: one leg of a transfer.
type Entry struct {
	ID        int64     `json:"id"`
	Wallet    string    `json:"wallet"`
	Transfer  string    `json:"transfer"`
	Kind      string    `json:"kind"`
	Amount    int64     `json:"amount"`  // positive for a credit, negative for a debit
	Balance   int64     `json:"balance"` // posted after it
	CreatedAt time.Time `json:"created_at"`
}
