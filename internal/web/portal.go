package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/notify"
)

// portalView is an account's standing as its holder sees it: what is restricted, why,
// until when and what still works; notices, appeals, wallets and a new withdrawal's ID.
type portalView struct {
	Account      *accounts.Account
	Sanctions    []*enforce.Sanction
	StillAllowed []string
	Notices      []*notify.Notice
	Appeals      []*appeals.Appeal
	Wallets      []ledger.Balance
	Withdrawal   *ledger.Withdrawal // the one just asked for
	WithdrawalID string             // the next form's: a double post pays once
	Locales      []string
}

func (s *server) portalHome(c *call) (result, error) {
	if l := c.r.URL.Query().Get("lang"); l != "" {
		http.SetCookie(c.w, s.cookie(c, localeCookie, match(l), 0, "/portal/"))
	}
	v, err := s.portalView(c)
	if err != nil {
		return result{}, err
	}
	if id := c.r.URL.Query().Get("withdrawal"); id != "" {
		wd, err := s.Ledger.Withdrawal(c.r.Context(), id)
		if err != nil {
			return result{}, err
		}
		if wd.Account != c.p.Account() { // another account's: as if there were none
			return result{}, errs.E(errs.NotFound, "no such withdrawal")
		}
		v.Withdrawal = wd
	}
	return result{view: "portal", data: v}, nil
}

func (s *server) portalView(c *call) (*portalView, error) {
	ctx := c.r.Context()
	id := c.p.Account()
	v := &portalView{StillAllowed: enforce.Protected, WithdrawalID: uuid.Must(uuid.NewV7()).String(), Locales: locales}
	var err error
	if v.Account, err = s.Accounts.Get(ctx, id); err != nil {
		return nil, err
	}
	if v.Sanctions, err = s.Enforce.Standing(ctx, id); err != nil {
		return nil, err
	}
	if v.Notices, err = s.Notices.List(ctx, id, "", 10); err != nil {
		return nil, err
	}
	if v.Appeals, err = s.Appeals.List(ctx, appeals.Filter{Limit: 20}); err != nil { // the user's own: the service scopes it
		return nil, err
	}
	if v.Wallets, err = s.Ledger.Wallets(ctx, id); err != nil {
		return nil, err
	}
	return v, nil
}

// maxEvidence is the largest file an appeal's form takes. Steward keeps the file's
// SHA-256 and name, as an appeal's evidence is kept: the document stays with the user
// and the platform.
const maxEvidence = 8 << 20

func (s *server) portalAppeal(c *call) (result, error) {
	f := appeals.Filing{Sanction: c.r.PostFormValue("sanction"), Statement: strings.TrimSpace(c.r.PostFormValue("statement"))}
	if file, hdr, err := c.r.FormFile("evidence"); err == nil {
		defer file.Close()
		h := sha256.New()
		if _, err := io.Copy(h, io.LimitReader(file, maxEvidence)); err != nil {
			return result{}, errs.Field("evidence", "could not be read")
		}
		name := hdr.Filename
		if len(name) > 200 {
			name = name[:200]
		}
		f.Evidence = append(f.Evidence, appeals.Evidence{Kind: "document", Text: name, SHA256: hex.EncodeToString(h.Sum(nil))})
	} else if err != http.ErrMissingFile {
		return result{}, errs.Field("evidence", "could not be read: %v", err)
	}
	if _, err := s.Appeals.File(c.r.Context(), f); err != nil {
		return result{}, err
	}
	return result{redirect: "/portal/#appeals"}, nil
}

func (s *server) portalWithdraw(c *call) (result, error) {
	amount, err := parseMoney(c.r.PostFormValue("amount"))
	var fs errs.Fields
	if err != nil {
		fs.Add("amount", "must be an amount such as 12.50")
	}
	w := &ledger.Withdrawal{ID: c.r.PostFormValue("id"), Account: c.p.Account(), Amount: amount,
		Currency: c.r.PostFormValue("currency"), Destination: strings.TrimSpace(c.r.PostFormValue("destination"))}
	if err := fs.Err(); err != nil {
		return result{}, err
	}
	out, _, err := s.Ledger.Withdraw(c.r.Context(), w)
	if err != nil {
		return result{}, err
	}
	return result{redirect: "/portal/?withdrawal=" + url.QueryEscape(out.ID)}, nil
}

// parseMoney reads "12.50" as 1250 minor units.
func parseMoney(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || whole == "" {
		return 0, errs.E(errs.Invalid, "not an amount")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || n <= 0 {
		return 0, errs.E(errs.Invalid, "not an amount")
	}
	return n, nil
}

// accessView is who read or revealed the account's personal data.
type accessView struct {
	Items []audit.Item
}

func (s *server) portalAccessLog(c *call) (result, error) {
	ctx := c.r.Context()
	subject, err := s.Vault.Commitment(ctx, c.p.Account())
	if err != nil {
		return result{}, err
	}
	page, err := s.Audit.Entries(ctx, audit.Filter{Subject: subject, Limit: 100})
	if err != nil {
		return result{}, err
	}
	return result{view: "portal-access", data: accessView{Items: page.Items}}, nil
}
