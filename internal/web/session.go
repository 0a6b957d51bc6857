package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/stewardhq/steward/internal/errs"
)

func (s *server) signInForm(c *call) (result, error) {
	return result{view: "sign-in", data: map[string]string{"Email": ""}}, nil
}

func (s *server) signIn(c *call) (result, error) {
	email, password := c.r.PostFormValue("email"), c.r.PostFormValue("password")
	var fs errs.Fields
	required(&fs, "email", email)
	required(&fs, "password", password)
	if err := fs.Err(); err != nil {
		return result{}, err
	}
	secret, sess, err := s.Staff.SignIn(c.r.Context(), email, password)
	if err != nil {
		return result{view: "sign-in", status: http.StatusUnauthorized, data: map[string]string{"Email": email, "Error": err.Error()}}, nil
	}
	http.SetCookie(c.w, s.cookie(c, sessionCookie, secret, sess.ExpiresAt.Sub(sess.CreatedAt), "/console/"))
	return result{redirect: "/console/"}, nil
}

func (s *server) setupForm(c *call) (result, error) {
	token := c.r.URL.Query().Get("token")
	u, err := s.Staff.SetupUser(c.r.Context(), token)
	if err != nil {
		return result{}, err
	}
	return result{view: "setup", data: map[string]string{"Token": token, "Email": u.Email, "Role": string(u.Role)}}, nil
}

func (s *server) setup(c *call) (result, error) {
	password, again := c.r.PostFormValue("password"), c.r.PostFormValue("confirm")
	if password != again {
		return result{}, errs.Field("confirm", "does not match the password")
	}
	if _, err := s.Staff.SetPassword(c.r.Context(), c.r.PostFormValue("token"), password); err != nil {
		return result{}, err
	}
	return result{redirect: "/console/sign-in?set=1"}, nil
}

func (s *server) signOut(c *call) (result, error) {
	if err := s.Staff.SignOut(c.r.Context(), c.session); err != nil {
		return result{}, err
	}
	http.SetCookie(c.w, s.cookie(c, sessionCookie, "", -1, "/console/"))
	return result{redirect: "/console/sign-in"}, nil
}

// The portal opens from a one-time link in two steps: the link's page shows a button,
// and the button's form uses the link up. A link checker or preview fetching the page
// opens nothing.

func (s *server) openForm(c *call) (result, error) {
	link := c.r.URL.Query().Get("link")
	if !strings.HasPrefix(link, "stp_") {
		return result{}, errs.E(errs.Unauthorized, "this portal link is not valid")
	}
	return result{view: "portal-open", data: map[string]string{"Link": link}}, nil
}

func (s *server) openPortal(c *call) (result, error) {
	secret, sess, err := s.Staff.OpenPortal(c.r.Context(), c.r.PostFormValue("link"))
	if err != nil {
		return result{}, err
	}
	http.SetCookie(c.w, s.cookie(c, sessionCookie, secret, sess.ExpiresAt.Sub(sess.CreatedAt), "/portal/"))
	to := "/portal/"
	if l := c.r.PostFormValue("lang"); l != "" {
		to += "?lang=" + url.QueryEscape(match(l))
	}
	return result{redirect: to}, nil
}

func (s *server) signedOut(c *call) (result, error) {
	return result{view: "portal-signed-out"}, nil
}

func (s *server) portalSignOut(c *call) (result, error) {
	if err := s.Staff.SignOut(c.r.Context(), c.session); err != nil {
		return result{}, err
	}
	http.SetCookie(c.w, s.cookie(c, sessionCookie, "", -1, "/portal/"))
	return result{redirect: "/portal/signed-out"}, nil
}
