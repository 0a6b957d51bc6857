package web

import (
	"net/http"
	"net/url"

	"github.com/stewardhq/steward/internal/takeout"
)

// exportsView is the account's exports as its holder sees them: each one's state and
// progress, and a download link once its archive is made.
type exportsView struct {
	Exports []*takeout.Export
	Shown   *takeout.Export // the one the page is about (GET /portal/exports/{id})
}

func (s *server) portalTakeoutPages() []page {
	return []page{
		{Method: "GET", Path: "/portal/exports", API: "GET /v1/me/exports", Portal: true, Title: "portal.exports", handle: s.portalExports},
		{Method: "POST", Path: "/portal/exports", API: "POST /v1/me/exports", Portal: true, Title: "portal.exports", handle: s.portalStartExport},
		{Method: "GET", Path: "/portal/exports/{id}", API: "GET /v1/me/exports/{id}", Portal: true, Title: "portal.export", handle: s.portalExport},
		{Method: "GET", Path: "/portal/exports/{id}/archive", API: "GET /v1/me/exports/{id}/archive", Portal: true, Title: "portal.export", handle: s.portalArchive},
	}
}

func (s *server) portalExports(c *call) (result, error) {
	es, err := s.Takeout.List(c.r.Context(), "", "", 20) // the user's own: the service scopes it
	if err != nil {
		return result{}, err
	}
	return result{view: "portal-exports", data: exportsView{Exports: es}}, nil
}

func (s *server) portalStartExport(c *call) (result, error) {
	e, err := s.Takeout.Start(c.r.Context(), c.p.Account())
	if err != nil {
		return result{}, err
	}
	return result{redirect: "/portal/exports/" + url.PathEscape(e.ID)}, nil
}

func (s *server) portalExport(c *call) (result, error) {
	e, err := s.Takeout.Get(c.r.Context(), "", c.r.PathValue("id")) // another account's: not found
	if err != nil {
		return result{}, err
	}
	return result{view: "portal-exports", data: exportsView{Exports: []*takeout.Export{e}, Shown: e}}, nil
}

// portalArchive serves the finished archive from its file, as GET
// /v1/me/exports/{id}/archive does; while it is made, once it failed or expired, the
// error page says so (409, 410).
func (s *server) portalArchive(c *call) (result, error) {
	e, f, err := s.Takeout.Archive(c.r.Context(), "", c.r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	h := c.w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="steward-export-`+e.ID+`.zip"`)
	h.Set("ETag", `"`+e.SHA256+`"`)
	http.ServeContent(c.w, c.r, "", e.UpdatedAt, f)
	return result{done: true}, nil
}
