package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"net/http"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/problem"
	"github.com/stewardhq/steward/internal/takeout"
)

// Takeout's routes: a user exports their data whatever their sanctions (account.export
// is protected), or an agent starts the export on their behalf; the archive downloads
// until it expires, then answers 410.

var exportAgents = []principal.Role{principal.Agent}

func (s *server) takeoutRoutes() []route {
	return []route{
		{Method: "POST", Path: "/v1/me/exports", Roles: endUser,
			Summary: "Starts an export of the token's account's data (allowed under any sanction); 202 with the export, whose archive the takeout worker makes. The body is empty or {}.",
			Reply:   takeout.Export{}, Status: http.StatusAccepted, write: s.startMyExport},
		{Method: "GET", Path: "/v1/me/exports", Roles: endUser, Summary: "Lists the token's account's exports, newest first, a page at a time.",
			Query: pageParams, Reply: exportPage{}, handle: s.listMyExports},
		{Method: "GET", Path: "/v1/me/exports/{id}", Roles: endUser, Summary: "One of the token's account's exports: its state and progress (parts done of total), its expiry.",
			Reply: takeout.Export{}, handle: s.getMyExport},
		{Method: "GET", Path: "/v1/me/exports/{id}/archive", Roles: endUser,
			Summary: "The finished archive (application/zip, Range requests served; ETag is its SHA-256); 409 while it is made, 410 once it expired.",
			raw:     s.myArchive},
		{Method: "POST", Path: "/v1/accounts/{id}/exports", Roles: exportAgents,
			Summary: "Starts an export of the account's data on its holder's behalf (recorded so); 202 with the export. The body is empty or {}.",
			Reply:   takeout.Export{}, Status: http.StatusAccepted, write: s.startExport},
		{Method: "GET", Path: "/v1/accounts/{id}/exports/{eid}", Roles: exportAgents, Summary: "One of the account's exports: its state and progress.",
			Reply: takeout.Export{}, handle: s.getExport},
	}
}

type exportPage struct {
	Exports []*takeout.Export `json:"exports"`
	Next    string            `json:"next,omitempty"`
}

func (s *server) startMyExport(r *http.Request, body []byte) (applyFunc, error) {
	if err := noBody(body); err != nil {
		return nil, err
	}
	return s.startFor(principal.FromContext(r.Context()).Account()), nil
}

func (s *server) startExport(r *http.Request, body []byte) (applyFunc, error) {
	account, err := pathAccount(r)
	if berr := noBody(body); err == nil {
		err = berr
	}
	if err != nil {
		return nil, err
	}
	return s.startFor(account), nil
}

func (s *server) startFor(account string) applyFunc {
	return func(ctx context.Context) (int, any, error) {
		e, err := s.Takeout.Start(ctx, account)
		return http.StatusAccepted, e, err
	}
}

func (s *server) listMyExports(r *http.Request) (int, any, error) {
	after, limit, err := pageQuery(r, anyKey)
	if err != nil {
		return 0, nil, err
	}
	es, err := s.Takeout.List(r.Context(), "", after, limit+1)
	if err != nil {
		return 0, nil, err
	}
	out := exportPage{}
	out.Exports, out.Next = page(es, limit, func(e *takeout.Export) string { return e.ID })
	return http.StatusOK, out, nil
}

func (s *server) getMyExport(r *http.Request) (int, any, error) {
	e, err := s.Takeout.Get(r.Context(), "", r.PathValue("id"))
	return http.StatusOK, e, err
}

func (s *server) getExport(r *http.Request) (int, any, error) {
	account, err := pathAccount(r)
	if err != nil {
		return 0, nil, err
	}
	e, err := s.Takeout.Get(r.Context(), account, r.PathValue("eid"))
	return http.StatusOK, e, err
}

// myArchive serves the archive from its file, never whole in memory.
func (s *server) myArchive(w http.ResponseWriter, r *http.Request) {
	e, f, err := s.Takeout.Archive(r.Context(), "", r.PathValue("id"))
	if err != nil {
		problem.Write(w, problem.For(err, w.Header().Get("X-Request-Id"), s.Logger))
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="steward-export-`+e.ID+`.zip"`)
	h.Set("ETag", `"`+e.SHA256+`"`)
	if sum, err := hex.DecodeString(e.SHA256); err == nil {
		h.Set("Repr-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(sum)+":")
	}
	http.ServeContent(w, r, "", e.UpdatedAt, f)
}
