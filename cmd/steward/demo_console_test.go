package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// demoConsole signs in to the console through its form with a "console:" line the demo
// printed for role, and opens the printed portal link, as a browser would (cookies,
// the forms' CSRF tokens, redirects followed).
func demoConsole(t *testing.T, out, role string) {
	t.Helper()
	var signIn, email, password, portal string
	for _, l := range strings.Split(out, "\n") {
		fs := strings.Fields(l)
		if len(fs) >= 7 && fs[0] == "console:" && fs[len(fs)-1] == role {
			signIn, email, password = fs[1], fs[2], fs[4]
		}
		if len(fs) == 2 && fs[0] == "portal:" {
			portal = fs[1]
		}
	}
	if signIn == "" || portal == "" {
		t.Fatalf("no console sign-in for %s or no portal link in:\n%s", role, out)
	}
	body := browse(t, "GET", signIn, nil)
	body = browse(t, "POST", signIn, url.Values{"csrf": {csrfOf(t, body)}, "email": {email}, "password": {password}})
	if !strings.Contains(body, "<h1>Home</h1>") || !strings.Contains(body, "("+role+")") {
		t.Fatalf("signed in as %s, the console shows:\n%s", email, body)
	}
	body = browse(t, "GET", portal, nil)
	open, _, _ := strings.Cut(portal, "/portal/")
	body = browse(t, "POST", open+"/portal/open", url.Values{"csrf": {csrfOf(t, body)}, "link": {valueOf(t, body, "link")}})
	if !strings.Contains(body, `id="h-status"`) || !strings.Contains(body, `class="sanction"`) {
		t.Fatalf("the portal link opens:\n%s", body)
	}
}

var jar, _ = cookiejar.New(nil)

// browse sends a page's request with the demo's cookie jar and returns the final page.
func browse(t *testing.T, method, target string, form url.Values) string {
	t.Helper()
	c := &http.Client{Jar: jar}
	var res *http.Response
	var err error
	if method == "POST" {
		res, err = c.PostForm(target, form)
	} else {
		res, err = c.Get(target)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d\n%s", method, target, res.StatusCode, b)
	}
	return string(b)
}

func csrfOf(t *testing.T, page string) string { return valueOf(t, page, "csrf") }

func valueOf(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s field in:\n%s", name, page)
	}
	return m[1]
}
