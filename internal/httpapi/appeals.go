package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/review"
)

var (
	appealFilers   = []principal.Role{principal.Agent, principal.Admin}
	appealReaders  = []principal.Role{principal.Reviewer, principal.Compliance, principal.Admin, principal.Auditor}
	appealDeciders = []principal.Role{principal.Reviewer, principal.Compliance}
	appealStats    = []principal.Role{principal.Compliance, principal.Admin, principal.Auditor}
	appealListing  = append([]param{
		{"state", "string", "open, claimed, decided, released, withdrawn or closed"},
		{"bulk_action", "string", "only appeals against this bulk action's sanctions"},
		{"policy", "string", "only appeals against sanctions under this policy"},
	}, pageParams...)
)

func (s *server) appealRoutes() []route {
	return []route{
		{Method: "POST", Path: "/v1/me/appeals", Roles: endUser,
			Summary: "Appeals one of the token's account's sanctions (always allowed, even under a ban); one open appeal per sanction.",
			Request: appealBody{}, Reply: myAppeal{}, Status: http.StatusCreated, write: s.fileAppeal},
		{Method: "GET", Path: "/v1/me/appeals", Roles: endUser, Summary: "Lists the token's account's appeals, oldest first, a page at a time.",
			Query: pageParams, Reply: myAppealPage{}, handle: s.listMyAppeals},
		{Method: "GET", Path: "/v1/me/appeals/{id}", Roles: endUser, Summary: "Returns one of the token's account's appeals.",
			Reply: myAppeal{}, handle: s.getMyAppeal},
		{Method: "POST", Path: "/v1/me/appeals/{id}/second-review", Roles: endUser,
			Summary: "Asks once for a second review of an upheld appeal, by a different reviewer.",
			Reply:   myAppeal{}, MaxBody: maxNoBody, write: s.secondReview},
		{Method: "POST", Path: "/v1/me/appeals/{id}/withdraw", Roles: endUser, Summary: "Withdraws an open appeal.",
			Reply: myAppeal{}, MaxBody: maxNoBody, write: s.withdrawAppeal},
		{Method: "POST", Path: "/v1/appeals", Roles: appealFilers,
			Summary: `Files an appeal on a user's behalf ("account", "channel": "agent"), recording the agent.`,
			Request: appealBody{}, Reply: appealReply{}, Status: http.StatusCreated, write: s.fileAppeal},
		{Method: "GET", Path: "/v1/appeals", Roles: appealReaders, Summary: "Lists appeals in filing order, a page at a time.",
			Query: appealListing, Reply: appealPage{}, handle: s.listAppeals},
		{Method: "GET", Path: "/v1/appeals/stats", Roles: appealStats,
			Summary: "Open appeals, their median and p95 age, breaches, overturn and release rates: overall, per policy, per bulk action, per reviewer.",
			Reply:   appeals.StatsReply{}, handle: s.appealStats},
		{Method: "GET", Path: "/v1/appeals/{id}", Roles: appealReaders,
			Summary: "Returns an appeal with its sanction (and evidence), the account as it was at filing and as it is now.",
			Reply:   appealDetail{}, handle: s.getAppeal},
		{Method: "POST", Path: "/v1/appeals:claim", Roles: appealDeciders,
			Summary: "Leases up to n open appeals to the caller in priority order (overdue, then harm, then age); never one against their own sanction or bulk action.",
			Request: review.ClaimRequest{}, Reply: appealClaim{}, write: s.claimAppeals},
		{Method: "POST", Path: "/v1/appeals/{id}/decision", Roles: appealDeciders,
			Summary: "Decides an appeal the caller holds the lease of: uphold, overturn (lifted as wrongful) or reduce (until); confirm or reimpose a released one under quality review.",
			Request: decisionBody{}, Reply: appealReply{}, write: s.decideAppeal},
		{Method: "PUT", Path: "/v1/bulk-actions/{id}/appeal-settings", Roles: bulkW,
			Summary: "Replaces how a bulk action's appeals are handled: appeal_screens (CEL over account and appeal), qa_percent, appeal_sla, on_sla_breach.",
			Request: bulk.AppealSettings{}, Reply: bulkReply{}, write: s.putAppealSettings},
	}
}

// appealBody is the body of POST /v1/me/appeals and POST /v1/appeals.
type appealBody = appeals.Filing

// appealReply is an appeal as staff see it, with its place in the queue.
type appealReply struct {
	*appeals.Appeal
	Priority int64 `json:"priority"`
}

func replyOf(a *appeals.Appeal) appealReply { return appealReply{a, a.Priority()} }

// myAppeal is an appeal as its user sees it: not who on the staff filed, holds or
// decided it, nor its place in the queue.
type myAppeal struct {
	ID        string             `json:"id"`
	Sanction  string             `json:"sanction"`
	State     appeals.State      `json:"state"`
	Statement string             `json:"statement"`
	Evidence  []appeals.Evidence `json:"evidence"`
	DueAt     time.Time          `json:"due_at"`
	Priority  int64              `json:"priority"`
	Outcome   appeals.Outcome    `json:"outcome,omitempty"`
	Note      string             `json:"note,omitempty"`
	Until     *time.Time         `json:"until,omitempty"`
	Round     int                `json:"round"`
	CreatedAt time.Time          `json:"created_at"`
	DecidedAt *time.Time         `json:"decided_at,omitempty"`
	// SecondReview says the user may still ask for a second review.
	SecondReview bool `json:"second_review_available"`
}

func mine(a *appeals.Appeal) myAppeal {
	return myAppeal{ID: a.ID, Sanction: a.Sanction, State: a.State, Statement: a.Statement, Evidence: a.Evidence, DueAt: a.DueAt,
		Priority: a.Priority(), Outcome: a.Outcome, Note: a.Note, Until: a.Until, Round: a.Round, CreatedAt: a.CreatedAt,
		DecidedAt: a.DecidedAt, SecondReview: a.State == appeals.Decided && a.Outcome == appeals.Uphold && a.Round == 1}
}

type myAppealPage struct {
	Appeals []myAppeal `json:"appeals"`
	Next    string     `json:"next,omitempty"`
}

type appealPage struct {
	Appeals []appealReply `json:"appeals"`
	Next    string        `json:"next,omitempty"`
}

type appealClaim struct {
	Appeals []appealReply `json:"appeals"` // in priority order; empty when the queue has none for the caller
}

// appealDetail is what a reviewer sees of an appeal.
type appealDetail struct {
	appealReply
	SanctionNow *enforce.Sanction `json:"sanction_record"`
	AccountNow  *accounts.Account `json:"account_now"`
}

type decisionBody struct {
	Outcome appeals.Outcome `json:"outcome"`
	Note    string          `json:"note"`
	Until   string          `json:"until,omitempty"` // reduce: RFC 3339
}

func (s *server) fileAppeal(r *http.Request, body []byte) (applyFunc, error) {
	var b appealBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	// What the filing reads, it reads before the write transaction (which only writes).
	pf, err := s.Appeals.PrepareFiling(r.Context(), b)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		if err := s.Appeals.Commit(ctx, pf); err != nil {
			return 0, nil, err
		}
		a := pf.Appeal
		if principal.FromContext(ctx).IsUser() {
			return http.StatusCreated, mine(a), nil
		}
		return http.StatusCreated, replyOf(a), nil
	}, nil
}

func (s *server) appealFilter(r *http.Request) (appeals.Filter, error) {
	after, limit, err := pageQuery(r, anyKey) // List checks it as an appeal ID
	if err != nil {
		return appeals.Filter{}, err
	}
	q := r.URL.Query()
	return appeals.Filter{State: appeals.State(q.Get("state")), BulkAction: q.Get("bulk_action"), Policy: q.Get("policy"),
		After: after, Limit: limit + 1}, nil
}

func (s *server) listAppeals(r *http.Request) (int, any, error) {
	f, err := s.appealFilter(r)
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Appeals.List(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	var p appealPage
	list, p.Next = page(list, f.Limit-1, func(a *appeals.Appeal) string { return a.ID })
	p.Appeals = make([]appealReply, len(list))
	for i, a := range list {
		p.Appeals[i] = replyOf(a)
	}
	return http.StatusOK, p, nil
}

func (s *server) listMyAppeals(r *http.Request) (int, any, error) {
	after, limit, err := pageQuery(r, anyKey)
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Appeals.List(r.Context(), appeals.Filter{After: after, Limit: limit + 1})
	if err != nil {
		return 0, nil, err
	}
	var p myAppealPage
	list, p.Next = page(list, limit, func(a *appeals.Appeal) string { return a.ID })
	p.Appeals = make([]myAppeal, len(list))
	for i, a := range list {
		p.Appeals[i] = mine(a)
	}
	return http.StatusOK, p, nil
}

func (s *server) getMyAppeal(r *http.Request) (int, any, error) {
	a, err := s.Appeals.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, mine(a), nil
}

func (s *server) getAppeal(r *http.Request) (int, any, error) {
	ctx := r.Context()
	a, err := s.Appeals.Get(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	d := appealDetail{appealReply: replyOf(a)}
	if d.SanctionNow, err = s.Enforce.Get(ctx, a.Sanction); err != nil {
		return 0, nil, err
	}
	if d.AccountNow, err = s.Accounts.Get(ctx, a.Account); err != nil && errs.CodeOf(err) != errs.NotFound {
		return 0, nil, err
	}
	return http.StatusOK, d, nil
}

func (s *server) appealStats(r *http.Request) (int, any, error) {
	st, err := s.Appeals.Stats(r.Context())
	return http.StatusOK, st, err
}

func (s *server) claimAppeals(r *http.Request, body []byte) (applyFunc, error) {
	b, err := decodeClaim(body)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		list, err := s.Appeals.Claim(ctx, b)
		if err != nil {
			return 0, nil, err
		}
		out := appealClaim{Appeals: make([]appealReply, len(list))}
		for i, a := range list {
			out.Appeals[i] = replyOf(a)
		}
		return http.StatusOK, out, nil
	}, nil
}

// decodeClaim decodes and checks a claim of the review queue (appeals, cases).
func decodeClaim(body []byte) (review.ClaimRequest, error) {
	var b review.ClaimRequest
	if err := decodeJSON(body, &b); err != nil {
		return b, err
	}
	_, _, err := b.Check()
	return b, err
}

func (s *server) decideAppeal(r *http.Request, body []byte) (applyFunc, error) {
	id := r.PathValue("id")
	if err := appeals.CheckID("id", id); err != nil {
		return nil, err
	}
	var b decisionBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	d := appeals.Decision{Outcome: b.Outcome, Note: b.Note}
	if b.Until != "" {
		t, err := time.Parse(time.RFC3339, b.Until)
		if err != nil {
			return nil, errs.Field("until", "must be an RFC 3339 time such as 2026-12-24T00:00:00Z")
		}
		d.Until = t.UTC()
	}
	return func(ctx context.Context) (int, any, error) {
		a, err := s.Appeals.Decide(ctx, id, d)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, replyOf(a), nil
	}, nil
}

func (s *server) myAppealChange(change func(ctx context.Context, id string) (*appeals.Appeal, error)) writeHandler {
	return func(r *http.Request, body []byte) (applyFunc, error) {
		id := r.PathValue("id")
		if err := appeals.CheckID("id", id); err != nil {
			return nil, err
		}
		if err := noBody(body); err != nil {
			return nil, err
		}
		return func(ctx context.Context) (int, any, error) {
			a, err := change(ctx, id)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusOK, mine(a), nil
		}, nil
	}
}

func (s *server) secondReview(r *http.Request, body []byte) (applyFunc, error) {
	return s.myAppealChange(s.Appeals.SecondReview)(r, body)
}

func (s *server) withdrawAppeal(r *http.Request, body []byte) (applyFunc, error) {
	return s.myAppealChange(s.Appeals.Withdraw)(r, body)
}

func (s *server) putAppealSettings(r *http.Request, body []byte) (applyFunc, error) {
	var b bulk.AppealSettings
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		a, err := s.Bulk.SetAppeals(ctx, id, b)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, s.Bulk.StatusOf(a), nil
	}, nil
}
