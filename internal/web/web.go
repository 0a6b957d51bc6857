// Package web serves Steward's console for staff (/console/) and portal for end users
// (/portal/): server-rendered html/template pages with embedded assets, no script but
// one small file of its own for live progress, and a strict Content-Security-Policy.
//
// Pages call the same services the JSON API calls, as the same principals: a console
// session is a staff principal with its user's role, a portal session an end user of one
// account. The page table (pages.go) is the one source of the mux and of who may open
// each page, and every page names the API route whose roles it takes, which a test
// holds to the API's own table.
package web

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/problem"
)

//go:embed static
var staticFiles embed.FS

// Deps is what the pages serve.
type Deps struct {
	*app.App
	Logger *slog.Logger
	// Secure marks cookies Secure: serve sets it when it serves TLS or sits behind a
	// proxy that does.
	Secure bool
}

type server struct {
	Deps
	views *views
}

// Handler serves the console and the portal.
type Handler struct{ mux *http.ServeMux }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Patterns returns the patterns of a top-level mux that the handler serves.
func (h *Handler) Patterns() []string {
	return []string{"/console/", "/portal/", "/console", "/portal"}
}

// New returns the console's and portal's handler.
func New(d Deps) *Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{Deps: d, views: mustViews()}
	mux := http.NewServeMux()
	for _, p := range s.pages() {
		mux.Handle(p.Method+" "+p.Path, s.wrap(p))
	}
	static, _ := fs.Sub(staticFiles, "static")
	files := http.StripPrefix("/console/static/", http.FileServerFS(static))
	mux.Handle("GET /console/static/", headers(files))
	mux.Handle("/console", http.RedirectHandler("/console/", http.StatusSeeOther))
	mux.Handle("/portal", http.RedirectHandler("/portal/", http.StatusSeeOther))
	notFound := s.wrap(page{Path: "/", Public: true, handle: func(*call) (result, error) {
		return result{}, errs.E(errs.NotFound, "there is no such page")
	}})
	mux.Handle("/console/", notFound)
	mux.Handle("/portal/", notFound)
	return &Handler{mux: mux}
}

// csp allows only the binary's own files: no inline script or style, no frames.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// headers sets the headers every answer carries.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// Set-up and portal links carry secrets in their query: never send them on.
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// Cookie names. The session cookie holds the session's secret; the form cookie is the
// double-submit token of the forms shown before there is a session (sign-in, set-up,
// opening a portal link).
const (
	sessionCookie = "steward_session"
	formCookie    = "steward_form"
	localeCookie  = "steward_lang"
)

// call is one request to a page: who makes it and in which language.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	p       principal.Principal
	session *auth.Session // nil on a public page
	locale  string
	csrf    string // the token the page's forms carry
	title   string
}

// result is what a page answers: a view to render, or a redirect after a form.
type result struct {
	view     string
	data     any
	redirect string
	status   int
	done     bool // the page wrote its answer itself
}

// wrap gives a page what pages share: headers, the session and role check, the CSRF
// check of every form, the principal in the context, and an error page for errors.
func (s *server) wrap(p page) http.Handler {
	return headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c := &call{w: w, r: r, locale: s.locale(r, ""), title: p.Title}
		defer func() {
			if v := recover(); v != nil {
				s.Logger.Error("panic", "page", p.Path, "panic", v)
				s.fail(c, errs.E(errs.Internal, "panic: %v", v))
			}
		}()
		if err := s.authorize(c, p); err != nil {
			if errs.CodeOf(err) == errs.Unauthorized && r.Method == http.MethodGet && !p.Public {
				to := "/console/sign-in"
				if p.Portal {
					to = "/portal/signed-out"
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			s.fail(c, err)
			return
		}
		if r.Method == http.MethodPost {
			if err := s.checkForm(c, p); err != nil {
				s.fail(c, err)
				return
			}
		}
		r = r.WithContext(principal.NewContext(r.Context(), c.p))
		c.r = r
		res, err := p.handle(c)
		if err != nil {
			s.fail(c, err)
			return
		}
		if res.done {
			return
		}
		if res.redirect != "" {
			http.Redirect(w, r, res.redirect, http.StatusSeeOther)
			return
		}
		s.render(c, res)
	}))
}

// authorize finds the request's session and checks it may open p: a staff session
// with one of p's roles for a console page, a portal session for a portal page.
func (s *server) authorize(c *call, p page) error {
	if p.Public {
		c.csrf = s.formToken(c)
		return nil
	}
	ck, err := c.r.Cookie(sessionCookie)
	if err != nil {
		return errs.E(errs.Unauthorized, "you are not signed in")
	}
	sess, who, err := s.Staff.Authenticate(c.r.Context(), ck.Value)
	if err != nil {
		return err
	}
	c.session, c.p, c.csrf = sess, who, sess.CSRF
	if p.Portal {
		if !who.IsUser() {
			return errs.E(errs.Forbidden, "the portal is for an account's holder; staff use the console")
		}
		c.locale = s.locale(c.r, s.accountLocale(c, who.Account()))
		return nil
	}
	if who.IsUser() {
		return errs.E(errs.Forbidden, "the console is for staff")
	}
	for _, role := range p.roles() {
		if role == who.Role {
			return nil
		}
	}
	return errs.E(errs.Forbidden, "role %s may not open this page (it is for %v)", who.Role, p.roles())
}

// checkForm refuses a form without the token of its session (or, before a session, of
// its double-submit cookie): another site cannot make a browser post one.
func (s *server) checkForm(c *call, p page) error {
	limit := int64(1 << 20)
	if p.MaxBody > 0 {
		limit = p.MaxBody
	}
	c.r.Body = http.MaxBytesReader(c.w, c.r.Body, limit)
	var err error
	if strings.HasPrefix(c.r.Header.Get("Content-Type"), "multipart/form-data") {
		err = c.r.ParseMultipartForm(limit)
	} else {
		err = c.r.ParseForm()
	}
	if err != nil {
		return errs.E(errs.Invalid, "the form could not be read: %v", err)
	}
	got := c.r.PostFormValue("csrf")
	if c.csrf == "" || subtle.ConstantTimeCompare([]byte(got), []byte(c.csrf)) != 1 {
		return errs.E(errs.Forbidden, "the form's security token is missing or stale: reload the page and try again")
	}
	return nil
}

// formToken returns the double-submit token of a page without a session, setting its
// cookie when the browser has none.
func (s *server) formToken(c *call) string {
	if ck, err := c.r.Cookie(formCookie); err == nil && len(ck.Value) >= 20 && len(ck.Value) <= 100 {
		return ck.Value
	}
	if c.r.Method == http.MethodPost {
		return "" // a post without the cookie its form set is refused
	}
	t := rand.Text()
	http.SetCookie(c.w, s.cookie(c, formCookie, t, 0, "/"))
	return t
}

// cookie returns a cookie only this site's pages get: HttpOnly, SameSite=Strict, and
// Secure when the request came over TLS or Deps.Secure says a proxy terminates it.
func (s *server) cookie(c *call, name, value string, ttl time.Duration, path string) *http.Cookie {
	ck := &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true, Secure: s.Secure || c.r.TLS != nil, SameSite: http.SameSiteStrictMode}
	if ttl > 0 {
		ck.Expires = time.Now().Add(ttl)
	}
	if ttl < 0 {
		ck.MaxAge = -1
	}
	return ck
}

// fail renders err as an error page with the status the API would answer, naming every
// offending field.
func (s *server) fail(c *call, err error) {
	pr := problem.For(err, "", s.Logger)
	s.render(c, result{view: "error", status: pr.Status, data: pr})
}
