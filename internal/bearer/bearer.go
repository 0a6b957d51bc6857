// Package bearer authenticates HTTP requests by their Authorization: Bearer credential
// and checks the principal against the roles a route allows, for every HTTP adapter of
// Steward (the API, the console and the portal).
package bearer

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// Authenticator knows whose secrets are whose (auth.Keyring is one).
type Authenticator interface {
	// Authenticate returns the principal whose secret this is. Returns errs.Unauthorized
	// for an unknown, expired or revoked secret.
	Authenticate(ctx context.Context, secret string) (principal.Principal, error)
}

// Authenticate returns the principal of r's bearer credential. Returns
// errs.Unauthorized when there is none or a does not know it.
func Authenticate(r *http.Request, a Authenticator) (principal.Principal, error) {
	secret, ok := Credential(r.Header.Get("Authorization"))
	if !ok {
		return principal.Principal{}, errs.E(errs.Unauthorized, "an API key is required: Authorization: Bearer KEY")
	}
	return a.Authenticate(r.Context(), secret)
}

// Credential returns the secret of an Authorization header of the Bearer scheme, whose
// name is case-insensitive (RFC 9110, section 11.1), and reports whether there is one.
func Credential(header string) (secret string, ok bool) {
	scheme, secret, _ := strings.Cut(strings.TrimSpace(header), " ")
	secret = strings.TrimSpace(secret)
	return secret, strings.EqualFold(scheme, "Bearer") && secret != ""
}

// Allow returns errs.Forbidden unless p holds one of roles; what names the route (e.g.
// "GET /v1/accounts/{id}") for the message.
func Allow(p principal.Principal, roles []principal.Role, what string) error {
	if slices.Contains(roles, p.Role) {
		return nil
	}
	if p.IsUser() {
		return errs.E(errs.Forbidden, "a user token may call only the routes under /v1/me/, not %s", what)
	}
	return errs.E(errs.Forbidden, "role %s may not %s (allowed: %v)", p.Role, what, roles)
}
