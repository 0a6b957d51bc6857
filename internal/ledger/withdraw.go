package ledger

import (
	"time"

	"github.com/stewardhq/steward/internal/errs"
)

// WithdrawalState is where a withdrawal stands.
type WithdrawalState string

const (
	Pending   WithdrawalState = "pending"   // reserved; the payment rail is paying it
	Completed WithdrawalState = "completed" // paid: the amount left the wallet
	Failed    WithdrawalState = "failed"    // not paid: the amount is available again
)

// Withdrawal pays money out of a user's wallet by the payment rail. ID is the client's.
type Withdrawal struct {
	ID          string          `json:"id"`
	Account     string          `json:"account"`
	Wallet      string          `json:"wallet"`
	Amount      int64           `json:"amount"`
	Currency    string          `json:"currency"`
	Destination string          `json:"destination"`
	State       WithdrawalState `json:"state"`
	Transfer    string          `json:"transfer,omitempty"` // the transfer that paid it, once completed
	Reason      string          `json:"reason,omitempty"`   // why it failed
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// MaxDestination is the most bytes of a withdrawal's destination.
const MaxDestination = 256

func (w *Withdrawal) validate() error {
	var fs errs.Fields
	if !ValidClientID(w.ID) {
		fs.Add("id", "must be %s", ClientIDRule)
	}
	checkMoney(&fs, w.Account, w.Amount, w.Currency)
	if w.Destination == "" || len(w.Destination) > MaxDestination {
		fs.Add("destination", "is required: at most %d bytes naming where the rail pays", MaxDestination)
	}
	return fs.Err()
}

// same reports whether v is w's request again.
func (w *Withdrawal) same(v *Withdrawal) bool {
	return w.Account == v.Account && w.Amount == v.Amount && w.Currency == v.Currency && w.Destination == v.Destination
}

// Compensation is money advanced to a victim from the compensation fund; when
// recoverable, what recoveries repay goes back to the fund up to Owed.
type Compensation struct {
	ID          string    `json:"id"`
	Account     string    `json:"account"`
	Amount      int64     `json:"amount"`
	Currency    string    `json:"currency"`
	CaseRef     string    `json:"case_ref"`
	Recoverable bool      `json:"recoverable"`
	Owed        int64     `json:"owed"`      // still to be repaid to the fund
	Recovered   int64     `json:"recovered"` // every recovery's amount so far
	Transfer    string    `json:"transfer"`  // the transfer that paid it
	CreatedAt   time.Time `json:"created_at"`
	// Recoveries are the recoveries credited so far, oldest first.
	Recoveries []Recovery `json:"recoveries"`
}

// Recovery is money recovered for a compensated victim (by the police, say): credited
// to the victim, and up to what is owed moved back to the fund in the same transaction.
type Recovery struct {
	ID        string    `json:"id"`
	Amount    int64     `json:"amount"`
	Reference string    `json:"reference"`
	Repaid    int64     `json:"repaid"`             // moved back to the fund
	Credit    string    `json:"credit"`             // the transfer crediting the victim
	Clawback  string    `json:"clawback,omitempty"` // the transfer repaying the fund
	CreatedAt time.Time `json:"created_at"`
}
