package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
)

// The ledger's routes: transfers, wallets and statements, holds and their releases,
// withdrawals (also a user's own, under /v1/me/), compensation and recoveries.

var (
	ledgerW       = []principal.Role{principal.Service, principal.Admin}
	walletReaders = []principal.Role{principal.Service, principal.Agent, principal.Compliance, principal.Security, principal.Auditor, principal.Admin}
	holdsW        = []principal.Role{principal.Compliance, principal.Security, principal.Admin}
	holdsR        = []principal.Role{principal.Compliance, principal.Security, principal.Auditor, principal.Admin}
	compensateW   = []principal.Role{principal.Agent, principal.Compliance, principal.Admin}
	recoverW      = []principal.Role{principal.Compliance, principal.Admin}
)

// maxBatchBody is the body limit of POST /v1/transfers:batch: 8,000 transfers of up
// to 4 KiB of metadata each.
const maxBatchBody = 40 << 20

func (s *server) ledgerRoutes() []route {
	return []route{
		{Method: "POST", Path: "/v1/transfers", Roles: ledgerW,
			Summary: "Posts a transfer between ledger accounts (user:{account} or platform:{name}); a retry with the same id and body returns the first (200), another body under it is a 409.",
			Request: transferBody{}, Reply: ledger.Transfer{}, Status: http.StatusCreated, write: s.postTransfer},
		{Method: "POST", Path: "/v1/transfers:batch", Roles: ledgerW, MaxBody: maxBatchBody,
			Summary: "Posts up to 8,000 transfers in order, all or nothing; those posted before under the same id and body are returned as they were.",
			Request: batchBody{}, Reply: batchReply{}, Status: http.StatusCreated, write: s.postBatch},
		{Method: "PUT", Path: "/v1/platform-accounts/{name}", Roles: []principal.Role{principal.Admin},
			Summary: "Opens the platform account platform:{name} in a currency, which may go below zero when allow_negative; opening an open one changes nothing.",
			Request: platformBody{}, Reply: ledger.Wallet{}, write: s.openPlatform},
		{Method: "GET", Path: "/v1/accounts/{id}/wallets", Roles: walletReaders,
			Summary: "An account's wallets: per currency posted, held, pending and available (posted − held − pending).",
			Reply:   walletsReply{}, handle: s.getWallets},
		{Method: "GET", Path: "/v1/wallets/{id}/entries", Roles: walletReaders, Summary: "A wallet's statement, newest first, a page at a time.",
			Query: pageParams, Reply: entryPage{}, handle: s.listEntries},
		{Method: "POST", Path: "/v1/holds", Roles: holdsW,
			Summary: "Holds an amount, or all (the balance and every later credit), of an account's wallet under an authority: compliance for legal orders, security for platform risk.",
			Request: holdBody{}, Reply: ledger.Hold{}, Status: http.StatusCreated, write: s.placeHold},
		{Method: "GET", Path: "/v1/holds/{id}", Roles: holdsR, Summary: "Returns a hold.", Reply: ledger.Hold{}, handle: s.getHold},
		{Method: "POST", Path: "/v1/holds/{id}/releases", Roles: holdsW,
			Summary: "Releases an amount or all of a hold: at once for platform risk; for a legal order it is requested, and applied once someone else approves it.",
			Request: releaseBody{}, Reply: ledger.Release{}, Status: http.StatusCreated, write: s.requestRelease},
		{Method: "POST", Path: "/v1/holds/{id}/releases/{rid}/approve", Roles: holdsW,
			Summary: "Approves, and applies, a requested release of a legal order's hold; never by its requester.",
			Reply:   ledger.Release{}, write: s.approveRelease},
		{Method: "POST", Path: "/v1/withdrawals", Roles: ledgerW,
			Summary: "Reserves a withdrawal for the payment rail from what is available, read in the same transaction; 409 funds_held names each hold, 409 insufficient_funds. Allowed under any sanction.",
			Request: withdrawalBody{}, Reply: ledger.Withdrawal{}, Status: http.StatusCreated, write: s.withdraw},
		{Method: "GET", Path: "/v1/withdrawals/{id}", Roles: walletReaders, Summary: "Returns a withdrawal.", Reply: ledger.Withdrawal{}, handle: s.getWithdrawal},
		{Method: "POST", Path: "/v1/withdrawals/{id}/complete", Roles: ledgerW, Summary: "The payment rail paid the withdrawal: its amount leaves the wallet.",
			Reply: ledger.Withdrawal{}, write: s.completeWithdrawal},
		{Method: "POST", Path: "/v1/withdrawals/{id}/fail", Roles: ledgerW, Summary: "The payment rail could not pay the withdrawal: its amount is available again.",
			Request: failBody{}, Reply: ledger.Withdrawal{}, write: s.failWithdrawal},
		{Method: "POST", Path: "/v1/compensations", Roles: compensateW,
			Summary: "Pays compensation to an account from platform:compensation and, when recoverable, records it as owed back.",
			Request: compensationBody{}, Reply: ledger.Compensation{}, Status: http.StatusCreated, write: s.compensate},
		{Method: "GET", Path: "/v1/compensations/{id}", Roles: walletReaders, Summary: "Returns a compensation with its recoveries.",
			Reply: ledger.Compensation{}, handle: s.getCompensation},
		{Method: "POST", Path: "/v1/compensations/{id}/recoveries", Roles: recoverW,
			Summary: "Credits recovered funds to the victim and, up to what is still owed, moves them back to the fund, in one transaction.",
			Request: recoveryBody{}, Reply: ledger.Recovery{}, Status: http.StatusCreated, write: s.recoverFunds},
		{Method: "GET", Path: "/v1/me/wallets", Roles: endUser, Summary: "The token's account's wallets: per currency posted, held, pending and available.",
			Reply: walletsReply{}, handle: s.getMyWallets},
		{Method: "GET", Path: "/v1/me/wallets/{id}/entries", Roles: endUser, Summary: "The statement of one of the token's account's wallets, newest first, a page at a time.",
			Query: pageParams, Reply: entryPage{}, handle: s.listMyEntries},
		{Method: "POST", Path: "/v1/me/withdrawals", Roles: endUser,
			Summary: "Withdraws from the token's account's wallet, as POST /v1/withdrawals; allowed under a ban.",
			Request: myWithdrawalBody{}, Reply: ledger.Withdrawal{}, Status: http.StatusCreated, write: s.withdrawMine},
		{Method: "GET", Path: "/v1/me/withdrawals/{id}", Roles: endUser, Summary: "Returns one of the token's account's withdrawals.",
			Reply: ledger.Withdrawal{}, handle: s.getMyWithdrawal},
	}
}

type transferBody struct {
	ID       string            `json:"id"`
	From     string            `json:"from"`
	To       string            `json:"to"`
	Amount   int64             `json:"amount"`
	Currency string            `json:"currency"`
	Kind     string            `json:"kind,omitempty"` // default "transfer"
	Metadata map[string]string `json:"metadata,omitempty"`
}

func (b transferBody) transfer() *ledger.Transfer {
	return &ledger.Transfer{ID: b.ID, From: b.From, To: b.To, Amount: b.Amount, Currency: b.Currency, Kind: b.Kind, Metadata: b.Metadata}
}

type batchBody struct {
	Transfers []transferBody `json:"transfers"`
}

type batchReply struct {
	Transfers []*ledger.Transfer `json:"transfers"`
}

// created answers 201, or 200 for a retry that changed nothing.
func created(replayed bool) int {
	if replayed {
		return http.StatusOK
	}
	return http.StatusCreated
}

func (s *server) postTransfer(r *http.Request, body []byte) (applyFunc, error) {
	var b transferBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		t, replayed, err := s.Ledger.Transfer(ctx, b.transfer())
		return created(replayed), t, err
	}, nil
}

func (s *server) postBatch(r *http.Request, body []byte) (applyFunc, error) {
	var b batchBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	ts := make([]*ledger.Transfer, len(b.Transfers))
	for i, t := range b.Transfers {
		ts[i] = t.transfer()
	}
	return func(ctx context.Context) (int, any, error) {
		out, err := s.Ledger.TransferBatch(ctx, ts)
		return http.StatusCreated, batchReply{Transfers: out}, err
	}, nil
}

type platformBody struct {
	Currency      string `json:"currency"`
	AllowNegative bool   `json:"allow_negative"`
}

func (s *server) openPlatform(r *http.Request, body []byte) (applyFunc, error) {
	var b platformBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	name := "platform:" + r.PathValue("name")
	return func(ctx context.Context) (int, any, error) {
		w, err := s.Ledger.OpenPlatform(ctx, name, b.Currency, b.AllowNegative)
		return http.StatusOK, w, err
	}, nil
}

type walletsReply struct {
	Account string           `json:"account"`
	Wallets []ledger.Balance `json:"wallets"` // in currency order
}

func (s *server) wallets(ctx context.Context, account string) (int, any, error) {
	bs, err := s.Ledger.Wallets(ctx, account)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, walletsReply{Account: account, Wallets: bs}, nil
}

func (s *server) getWallets(r *http.Request) (int, any, error) {
	return s.wallets(r.Context(), r.PathValue("id"))
}

func (s *server) getMyWallets(r *http.Request) (int, any, error) {
	return s.wallets(r.Context(), principal.FromContext(r.Context()).Account())
}

type entryPage struct {
	Entries []*ledger.Entry `json:"entries"`
	Next    string          `json:"next,omitempty"`
}

func validEntryCursor(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0
}

// entries answers a page of wallet's statement; owner, when not "", must hold it.
func (s *server) entries(r *http.Request, owner string) (int, any, error) {
	before, limit, err := pageQuery(r, validEntryCursor)
	if err != nil {
		return 0, nil, err
	}
	ctx, id := r.Context(), r.PathValue("id")
	if owner != "" {
		w, err := s.Ledger.Wallet(ctx, id)
		if err != nil {
			return 0, nil, err
		}
		if w.Account != owner {
			return 0, nil, errs.E(errs.NotFound, "wallet %q not found", id) // never say whose it is
		}
	}
	n, _ := strconv.ParseInt(before, 10, 64)
	list, err := s.Ledger.Entries(ctx, id, n, limit+1)
	if err != nil {
		return 0, nil, err
	}
	var p entryPage
	p.Entries, p.Next = page(list, limit, func(e *ledger.Entry) string { return strconv.FormatInt(e.ID, 10) })
	return http.StatusOK, p, nil
}

func (s *server) listEntries(r *http.Request) (int, any, error) { return s.entries(r, "") }

func (s *server) listMyEntries(r *http.Request) (int, any, error) {
	return s.entries(r, principal.FromContext(r.Context()).Account())
}

// amountOrAll reads an "amount" of N or "all".
func amountOrAll(raw json.RawMessage) (all bool, n int64, err error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte(`"all"`)) {
		return true, 0, nil
	}
	if err := json.Unmarshal(raw, &n); err != nil || n <= 0 {
		return false, 0, errs.Field("amount", `must be a positive whole number of minor units, or "all"`)
	}
	return false, n, nil
}

type holdAuthorityBody struct {
	Kind           authority.Kind `json:"kind"`
	Issuer         string         `json:"issuer,omitempty"`
	Reference      string         `json:"reference,omitempty"`
	Rule           string         `json:"rule,omitempty"`
	DocumentSHA256 string         `json:"document_sha256,omitempty"`
}

type holdBody struct {
	Account   string            `json:"account"`
	Currency  string            `json:"currency"`
	Amount    json.RawMessage   `json:"amount"` // N minor units, or "all"
	Authority holdAuthorityBody `json:"authority"`
	Reason    string            `json:"reason"`
	ExpiresAt string            `json:"expires_at,omitempty"` // RFC 3339
}

func (s *server) placeHold(r *http.Request, body []byte) (applyFunc, error) {
	var b holdBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	all, n, err := amountOrAll(b.Amount)
	if err != nil {
		return nil, err
	}
	exp, err := parseTime("expires_at", b.ExpiresAt)
	if err != nil {
		return nil, err
	}
	a := b.Authority
	req := ledger.HoldRequest{Account: b.Account, Currency: b.Currency, All: all, Amount: n, Reason: b.Reason,
		Authority: ledger.HoldAuthority{Authority: authority.Authority{Kind: a.Kind, Issuer: a.Issuer, Reference: a.Reference, Rule: a.Rule}, DocumentSHA256: a.DocumentSHA256}}
	if !exp.IsZero() {
		req.ExpiresAt = &exp
	}
	return func(ctx context.Context) (int, any, error) {
		h, err := s.Ledger.PlaceHold(ctx, req)
		return http.StatusCreated, h, err
	}, nil
}

func (s *server) getHold(r *http.Request) (int, any, error) {
	h, err := s.Ledger.Hold(r.Context(), r.PathValue("id"))
	return http.StatusOK, h, err
}

type releaseBody struct {
	Amount json.RawMessage `json:"amount"` // N minor units, or "all"
	Reason string          `json:"reason"`
}

func (s *server) requestRelease(r *http.Request, body []byte) (applyFunc, error) {
	var b releaseBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	all, n, err := amountOrAll(b.Amount)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		rel, err := s.Ledger.RequestRelease(ctx, id, ledger.ReleaseRequest{All: all, Amount: n, Reason: b.Reason})
		return http.StatusCreated, rel, err
	}, nil
}

func (s *server) approveRelease(r *http.Request, body []byte) (applyFunc, error) {
	if err := noBody(body); err != nil {
		return nil, err
	}
	id, rid := r.PathValue("id"), r.PathValue("rid")
	return func(ctx context.Context) (int, any, error) {
		rel, err := s.Ledger.ApproveRelease(ctx, id, rid)
		return http.StatusOK, rel, err
	}, nil
}

type withdrawalBody struct {
	ID          string `json:"id"`
	Account     string `json:"account"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Destination string `json:"destination"`
}

type myWithdrawalBody struct {
	ID          string `json:"id"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Destination string `json:"destination"`
}

func (s *server) withdraw(r *http.Request, body []byte) (applyFunc, error) {
	var b withdrawalBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return s.withdrawal(&ledger.Withdrawal{ID: b.ID, Account: b.Account, Amount: b.Amount, Currency: b.Currency, Destination: b.Destination}), nil
}

func (s *server) withdrawMine(r *http.Request, body []byte) (applyFunc, error) {
	var b myWithdrawalBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	account := principal.FromContext(r.Context()).Account()
	return s.withdrawal(&ledger.Withdrawal{ID: b.ID, Account: account, Amount: b.Amount, Currency: b.Currency, Destination: b.Destination}), nil
}

func (s *server) withdrawal(w *ledger.Withdrawal) applyFunc {
	return func(ctx context.Context) (int, any, error) {
		out, replayed, err := s.Ledger.Withdraw(ctx, w)
		return created(replayed), out, err
	}
}

func (s *server) getWithdrawal(r *http.Request) (int, any, error) {
	w, err := s.Ledger.Withdrawal(r.Context(), r.PathValue("id"))
	return http.StatusOK, w, err
}

func (s *server) getMyWithdrawal(r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	w, err := s.Ledger.Withdrawal(r.Context(), id)
	if err == nil && w.Account != principal.FromContext(r.Context()).Account() {
		return 0, nil, errs.E(errs.NotFound, "withdrawal %q not found", id)
	}
	return http.StatusOK, w, err
}

func (s *server) completeWithdrawal(r *http.Request, body []byte) (applyFunc, error) {
	if err := noBody(body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		w, err := s.Ledger.Complete(ctx, id)
		return http.StatusOK, w, err
	}, nil
}

type failBody struct {
	Reason string `json:"reason,omitempty"`
}

func (s *server) failWithdrawal(r *http.Request, body []byte) (applyFunc, error) {
	var b failBody
	if err := decodeOptionalJSON(body, &b); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		w, err := s.Ledger.Fail(ctx, id, b.Reason)
		return http.StatusOK, w, err
	}, nil
}

type compensationBody struct {
	Account     string `json:"account"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	CaseRef     string `json:"case_ref"`
	Recoverable bool   `json:"recoverable"`
}

func (s *server) compensate(r *http.Request, body []byte) (applyFunc, error) {
	var b compensationBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		c, err := s.Ledger.Compensate(ctx, &ledger.Compensation{Account: b.Account, Amount: b.Amount, Currency: b.Currency, CaseRef: b.CaseRef, Recoverable: b.Recoverable})
		return http.StatusCreated, c, err
	}, nil
}

func (s *server) getCompensation(r *http.Request) (int, any, error) {
	c, err := s.Ledger.Compensation(r.Context(), r.PathValue("id"))
	return http.StatusOK, c, err
}

type recoveryBody struct {
	Amount    int64  `json:"amount"`
	Reference string `json:"reference"`
}

func (s *server) recoverFunds(r *http.Request, body []byte) (applyFunc, error) {
	var b recoveryBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		rec, err := s.Ledger.Recover(ctx, id, b.Amount, b.Reference)
		return http.StatusCreated, rec, err
	}, nil
}
