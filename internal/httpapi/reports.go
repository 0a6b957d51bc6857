package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/reports"
	"github.com/stewardhq/steward/internal/review"
)

var (
	reportsW      = []principal.Role{principal.Service, principal.Admin}
	caseReaders   = []principal.Role{principal.Reviewer, principal.Compliance, principal.Admin}
	caseDeciders  = []principal.Role{principal.Reviewer, principal.Compliance}
	caseListQuery = []param{
		{"state", "string", "open (default) or decided"},
		{"category", "string", "only cases of this category"},
		{"flag", "string", "only cases with this flag (suspected_brigade)"},
		{"cursor", "string", "the next value of the previous page"},
		{"limit", "integer", "page size, 1 to 500 (default 100)"},
	}
)

func (s *server) reportRoutes() []route {
	return []route{
		{Method: "POST", Path: "/v1/me/reports", Roles: endUser,
			Summary: "Reports an account (the reporter is the token's account): it joins the open case of its target and category; once per target and category a day (429).",
			Request: myReportBody{}, Reply: reports.Receipt{}, Status: http.StatusAccepted, write: s.fileMyReport},
		{Method: "POST", Path: "/v1/reports", Roles: reportsW,
			Summary: "Reports an account on behalf of reporter, with what the platform knows of the reporter's session in context.",
			Request: reportBody{}, Reply: reports.Receipt{}, Status: http.StatusAccepted, write: s.fileReport},
		{Method: "POST", Path: "/v1/signals", Roles: reportsW,
			Summary: "An automated signal (keyword trigger, classifier): it joins the account's case with its rule's weight; it imposes only what a policy allows the rule.",
			Request: signalBody{}, Reply: reports.Receipt{}, Status: http.StatusAccepted, write: s.fileSignal},
		{Method: "GET", Path: "/v1/cases", Roles: caseReaders, Summary: "Lists cases by score, highest first, a page at a time.",
			Query: caseListQuery, Reply: casePage{}, handle: s.listCases},
		{Method: "GET", Path: "/v1/cases/{id}", Roles: caseReaders,
			Summary: "Returns a case with its reports and signals, its score's parts and, when flagged, the brigade's cluster.",
			Reply:   reports.Detail{}, handle: s.getCase},
		{Method: "POST", Path: "/v1/cases:claim", Roles: caseDeciders,
			Summary: "Leases up to n open cases to the caller, highest score first (overdue first); never one the caller approved already.",
			Request: review.ClaimRequest{}, Reply: caseClaim{}, write: s.claimCases},
		{Method: "POST", Path: "/v1/cases/{id}/decision", Roles: caseDeciders,
			Summary: "Decides a case the caller holds: action (a sanction or a strike, through enforce; a protected target needs a second reviewer) or dismiss. Every reporter is told the outcome.",
			Request: reports.Decision{}, Reply: reports.Case{}, write: s.decideCase},
		{Method: "POST", Path: "/v1/cases/{id}/bad-faith", Roles: caseDeciders,
			Summary: "Marks reporters of the case as acting in bad faith: their reports stop counting, and their weight is zero for a while.",
			Request: badFaithBody{}, Reply: reports.Case{}, write: s.markBadFaith},
		{Method: "GET", Path: "/v1/accounts/{id}/reporter", Roles: caseReaders,
			Summary: "The account's accuracy as a reporter, per category: decided reports, the platform-wide prior and the posterior.",
			Reply:   reporterReply{}, handle: s.getReporter},
	}
}

// myReportBody is a report as its reporter files it.
type myReportBody struct {
	Target   string          `json:"target"`
	Category string          `json:"category"`
	Text     string          `json:"text"`
	Evidence []string        `json:"evidence"`
	Context  reports.Context `json:"context"`
}

// reportBody is a report a platform's backend files for the reporter.
type reportBody struct {
	Reporter string `json:"reporter"`
	myReportBody
}

type signalBody struct {
	Account string  `json:"account"`
	Rule    string  `json:"rule"`
	Score   float64 `json:"score"`
	Detail  string  `json:"detail"`
}

type casePage struct {
	Cases []*reports.Case `json:"cases"`
	Next  string          `json:"next,omitempty"`
}

type caseClaim struct {
	Cases []*reports.Case `json:"cases"` // highest score first; empty when none is free for the caller
}

type badFaithBody struct {
	Reporters []string `json:"reporters"`
}

type reporterReply struct {
	Account    string             `json:"account"`
	Categories []reports.Standing `json:"categories"`
}

func (s *server) fileMyReport(r *http.Request, body []byte) (applyFunc, error) {
	var b myReportBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		return s.report(ctx, principal.FromContext(ctx).Account(), b)
	}, nil
}

func (s *server) fileReport(r *http.Request, body []byte) (applyFunc, error) {
	var b reportBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		return s.report(ctx, b.Reporter, b.myReportBody)
	}, nil
}

func (s *server) report(ctx context.Context, reporter string, b myReportBody) (int, any, error) {
	rc, err := s.Reports.Report(ctx, &reports.Report{Reporter: reporter, Target: b.Target, Category: b.Category, Text: b.Text,
		Evidence: b.Evidence, Context: b.Context})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, rc, nil
}

func (s *server) fileSignal(r *http.Request, body []byte) (applyFunc, error) {
	var b signalBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		rc, err := s.Reports.Signal(ctx, &reports.Signal{Account: b.Account, Rule: b.Rule, Score: b.Score, Detail: b.Detail})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusAccepted, rc, nil
	}, nil
}

// caseCursor is a page of cases' cursor key: the last case's score and ID.
func caseCursor(c *reports.Case) string {
	return strconv.FormatFloat(c.Score, 'g', -1, 64) + " " + c.ID
}

func parseCaseCursor(key string) (*reports.Cursor, bool) {
	score, id, ok := strings.Cut(key, " ")
	f, err := strconv.ParseFloat(score, 64)
	if !ok || err != nil || reports.CheckCaseID("cursor", id) != nil {
		return nil, false
	}
	return &reports.Cursor{Score: f, ID: id}, true
}

func (s *server) listCases(r *http.Request) (int, any, error) {
	key, limit, err := pageQuery(r, func(k string) bool { _, ok := parseCaseCursor(k); return ok })
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	f := reports.Filter{State: reports.State(q.Get("state")), Category: q.Get("category"), Flag: q.Get("flag"), Limit: limit + 1}
	if limit > reports.MaxPage {
		return 0, nil, errs.Field("limit", "must be an integer from 1 to %d", reports.MaxPage)
	}
	if key != "" {
		f.After, _ = parseCaseCursor(key)
	}
	list, err := s.Reports.List(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	var p casePage
	p.Cases, p.Next = page(list, limit, caseCursor)
	return http.StatusOK, p, nil
}

func (s *server) getCase(r *http.Request) (int, any, error) {
	d, err := s.Reports.Detail(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, d, nil
}

func (s *server) claimCases(r *http.Request, body []byte) (applyFunc, error) {
	b, err := decodeClaim(body)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		list, err := s.Reports.Claim(ctx, b)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, caseClaim{Cases: list}, nil
	}, nil
}

func (s *server) decideCase(r *http.Request, body []byte) (applyFunc, error) {
	id := r.PathValue("id")
	if err := reports.CheckCaseID("id", id); err != nil {
		return nil, err
	}
	var b reports.Decision
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		c, err := s.Reports.Decide(ctx, id, b)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, c, nil
	}, nil
}

func (s *server) markBadFaith(r *http.Request, body []byte) (applyFunc, error) {
	id := r.PathValue("id")
	if err := reports.CheckCaseID("id", id); err != nil {
		return nil, err
	}
	var b badFaithBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		c, err := s.Reports.MarkBadFaith(ctx, id, b.Reporters)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, c, nil
	}, nil
}

func (s *server) getReporter(r *http.Request) (int, any, error) {
	id := r.PathValue("id")
	st, err := s.Reports.Reporter(r.Context(), id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, reporterReply{Account: id, Categories: st}, nil
}
