package web

import (
	"github.com/stewardhq/steward/internal/principal"
)

// page is one page or form of the console or the portal.
type page struct {
	Method string
	Path   string // a net/http pattern path
	// API is the JSON API route ("METHOD /path") whose roles the page takes: the page
	// calls the services that route calls, and a test holds apiRoles to the API's table.
	API     string
	Public  bool  // no session needed (sign-in, set-up, opening a portal link)
	Portal  bool  // for an end user's portal session; API names a /v1/me route
	MaxBody int64 // form limit (1 MiB when zero)
	Title   string
	handle  func(*call) (result, error)
}

// roles returns who may open p.
func (p page) roles() []principal.Role {
	if p.Portal {
		return []principal.Role{principal.User}
	}
	return apiRoles[p.API]
}

// apiRoles are the roles of the API routes the pages follow, as the API's route table
// has them (TestPagesFollowTheAPI compares them with its golden file).
var apiRoles = map[string][]principal.Role{
	"GET /v1/accounts/{id}":              principal.Staff,
	"GET /v1/accounts/{id}/sanctions":    principal.Staff,
	"GET /v1/accounts/{id}/notices":      principal.Staff,
	"GET /v1/accounts/{id}/wallets":      {principal.Service, principal.Agent, principal.Compliance, principal.Security, principal.Auditor, principal.Admin},
	"GET /v1/accounts/{id}/pii":          {principal.Agent, principal.Reviewer, principal.Compliance, principal.Security},
	"POST /v1/accounts/{id}/pii/reveal":  {principal.Agent, principal.Security, principal.Compliance},
	"GET /v1/appeals":                    {principal.Reviewer, principal.Compliance, principal.Admin, principal.Auditor},
	"GET /v1/appeals/stats":              {principal.Compliance, principal.Admin, principal.Auditor},
	"GET /v1/appeals/{id}":               {principal.Reviewer, principal.Compliance, principal.Admin, principal.Auditor},
	"POST /v1/appeals:claim":             {principal.Reviewer, principal.Compliance},
	"POST /v1/appeals/{id}/decision":     {principal.Reviewer, principal.Compliance},
	"GET /v1/cases":                      {principal.Reviewer, principal.Compliance, principal.Admin},
	"GET /v1/cases/{id}":                 {principal.Reviewer, principal.Compliance, principal.Admin},
	"POST /v1/bulk-actions":              {principal.Compliance, principal.Admin},
	"GET /v1/bulk-actions/{id}":          {principal.Compliance, principal.Admin, principal.Auditor},
	"POST /v1/bulk-actions/{id}/dry-run": {principal.Compliance, principal.Admin},
	"POST /v1/bulk-actions/{id}/execute": {principal.Compliance, principal.Admin},
	"POST /v1/bulk-actions/{id}/pause":   {principal.Compliance, principal.Admin},
	"POST /v1/bulk-actions/{id}/resume":  {principal.Compliance, principal.Admin},
	"POST /v1/bulk-actions/{id}/revert":  {principal.Compliance, principal.Admin},
	"GET /v1/audit/entries":              {principal.Auditor, principal.Admin},
	"GET /v1/incidents/{id}":             {principal.Security, principal.Compliance, principal.Auditor},
	"GET /v1/leaks/{id}":                 {principal.Security},
	"GET /v1/me":                         {principal.User},
	"DELETE /v1/me/token":                {principal.User},
	"POST /v1/me/appeals":                {principal.User},
	"POST /v1/me/withdrawals":            {principal.User},
	"GET /v1/me/access-log":              {principal.User},
	"GET /v1/me/exports":                 {principal.User},
	"POST /v1/me/exports":                {principal.User},
	"GET /v1/me/exports/{id}":            {principal.User},
	"GET /v1/me/exports/{id}/archive":    {principal.User},
}

// may reports whether p may call the API route api, so that a page shows only the
// parts its viewer may see.
func may(p principal.Principal, api string) bool {
	for _, r := range apiRoles[api] {
		if r == p.Role {
			return true
		}
	}
	return false
}

// pages lists every page of the console and the portal.
func (s *server) pages() []page {
	return append(s.consolePages(), s.portalPages()...)
}

func (s *server) consolePages() []page {
	return append([]page{
		{Method: "GET", Path: "/console/sign-in", Public: true, Title: "Sign in", handle: s.signInForm},
		{Method: "POST", Path: "/console/sign-in", Public: true, Title: "Sign in", handle: s.signIn},
		{Method: "GET", Path: "/console/setup", Public: true, Title: "Set your password", handle: s.setupForm},
		{Method: "POST", Path: "/console/setup", Public: true, Title: "Set your password", handle: s.setup},
		{Method: "POST", Path: "/console/sign-out", API: "GET /v1/accounts/{id}", Title: "Sign out", handle: s.signOut},

		{Method: "GET", Path: "/console/{$}", API: "GET /v1/accounts/{id}", Title: "Home", handle: s.home},
		{Method: "GET", Path: "/console/accounts", API: "GET /v1/accounts/{id}", Title: "Find an account", handle: s.findAccount},
		{Method: "GET", Path: "/console/accounts/{id}", API: "GET /v1/accounts/{id}", Title: "Account", handle: s.account},
		{Method: "POST", Path: "/console/accounts/{id}/reveal", API: "POST /v1/accounts/{id}/pii/reveal", Title: "Revealed personal data", handle: s.reveal},

		{Method: "GET", Path: "/console/appeals", API: "GET /v1/appeals", Title: "Appeals", handle: s.appealQueue},
		{Method: "POST", Path: "/console/appeals/claim", API: "POST /v1/appeals:claim", Title: "Claim appeals", handle: s.claimAppeals},
		{Method: "GET", Path: "/console/appeals/{id}", API: "GET /v1/appeals/{id}", Title: "Appeal", handle: s.appeal},
		{Method: "POST", Path: "/console/appeals/{id}/decision", API: "POST /v1/appeals/{id}/decision", Title: "Decide", handle: s.decideAppeal},

		{Method: "GET", Path: "/console/cases", API: "GET /v1/cases", Title: "Report cases", handle: s.caseList},
		{Method: "GET", Path: "/console/cases/{id}", API: "GET /v1/cases/{id}", Title: "Report case", handle: s.reportCase},

		{Method: "GET", Path: "/console/bulk/new", API: "POST /v1/bulk-actions", Title: "Plan a bulk action", handle: s.bulkForm},
		{Method: "POST", Path: "/console/bulk", API: "POST /v1/bulk-actions", Title: "Plan a bulk action", handle: s.createBulk},
		{Method: "GET", Path: "/console/bulk/{id}", API: "GET /v1/bulk-actions/{id}", Title: "Bulk action", handle: s.bulkAction},
		{Method: "GET", Path: "/console/bulk/{id}/progress", API: "GET /v1/bulk-actions/{id}", Title: "Progress", handle: s.bulkProgress},
		{Method: "POST", Path: "/console/bulk/{id}/dry-run", API: "POST /v1/bulk-actions/{id}/dry-run", Title: "Dry run", handle: s.dryRun},
		{Method: "POST", Path: "/console/bulk/{id}/execute", API: "POST /v1/bulk-actions/{id}/execute", Title: "Execute", handle: s.bulkExecute},
		{Method: "POST", Path: "/console/bulk/{id}/pause", API: "POST /v1/bulk-actions/{id}/pause", Title: "Pause", handle: s.bulkPause},
		{Method: "POST", Path: "/console/bulk/{id}/resume", API: "POST /v1/bulk-actions/{id}/resume", Title: "Resume", handle: s.bulkResume},
		{Method: "POST", Path: "/console/bulk/{id}/revert", API: "POST /v1/bulk-actions/{id}/revert", Title: "Revert", handle: s.bulkRevert},

		{Method: "GET", Path: "/console/audit", API: "GET /v1/audit/entries", Title: "Audit log", handle: s.auditPage},
	}, s.leakPages()...)
}

func (s *server) portalPages() []page {
	return append([]page{
		{Method: "GET", Path: "/portal/open", Public: true, Title: "portal.open", handle: s.openForm},
		{Method: "POST", Path: "/portal/open", Public: true, Title: "portal.open", handle: s.openPortal},
		{Method: "GET", Path: "/portal/signed-out", Public: true, Title: "portal.signed_out", handle: s.signedOut},
		{Method: "GET", Path: "/portal/{$}", API: "GET /v1/me", Portal: true, Title: "portal.title", handle: s.portalHome},
		{Method: "POST", Path: "/portal/appeals", API: "POST /v1/me/appeals", Portal: true, MaxBody: 8 << 20, Title: "portal.appeal", handle: s.portalAppeal},
		{Method: "POST", Path: "/portal/withdrawals", API: "POST /v1/me/withdrawals", Portal: true, Title: "portal.withdraw", handle: s.portalWithdraw},
		{Method: "GET", Path: "/portal/access-log", API: "GET /v1/me/access-log", Portal: true, Title: "portal.access_log", handle: s.portalAccessLog},
		{Method: "POST", Path: "/portal/sign-out", API: "DELETE /v1/me/token", Portal: true, Title: "portal.sign_out", handle: s.portalSignOut},
	}, s.portalTakeoutPages()...)
}
