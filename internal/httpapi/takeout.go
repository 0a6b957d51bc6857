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
	return append(s.exportRoutes(), s.sourceRoutes()...)
}

func (s *server) exportRoutes() []route {
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

// maxUploadBody bounds a source's upload at the door; the takeout service holds it to
// its own limit (serve --export-max-part).
const maxUploadBody = 64 << 30

func (s *server) sourceRoutes() []route {
	admin := []principal.Role{principal.Admin}
	return []route{
		{Method: "PUT", Path: "/v1/export-sources/{name}", Roles: admin,
			Summary: "Creates (201) or replaces (200) an export source: a service Steward asks, with a signed request (as webhooks are signed), for its part of every export; its URL is held to the webhook URL policy.",
			Request: sourceBody{}, Reply: takeout.Source{}, Status: http.StatusCreated, write: s.putSource},
		{Method: "GET", Path: "/v1/export-sources/{name}", Roles: admin, Summary: "Returns an export source (never its secret).",
			Reply: takeout.Source{}, handle: s.getSource},
		{Method: "GET", Path: "/v1/export-sources", Roles: admin, Summary: "Lists every export source in name order (never their secrets).",
			Reply: sourceList{}, handle: s.listSources},
		{Method: "DELETE", Path: "/v1/export-sources/{name}", Roles: admin, Summary: "Removes an export source and returns it; exports under way stop asking it.",
			Reply: takeout.Source{}, write: s.deleteSource},
		{Method: "PUT", Path: "/v1/export-uploads/{token}", Public: true, MaxBody: maxUploadBody,
			Summary: "A source's part of an export, to the one-time URL Steward sent it: exactly Content-Length bytes, with their hex SHA-256 in Steward-Content-SHA256; the token is the credential. 404 for a token that is not (or no longer) one.",
			Reply:   uploadReply{}, raw: s.uploadPart},
	}
}

type sourceBody struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

type sourceList struct {
	Sources []*takeout.Source `json:"sources"`
}

type uploadReply struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func (s *server) putSource(r *http.Request, body []byte) (applyFunc, error) {
	var b sourceBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	src := &takeout.Source{Name: r.PathValue("name"), URL: b.URL, Secret: b.Secret}
	// Resolving the URL's host may take a while: not inside the write transaction.
	if err := s.Takeout.CheckSource(r.Context(), src); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		isNew, err := s.Takeout.PutSource(ctx, src)
		return created(!isNew), src, err
	}, nil
}

func (s *server) getSource(r *http.Request) (int, any, error) {
	src, err := s.Takeout.GetSource(r.Context(), r.PathValue("name"))
	return http.StatusOK, src, err
}

func (s *server) listSources(r *http.Request) (int, any, error) {
	srcs, err := s.Takeout.Sources(r.Context())
	return http.StatusOK, sourceList{srcs}, err
}

func (s *server) deleteSource(r *http.Request, _ []byte) (applyFunc, error) {
	name := r.PathValue("name")
	return func(ctx context.Context) (int, any, error) {
		src, err := s.Takeout.DeleteSource(ctx, name)
		return http.StatusOK, src, err
	}, nil
}

// uploadPart streams a source's part to disk.
func (s *server) uploadPart(w http.ResponseWriter, r *http.Request) {
	c, err := s.Takeout.Receive(r.Context(), r.PathValue("token"), r.ContentLength, r.Header.Get(takeout.SHA256Header), r.Body)
	if err != nil {
		problem.Write(w, problem.For(err, w.Header().Get("X-Request-Id"), s.Logger))
		return
	}
	writeJSON(w, http.StatusOK, uploadReply{Size: c.Size, SHA256: c.SHA256})
}
