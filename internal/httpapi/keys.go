package httpapi

import (
	"context"
	"net/http"

	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/principal"
)

// keyPage is the reply of GET /v1/keys: API keys newest first, never a hash or secret.
type keyPage struct {
	Keys []*auth.Key `json:"keys"`
	Next string      `json:"next,omitempty"` // cursor of the next page; absent on the last
}

// keyRoutes are the routes that manage API keys; keys are made on the command line,
// which prints the secret once.
func (s *server) keyRoutes() []route {
	admin := []principal.Role{principal.Admin}
	return []route{
		{Method: "GET", Path: "/v1/keys", Roles: admin,
			Summary: "Lists API keys newest first, a page at a time: name, role, team (when given), created, last used (to the minute), expires, revoked, replaced_by after a rotation.",
			Query:   pageParams, Reply: keyPage{}, handle: s.listKeys},
		{Method: "DELETE", Path: "/v1/keys/{id}", Roles: admin,
			Summary: "Revokes an API key and returns it; every process refuses it within a second. 404 if revoked already; 409 for the last admin key in use.",
			Reply:   auth.Key{}, write: s.revokeKey},
	}
}

func (s *server) listKeys(r *http.Request) (int, any, error) {
	after, limit, err := pageQuery(r, anyKey) // Keys.List checks it
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Keys.List(r.Context(), after, limit+1)
	if err != nil {
		return 0, nil, err
	}
	var p keyPage
	p.Keys, p.Next = page(list, limit, func(k *auth.Key) string { return k.ID })
	if p.Keys == nil {
		p.Keys = []*auth.Key{}
	}
	return http.StatusOK, p, nil
}

func (s *server) revokeKey(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	if err := noBody(body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		k, err := s.Keys.Revoke(ctx, id)
		return http.StatusOK, k, err
	}, nil
}
