package httpapi

import (
	"net/http"
	"slices"

	"github.com/stewardhq/steward/internal/principal"
)

// route is one API route: who may call it, what it does, and how it is documented.
type route struct {
	Method  string
	Path    string           // a net/http pattern path, with {name} wildcards
	Roles   []principal.Role // who may call it; empty with Public
	Public  bool             // no key needed
	Summary string
	Query   []param // query parameters, for the OpenAPI document
	Request any     // a value of the request body's type, for the OpenAPI document
	Reply   any     // a value of the success body's type, for the OpenAPI document
	Status  int     // the success status (200 when zero)
	MaxBody int64   // request body limit (maxJSONBody when zero)

	// Exactly one of these serves the route.
	handle handler
	write  writeHandler
	stream streamHandler
	raw    http.HandlerFunc
}

type param struct {
	Name, Type, Description string
}

func (rt route) maxBody() int64 {
	if rt.MaxBody > 0 {
		return rt.MaxBody
	}
	return maxJSONBody
}

var (
	staff       = principal.Staff
	accountsW   = []principal.Role{principal.Service, principal.Admin}
	pageParams  = []param{{"cursor", "string", "the next value of the previous page"}, {"limit", "integer", "page size, 1 to 1000 (default 100)"}}
	regionParam = param{"region", "string", "only accounts in this region"}
	sanctionsW  = []principal.Role{principal.Reviewer, principal.Compliance, principal.Admin}
	policiesW   = []principal.Role{principal.Compliance, principal.Admin}
	checkers    = []principal.Role{principal.Service, principal.Admin}
	endUser     = []principal.Role{principal.User}
)

// routes lists every route of the API and the roles that may call it.
func (s *server) routes() []route {
	return slices.Concat(s.baseRoutes(), s.keyRoutes(), s.opsRoutes(), s.appealRoutes(), s.reportRoutes(), s.ledgerRoutes(), s.vaultRoutes(), s.takeoutRoutes(), s.leakRoutes(), s.incidentRoutes(), s.portalRoutes())
}

func (s *server) baseRoutes() []route {
	return []route{
		{Method: "GET", Path: "/healthz", Public: true, Summary: "Answers 200 when the database answers and takes writes; 503 (storage_full) while it has no room.", Reply: health{}, handle: s.health},
		{Method: "GET", Path: "/metrics", Public: true, Summary: "Prometheus metrics.", raw: s.metricsHandler().ServeHTTP},
		{Method: "GET", Path: "/openapi.json", Public: true, Summary: "This API's OpenAPI 3.1 document.", raw: s.serveOpenAPI},

		{Method: "PUT", Path: "/v1/accounts/{id}", Roles: accountsW, Summary: "Creates (201) or replaces (200) an account.",
			Request: accountBody{}, Reply: accountReply{}, Status: http.StatusCreated, write: s.putAccount},
		{Method: "GET", Path: "/v1/accounts/{id}", Roles: staff, Summary: "Returns an account.", Reply: accountReply{}, handle: s.getAccount},
		{Method: "GET", Path: "/v1/accounts", Roles: staff, Summary: "Lists accounts in ID order, a page at a time.",
			Query: append([]param{regionParam}, pageParams...), Reply: accountPage{}, handle: s.listAccounts},
		{Method: "POST", Path: "/v1/accounts/{id}/user-tokens", Roles: accountsW,
			Summary: "Makes a token (stu_…) that lets the account's holder call the routes under /v1/me/, for ttl (1m to 24h, default 15m); a sanctioned account gets one too.",
			Request: userTokenBody{}, Reply: userTokenReply{}, Status: http.StatusCreated, write: s.createUserToken},
		{Method: "GET", Path: "/v1/me", Roles: endUser,
			Summary: "The token's account's standing: the sanctions that deny it something now (what, why, until when, where to appeal), what stays allowed, the latest notices.",
			Reply:   meReply{}, handle: s.getMe},
		{Method: "DELETE", Path: "/v1/me/token", Roles: endUser, Summary: "Ends the token this request is made with.",
			Reply: tokenEnded{}, write: s.endMyToken},
		{Method: "POST", Path: "/v1/accounts:import", Roles: accountsW, MaxBody: maxImportBody,
			Summary: "Creates or replaces up to 100,000 accounts given as NDJSON (a line of at most 64 KiB), all or nothing.",
			Request: importLine{}, Reply: importReply{}, stream: s.importAccounts},

		{Method: "GET", Path: "/v1/audit/verifier-key", Public: true,
			Summary: "The note verifier key (name+hash+key) that checks the audit log's checkpoints; text/plain.", raw: s.auditVerifierKey},
		{Method: "GET", Path: "/v1/audit/checkpoint", Roles: auditors,
			Summary: "The latest checkpoint of the audit log, a C2SP signed note (origin, size, root hash); text/plain.", raw: s.auditCheckpoint},
		{Method: "GET", Path: "/v1/audit/entries", Roles: auditors,
			Summary: "Audit entries in tree order, or those about a subject or by an actor with their inclusion proofs, a page at a time.",
			Query:   auditListing, Reply: auditPage{}, handle: s.auditEntries},
		{Method: "GET", Path: "/v1/audit/proof/inclusion", Roles: auditors,
			Summary: "The RFC 6962 proof that the audit entry at index is in the tree of size.", Query: inclusionParams, Reply: inclusion{}, handle: s.auditInclusion},
		{Method: "GET", Path: "/v1/audit/proof/consistency", Roles: auditors,
			Summary: "The RFC 6962 proof that the audit tree of size from is a prefix of the tree of size to.", Query: consistencyParams, Reply: consistency{}, handle: s.auditConsistency},

		{Method: "PUT", Path: "/v1/policies/{id}", Roles: policiesW, Summary: "Creates (201) or replaces (200) a sanction policy and its strike ladder.",
			Request: policyBody{}, Reply: policyReply{}, Status: http.StatusCreated, write: s.putPolicy},
		{Method: "GET", Path: "/v1/policies/{id}", Roles: staff, Summary: "Returns a sanction policy.", Reply: policyReply{}, handle: s.getPolicy},
		{Method: "POST", Path: "/v1/sanctions", Roles: sanctionsW, Summary: "Imposes a sanction on one account.",
			Request: sanctionBody{}, Reply: sanctionReply{}, Status: http.StatusCreated, write: s.imposeSanction},
		{Method: "POST", Path: "/v1/strikes", Roles: sanctionsW, Summary: "Imposes the next step of a policy's ladder, given the account's strikes that still count.",
			Request: strikeBody{}, Reply: sanctionReply{}, Status: http.StatusCreated, write: s.strike},
		{Method: "GET", Path: "/v1/sanctions/{id}", Roles: staff, Summary: "Returns a sanction.", Reply: sanctionReply{}, handle: s.getSanction},
		{Method: "GET", Path: "/v1/accounts/{id}/sanctions", Roles: staff, Summary: "Lists an account's sanctions, newest first, a page at a time.",
			Query: pageParams, Reply: sanctionPage{}, handle: s.listSanctions},
		{Method: "POST", Path: "/v1/sanctions/{id}/lift", Roles: sanctionsW, Summary: "Ends a sanction now; a wrongful lift withdraws its strike.",
			Request: liftBody{}, Reply: sanctionReply{}, write: s.liftSanction},
		{Method: "POST", Path: "/v1/sanctions/{id}/amend", Roles: sanctionsW, Summary: "Moves the end of a restriction or suspension.",
			Request: amendBody{}, Reply: sanctionReply{}, write: s.amendSanction},
		{Method: "GET", Path: "/v1/accounts/{id}/notices", Roles: staff, Summary: "Lists the notices sent to an account about its sanctions, newest first, a page at a time.",
			Query: pageParams, Reply: noticePage{}, handle: s.listNotices},
		{Method: "PUT", Path: "/v1/webhooks/{name}", Roles: []principal.Role{principal.Admin}, Summary: "Creates (201) or replaces (200) a webhook receiving events as signed CloudEvents.",
			Request: webhookBody{}, Reply: webhookReply{}, Status: http.StatusCreated, write: s.putWebhook},
		{Method: "GET", Path: "/v1/webhooks/{name}/deliveries", Roles: []principal.Role{principal.Admin}, Summary: "Lists a webhook's delivery attempts, newest first, a page at a time; a deleted webhook's stay.",
			Query: pageParams, Reply: deliveryPage{}, handle: s.listDeliveries},
		{Method: "GET", Path: "/v1/webhooks", Roles: []principal.Role{principal.Admin}, Summary: "Lists every webhook in name order (never its secret).",
			Reply: webhookList{}, handle: s.listWebhooks},
		{Method: "DELETE", Path: "/v1/webhooks/{name}", Roles: []principal.Role{principal.Admin},
			Summary: "Removes a webhook and what it held back (its delivery history stays) and returns it as it was; its deliveries stop.",
			Reply:   webhookReply{}, write: s.deleteWebhook},
		{Method: "POST", Path: "/v1/check", Roles: checkers, Summary: "Decides whether accounts may use capabilities: one check, or a batch of up to 10,000 answered in order.",
			Request: checkBody{}, Reply: checkResult{}, MaxBody: maxCheckBody, raw: s.check},
		{Method: "POST", Path: "/v1/bulk-actions", Roles: bulkW,
			Summary: "Creates a draft bulk action: CEL criteria over `account`, named screens that spare, the sanction, the authority.",
			Request: bulkBody{}, Reply: bulkReply{}, Status: http.StatusCreated, write: s.createBulk},
		{Method: "GET", Path: "/v1/bulk-actions/{id}", Roles: bulkR, Summary: "Returns a bulk action with its state, progress, rate and estimated time left.",
			Reply: bulkDetail{}, handle: s.getBulk},
		{Method: "GET", Path: "/v1/bulk-actions/{id}/targets", Roles: bulkR,
			Summary: "Lists the accounts a bulk action targets, in the order it sanctions them, each with its sanction ID and whether it was sanctioned and reverted (?limit=, ?cursor=).",
			Reply:   targetPage{}, handle: s.listBulkTargets},
		{Method: "POST", Path: "/v1/bulk-actions/{id}/dry-run", Roles: bulkW,
			Summary: "Evaluates a bulk action over every account, changing nothing: who it would hit, who is spared and by which screen, breakdowns and samples.",
			Reply:   dryRunReply{}, handle: s.dryRunBulk},
		{Method: "POST", Path: "/v1/bulk-actions/{id}/execute", Roles: bulkW,
			Summary: "Starts executing a draft in batches: targets are fixed, a canary share (canary_percent, default 1) is sanctioned, then it waits for resume.",
			Request: executeBody{}, Reply: bulkReply{}, Status: http.StatusAccepted, write: s.executeBulk},
		{Method: "POST", Path: "/v1/bulk-actions/{id}/pause", Roles: bulkW, Summary: "Pauses a bulk action after its current batch.",
			Reply: bulkReply{}, write: s.pauseBulk},
		{Method: "POST", Path: "/v1/bulk-actions/{id}/resume", Roles: bulkW, Summary: "Resumes a paused bulk action, or one waiting after its canary.",
			Reply: bulkReply{}, write: s.resumeBulk},
		{Method: "POST", Path: "/v1/bulk-actions/{id}/revert", Roles: bulkW,
			Summary: "Lifts every sanction the bulk action made, and only those, as wrongful, with a notice to each person; works on a partly executed action.",
			Request: revertBody{}, Reply: bulkReply{}, Status: http.StatusAccepted, write: s.revertBulk},
	}
}
