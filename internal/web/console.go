package web

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/reports"
	"github.com/stewardhq/steward/internal/review"
	"github.com/stewardhq/steward/internal/vault"
)

// homeView is the console's home: what waits for the viewer, as far as their role may
// see it.
type homeView struct {
	Appeals  []*appeals.Appeal // open, oldest first
	Breached []*appeals.Appeal // open past their deadline
	Stats    *appeals.StatsReply
	Cases    []*reports.Case
	Bulk     []bulk.Status // preparing, running, in canary or paused
}

// homeList is how many items of each kind the home page shows.
const homeList = 10

func (s *server) home(c *call) (result, error) {
	ctx := c.r.Context()
	var v homeView
	var err error
	if may(c.p, "GET /v1/appeals") {
		if v.Appeals, err = s.Appeals.List(ctx, appeals.Filter{State: appeals.Open, Limit: homeList}); err != nil {
			return result{}, err
		}
		for _, a := range v.Appeals {
			if a.Breached || a.DueAt.Before(time.Now()) {
				v.Breached = append(v.Breached, a)
			}
		}
	}
	if may(c.p, "GET /v1/appeals/stats") {
		if v.Stats, err = s.Appeals.Stats(ctx); err != nil {
			return result{}, err
		}
	}
	if may(c.p, "GET /v1/cases") {
		if v.Cases, err = s.Reports.List(ctx, reports.Filter{Limit: homeList}); err != nil {
			return result{}, err
		}
	}
	if may(c.p, "GET /v1/bulk-actions/{id}") {
		ids, err := s.Stores.BulkActions.Active(ctx, bulk.Preparing, bulk.Running, bulk.Canary, bulk.Paused, bulk.Reverting)
		if err != nil {
			return result{}, err
		}
		for _, id := range ids[:min(len(ids), homeList)] {
			a, err := s.Bulk.Get(ctx, id)
			if err != nil {
				return result{}, err
			}
			v.Bulk = append(v.Bulk, s.Bulk.StatusOf(a))
		}
	}
	return result{view: "home", data: v}, nil
}

func (s *server) findAccount(c *call) (result, error) {
	id := strings.TrimSpace(c.r.URL.Query().Get("id"))
	if err := accounts.CheckID("id", id); err != nil {
		return result{}, err
	}
	return result{redirect: "/console/accounts/" + url.PathEscape(id)}, nil
}

// accountView is one account as staff see it.
type accountView struct {
	Account   *accounts.Account
	Active    []activeKind        // what denies something now, by kind
	Sanctions []*enforce.Sanction // the latest, newest first
	More      bool                // there are more sanctions than shown
	Notices   []*notify.Notice
	Appeals   []*appeals.Appeal
	Wallets   []ledger.Balance
	PII       *vault.PII
	Purposes  []string
	Revealed  *vault.PII
	Access    []audit.Item
}

// activeKind is the sanctions of one kind in force on an account: how many, and
// everything they deny.
type activeKind struct {
	Kind         enforce.Kind
	N            int
	Services     []string
	Capabilities []string
}

func summarize(es []enforce.Entry) []activeKind {
	var out []activeKind
	at := map[enforce.Kind]int{}
	for _, e := range es {
		i, ok := at[e.Kind]
		if !ok {
			i = len(out)
			at[e.Kind] = i
			out = append(out, activeKind{Kind: e.Kind})
		}
		k := &out[i]
		k.N++
		for _, sv := range e.Services {
			if !slices.Contains(k.Services, sv) {
				k.Services = append(k.Services, sv)
			}
		}
		for _, c := range e.Capabilities {
			if !slices.Contains(k.Capabilities, c) {
				k.Capabilities = append(k.Capabilities, c)
			}
		}
	}
	return out
}

// accountList is how many of an account's sanctions, notices and appeals the account
// page shows: the newest, from indexes read backwards.
const accountList = 50

func (s *server) account(c *call) (result, error) {
	v, err := s.accountView(c, c.r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	return result{view: "account", data: v}, nil
}

func (s *server) accountView(c *call, id string) (*accountView, error) {
	ctx := c.r.Context()
	if err := accounts.CheckID("id", id); err != nil {
		return nil, err
	}
	a, err := s.Accounts.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &accountView{Account: a}
	// The status is read from the decision index, as checks are: an account with a
	// thousand sanctions in force would otherwise read each in full (enforce.Standing).
	v.Active = summarize(s.Enforce.Active(id, time.Now().UnixNano()))
	if v.Sanctions, err = s.Enforce.List(ctx, id, "", accountList+1); err != nil {
		return nil, err
	}
	if len(v.Sanctions) > accountList {
		v.Sanctions, v.More = v.Sanctions[:accountList], true
	}
	if v.Notices, err = s.Notices.List(ctx, id, "", accountList); err != nil {
		return nil, err
	}
	if may(c.p, "GET /v1/appeals") {
		if v.Appeals, err = s.Appeals.List(ctx, appeals.Filter{Account: id, Limit: accountList}); err != nil {
			return nil, err
		}
	}
	if may(c.p, "GET /v1/accounts/{id}/wallets") {
		if v.Wallets, err = s.Ledger.Wallets(ctx, id); err != nil {
			return nil, err
		}
	}
	if may(c.p, "GET /v1/accounts/{id}/pii") {
		v.PII, err = s.Vault.Masked(ctx, id)
		if err != nil && errs.CodeOf(err) != errs.NotFound {
			return nil, err
		}
	}
	if may(c.p, "GET /v1/audit/entries") {
		subject, err := s.Vault.Commitment(ctx, id)
		if err != nil {
			return nil, err
		}
		page, err := s.Audit.Entries(ctx, audit.Filter{Subject: subject, Limit: 20})
		if err != nil {
			return nil, err
		}
		v.Access = page.Items
	}
	return v, nil
}

// reveal shows fields of an account's personal data in clear, for a purpose and
// ticket the viewer gives; the vault records the reveal.
func (s *server) reveal(c *call) (result, error) {
	id := c.r.PathValue("id")
	req := vault.RevealRequest{Fields: c.r.PostForm["field"], Purpose: strings.TrimSpace(c.r.PostFormValue("purpose")),
		Ticket: strings.TrimSpace(c.r.PostFormValue("ticket"))}
	var fs errs.Fields
	if len(req.Fields) == 0 {
		fs.Add("field", "choose at least one field to reveal")
	}
	required(&fs, "purpose", req.Purpose)
	if err := fs.Err(); err != nil {
		return result{}, err
	}
	p, err := s.Vault.Reveal(c.r.Context(), id, req)
	if err != nil {
		return result{}, err
	}
	v, err := s.accountView(c, id)
	if err != nil {
		return result{}, err
	}
	v.Revealed = p
	return result{view: "account", data: v}, nil
}

// queueView is the appeals a reviewer sees: open ones and those they claimed.
type queueView struct {
	Open    []*appeals.Appeal
	Claimed []*appeals.Appeal
}

func (s *server) appealQueue(c *call) (result, error) {
	ctx := c.r.Context()
	var v queueView
	var err error
	if v.Open, err = s.Appeals.List(ctx, appeals.Filter{State: appeals.Open, Limit: 100}); err != nil {
		return result{}, err
	}
	if v.Claimed, err = s.Appeals.List(ctx, appeals.Filter{State: appeals.Claimed, Limit: 100, Now: time.Now()}); err != nil {
		return result{}, err
	}
	return result{view: "appeals", data: v}, nil
}

func (s *server) claimAppeals(c *call) (result, error) {
	n, err := formInt(c, "n", 1)
	if err != nil {
		return result{}, err
	}
	req := review.ClaimRequest{N: n, Lease: c.r.PostFormValue("lease")}
	if _, _, err := req.Check(); err != nil {
		return result{}, err
	}
	list, err := s.Appeals.Claim(c.r.Context(), req)
	if err != nil {
		return result{}, err
	}
	if len(list) == 0 {
		return result{}, errs.E(errs.NotFound, "the queue has no appeal for you to claim")
	}
	return result{redirect: "/console/appeals/" + list[0].ID}, nil
}

// appealView is one appeal beside its sanction and the account then and now.
type appealView struct {
	Appeal   *appeals.Appeal
	Sanction *enforce.Sanction
	Now      *accounts.Account
}

func (s *server) appeal(c *call) (result, error) {
	ctx := c.r.Context()
	id := c.r.PathValue("id")
	if err := appeals.CheckID("id", id); err != nil {
		return result{}, err
	}
	a, err := s.Appeals.Get(ctx, id)
	if err != nil {
		return result{}, err
	}
	v := appealView{Appeal: a}
	if v.Sanction, err = s.Enforce.Get(ctx, a.Sanction); err != nil {
		return result{}, err
	}
	if v.Now, err = s.Accounts.Get(ctx, a.Account); err != nil && errs.CodeOf(err) != errs.NotFound {
		return result{}, err
	}
	return result{view: "appeal", data: v}, nil
}

func (s *server) decideAppeal(c *call) (result, error) {
	id := c.r.PathValue("id")
	if err := appeals.CheckID("id", id); err != nil {
		return result{}, err
	}
	d := appeals.Decision{Outcome: appeals.Outcome(c.r.PostFormValue("outcome")), Note: c.r.PostFormValue("note")}
	if u := c.r.PostFormValue("until"); u != "" {
		t, err := time.Parse("2006-01-02T15:04", u)
		if err != nil {
			return result{}, errs.Field("until", "must be a date and time such as 2026-12-24T00:00")
		}
		d.Until = t.UTC()
	}
	if _, err := s.Appeals.Decide(c.r.Context(), id, d); err != nil {
		return result{}, err
	}
	return result{redirect: "/console/appeals/" + id}, nil
}

func (s *server) caseList(c *call) (result, error) {
	list, err := s.Reports.List(c.r.Context(), reports.Filter{Limit: 100})
	if err != nil {
		return result{}, err
	}
	return result{view: "cases", data: list}, nil
}

func (s *server) reportCase(c *call) (result, error) {
	d, err := s.Reports.Detail(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	return result{view: "case", data: d}, nil
}

// auditView is the latest checkpoint and a search of the log.
type auditView struct {
	Checkpoint string
	Subject    string
	Actor      string
	Items      []audit.Item
}

func (s *server) auditPage(c *call) (result, error) {
	ctx := c.r.Context()
	q := c.r.URL.Query()
	v := auditView{Subject: strings.TrimSpace(q.Get("subject")), Actor: strings.TrimSpace(q.Get("actor"))}
	cp, err := s.Audit.Checkpoint(ctx)
	switch {
	case errs.CodeOf(err) == errs.NotFound:
	case err != nil:
		return result{}, err
	default:
		v.Checkpoint = string(cp.Note)
	}
	if v.Subject != "" || v.Actor != "" {
		page, err := s.Audit.Entries(ctx, audit.Filter{Subject: v.Subject, Actor: v.Actor, Limit: 100})
		if err != nil {
			return result{}, err
		}
		v.Items = page.Items
	}
	return result{view: "audit", data: v}, nil
}

// formInt reads an integer form field, def when it is empty.
func formInt(c *call, field string, def int) (int, error) {
	v := strings.TrimSpace(c.r.PostFormValue(field))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errs.Field(field, "must be a whole number")
	}
	return n, nil
}
