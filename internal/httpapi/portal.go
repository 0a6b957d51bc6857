package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
)

// The platform asks for a portal link on its user's behalf, as it asks for a user
// token: the link opens the portal (package web) once, within 15 minutes.

func (s *server) portalRoutes() []route {
	return []route{
		{Method: "POST", Path: "/v1/accounts/{id}/portal-links", Roles: accountsW,
			Summary: "Makes a one-time link (valid 15 minutes, one use) that opens a portal session for the account; a sanctioned account gets one too.",
			Reply:   portalLinkReply{}, Status: http.StatusCreated, write: s.createPortalLink},
	}
}

type portalLinkReply struct {
	URL       string    `json:"url"` // a path under /portal/, to put after the server's address; shown once
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *server) createPortalLink(r *http.Request, body []byte) (applyFunc, error) {
	account := r.PathValue("id")
	if err := accounts.CheckID("id", account); err != nil {
		return nil, err
	}
	if err := noBody(body); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		secret, l, err := s.Staff.CreatePortalLink(ctx, account)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, portalLinkReply{URL: "/portal/open?link=" + secret, ID: l.ID, Account: l.Account, ExpiresAt: l.ExpiresAt}, nil
	}, nil
}
