package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// A portal link is made for an account that exists, opens one portal session for it,
// once, and a body or a bad ID is refused before anything is written.
func TestPortalLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		wantStatus(t, api.put(t, "u-1", validBody), http.StatusCreated)
		before := api.rows(t)
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/accounts/nobody/portal-links", key: api.keys[principal.Service]}), http.StatusNotFound, "")
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/accounts/u-1/portal-links", key: api.keys[principal.Service], body: `{"account": "u-2"}`}), http.StatusBadRequest, "")
		api.wantRows(t, before)

		w := api.do(t, request{method: "POST", target: "/v1/accounts/u-1/portal-links", key: api.keys[principal.Service]})
		wantStatus(t, w, http.StatusCreated)
		l := decode[portalLinkReply](t, w)
		link, ok := strings.CutPrefix(l.URL, "/portal/open?link=")
		if !ok || l.Account != "u-1" || l.ExpiresAt.IsZero() {
			t.Fatalf("link %+v", l)
		}
		_, sess, err := api.app.Staff.OpenPortal(context.Background(), link)
		if err != nil || sess.Subject != "u-1" {
			t.Fatalf("opening the link: %v %v", sess, err)
		}
		if _, _, err := api.app.Staff.OpenPortal(context.Background(), link); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("a second use: %v, want unauthorized", err)
		}
	})
}
