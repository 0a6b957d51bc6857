package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/vault"
)

// The vault's routes: personal data is written by the platform, read masked by staff,
// revealed in clear only for a configured purpose, found through blind indexes, erased,
// and every access shown to its holder with proof.
//
// A reveal's answer holds values in clear, so it is never a `write` route: those keep
// their answer in the idempotency table for replays, and the database must never hold a
// value in clear. A reveal is recorded each time it is asked; it takes no
// Idempotency-Key. A lookup, a read that is audited, is served the same way.

var (
	piiW        = []principal.Role{principal.Service}
	piiErase    = []principal.Role{principal.Service, principal.Admin}
	piiReaders  = []principal.Role{principal.Agent, principal.Reviewer, principal.Compliance, principal.Security}
	piiReveal   = []principal.Role{principal.Agent, principal.Security, principal.Compliance}
	piiLookup   = []principal.Role{principal.Security, principal.Service}
	purposesW   = []principal.Role{principal.Admin}
	purposesR   = []principal.Role{principal.Admin, principal.Compliance, principal.Security}
	accessParam = []param{{"cursor", "string", "the next value of the previous page"}, {"limit", "integer", "page size, 1 to 100 (default 20)"}}
)

func (s *server) vaultRoutes() []route {
	return []route{
		{Method: "PUT", Path: "/v1/accounts/{id}/pii", Roles: piiW,
			Summary: "Replaces an account's personal data (every field optional, each validated by its type), encrypted under a new data key; answers it masked.",
			Request: vault.PII{}, Reply: piiReply{}, write: s.putPII},
		{Method: "GET", Path: "/v1/accounts/{id}/pii", Roles: piiReaders,
			Summary: "An account's personal data, masked by field type; the read is recorded (fields, not values).",
			Reply:   piiReply{}, handle: s.getPII},
		{Method: "DELETE", Path: "/v1/accounts/{id}/pii", Roles: piiErase,
			Summary: "Erases an account's personal data by destroying its data key; the audit log keeps its entries.",
			Reply:   vault.Erased{}, write: s.erasePII},
		{Method: "POST", Path: "/v1/accounts/{id}/pii/reveal", Roles: piiReveal,
			Summary: "Answers fields in clear for a configured purpose (and ticket), recorded with the actor, purpose, ticket and field names; 429 beyond the purpose's daily limit per actor. Takes no Idempotency-Key.",
			Request: vault.RevealRequest{}, Reply: piiReply{}, handle: s.revealPII},
		{Method: "POST", Path: "/v1/pii/lookup", Roles: piiLookup,
			Summary: "The accounts (up to 100) whose phone, email, id_number, bank_card or plate is value, normalised, through blind indexes; each hit is recorded.",
			Request: lookupBody{}, Reply: lookupReply{}, handle: s.lookupPII},
		{Method: "PUT", Path: "/v1/pii/purposes/{name}", Roles: purposesW,
			Summary: "Creates (201) or replaces (200) a purpose for reveals: the roles that may state it, the fields it reveals, whether a ticket is required, reveals per actor a day.",
			Request: purposeBody{}, Reply: vault.Purpose{}, Status: http.StatusCreated, write: s.putPurpose},
		{Method: "GET", Path: "/v1/pii/purposes/{name}", Roles: purposesR, Summary: "Returns a purpose for reveals.",
			Reply: vault.Purpose{}, handle: s.getPurpose},
		{Method: "GET", Path: "/v1/me/access-log", Roles: endUser,
			Summary: "Every access to the token's account's personal data (reads, reveals with purpose and ticket, lookup hits, writes, erasure), as GET /v1/audit/entries?subject= answers: exact leaf bytes, inclusion proofs, the signed checkpoint; subject is the account's commitment.",
			Query:   accessParam, Reply: accessLogPage{}, handle: s.accessLog},
	}
}

// piiReply is an account's personal data as answered: masked, or the revealed fields.
type piiReply struct {
	Account string    `json:"account"`
	Fields  []string  `json:"fields"` // the fields it holds
	PII     vault.PII `json:"pii"`
}

func pathAccount(r *http.Request) (string, error) {
	id := r.PathValue("id")
	return id, accounts.CheckID("id", id)
}

func (s *server) putPII(r *http.Request, body []byte) (applyFunc, error) {
	account, err := pathAccount(r)
	var p vault.PII
	if derr := decodeJSON(body, &p); err == nil {
		err = derr
	}
	if err != nil {
		return nil, err
	}
	n, err := vault.Normalize(p)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		if err := s.Vault.PutMany(ctx, []string{account}, []*vault.PII{n}); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, piiReply{Account: account, Fields: orEmpty(n.Present()), PII: *vault.Mask(n)}, nil
	}, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *server) getPII(r *http.Request) (int, any, error) {
	account, err := pathAccount(r)
	if err != nil {
		return 0, nil, err
	}
	m, err := s.Vault.Masked(r.Context(), account)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, piiReply{Account: account, Fields: orEmpty(m.Present()), PII: *m}, nil
}

func (s *server) erasePII(r *http.Request, body []byte) (applyFunc, error) {
	account, err := pathAccount(r)
	if err == nil {
		err = noBody(body)
	}
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		e, err := s.Vault.Erase(ctx, account)
		return http.StatusOK, e, err
	}, nil
}

// decodeUnreplayed decodes the body of a POST that is never replayed into v, refusing
// an Idempotency-Key.
func decodeUnreplayed(r *http.Request, limit int64, v any) error {
	if r.Header.Get("Idempotency-Key") != "" {
		return errs.Field("Idempotency-Key", "is not taken here: the answer holds personal data, which Steward keeps nowhere in clear to replay; every call is recorded")
	}
	body, err := readBody(r, limit)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

func (s *server) revealPII(r *http.Request) (int, any, error) {
	account, err := pathAccount(r)
	var req vault.RevealRequest
	if err == nil {
		err = decodeUnreplayed(r, maxNoBody, &req)
	}
	if err != nil {
		return 0, nil, err
	}
	p, err := s.Vault.Reveal(r.Context(), account, req)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, piiReply{Account: account, Fields: orEmpty(p.Present()), PII: *p}, nil
}

type lookupBody struct {
	Field string `json:"field"` // phone, email, id_number, bank_card or plate
	Value string `json:"value"`
}

type lookupReply struct {
	Field    string   `json:"field"`
	Accounts []string `json:"accounts"` // in ID order
}

func (s *server) lookupPII(r *http.Request) (int, any, error) {
	var b lookupBody
	if err := decodeUnreplayed(r, maxNoBody, &b); err != nil {
		return 0, nil, err
	}
	found, err := s.Vault.Lookup(r.Context(), b.Field, b.Value)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, lookupReply{Field: b.Field, Accounts: found}, nil
}

type purposeBody struct {
	Roles          []principal.Role `json:"roles"`
	Fields         []string         `json:"fields"`
	RequiresTicket bool             `json:"requires_ticket"`
	PerActorDaily  int              `json:"per_actor_daily"`
}

func (s *server) putPurpose(r *http.Request, body []byte) (applyFunc, error) {
	var b purposeBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	p := &vault.Purpose{Name: r.PathValue("name"), Roles: b.Roles, Fields: b.Fields, RequiresTicket: b.RequiresTicket, PerActorDaily: b.PerActorDaily}
	if err := vault.CheckPurpose(p); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		created, err := s.Vault.PutPurpose(ctx, p)
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return status, p, err
	}, nil
}

func (s *server) getPurpose(r *http.Request) (int, any, error) {
	p, err := s.Vault.Purpose(r.Context(), r.PathValue("name"))
	return http.StatusOK, p, err
}

// accessLogPage is GET /v1/audit/entries?subject= for the token's account.
type accessLogPage struct {
	auditPage
	Subject string    `json:"subject"` // the account's commitment, the subject of every entry
	AsOf    time.Time `json:"as_of"`
}

func (s *server) accessLog(r *http.Request) (int, any, error) {
	ctx := r.Context()
	q := r.URL.Query()
	limit, err := intParam(q, "limit", 20, 1, 100)
	if err != nil {
		return 0, nil, err
	}
	subject, err := s.Vault.Commitment(ctx, principal.FromContext(ctx).Account())
	if err != nil {
		return 0, nil, err
	}
	f := audit.Filter{Subject: subject, Limit: int(limit)}
	if c := q.Get("cursor"); c != "" {
		if f.AfterID, err = parseAuditCursor(c, 'a'); err != nil {
			return 0, nil, err
		}
	}
	page, err := s.Audit.Entries(ctx, f)
	if err != nil {
		return 0, nil, err
	}
	out := accessLogPage{auditPage: auditPageOf(page), Subject: subject, AsOf: time.Now().UTC()}
	if page.NextAfter > 0 {
		out.Next = auditCursor('a', page.NextAfter)
	}
	return http.StatusOK, out, nil
}
