package httpapi

import (
	"net/http"
	"path"
	"strings"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/problem"
)

// Canonical passes to h the requests whose path is in canonical form and answers the
// others (with . or .. segments, or empty ones such as //) with a problem. A ServeMux
// would answer them with a bare redirect to the cleaned path, which a client that does
// not follow redirects reads as an answer without a problem document, and one that does
// follows to a route it did not name.
func Canonical(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.EscapedPath(); r.Method != http.MethodConnect && cleanPath(p) != p {
			problem.WriteError(w, errs.Field("path", "%q is not in canonical form: no . or .. segments and no empty ones", p), nil)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// cleanPath is the path a ServeMux serves for p (see net/http's cleanPath).
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	return np
}
