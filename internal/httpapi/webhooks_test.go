package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// GET /v1/webhooks lists every webhook without its secret; DELETE removes one and
// answers it as it was, then 404; a URL reaching a loopback name is a 400 naming url
// that writes nothing.
func TestWebhooksListAndDelete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		admin := api.keys[principal.Admin]
		const secret = "s3cret-never-shown-0123456789"
		put := func(name, url string) *httptest.ResponseRecorder {
			return api.do(t, request{method: "PUT", target: "/v1/webhooks/" + name, key: admin,
				body: `{"url": "` + url + `", "secret": "` + secret + `", "events": ["sanction.created"]}`})
		}
		wantStatus(t, put("platform", "https://hooks.example.invalid/steward"), http.StatusCreated)
		wantStatus(t, put("archive", "https://archive.example.invalid/in"), http.StatusCreated)
		before := api.rows(t)
		p := wantProblem(t, put("local", "http://localhost:8080/hook"), http.StatusBadRequest, "url")
		if !strings.Contains(p.Errors[0].Message, "loopback") {
			t.Fatalf("the refusal says %q, want why", p.Errors[0].Message)
		}
		api.wantRows(t, before)

		w := api.do(t, request{method: "GET", target: "/v1/webhooks", key: admin})
		wantStatus(t, w, http.StatusOK)
		if strings.Contains(w.Body.String(), secret) || strings.Contains(w.Body.String(), "secret") {
			t.Fatalf("the list shows a secret: %s", w.Body)
		}
		list := decode[webhookList](t, w)
		if len(list.Webhooks) != 2 || list.Webhooks[0].Name != "archive" || list.Webhooks[1].Name != "platform" ||
			list.Webhooks[1].URL != "https://hooks.example.invalid/steward" || len(list.Webhooks[1].Events) != 1 || list.Webhooks[1].CreatedAt.IsZero() {
			t.Fatalf("list: %s", w.Body)
		}

		before = api.rows(t)
		wantProblem(t, api.do(t, request{method: "DELETE", target: "/v1/webhooks/platform", key: admin, body: `{"force": true}`}), http.StatusBadRequest, "force")
		api.wantRows(t, before)
		w = api.do(t, request{method: "DELETE", target: "/v1/webhooks/platform", key: admin})
		wantStatus(t, w, http.StatusOK)
		if strings.Contains(w.Body.String(), secret) || decode[webhookReply](t, w).Name != "platform" {
			t.Fatalf("delete answered %s", w.Body)
		}
		wantProblem(t, api.do(t, request{method: "DELETE", target: "/v1/webhooks/platform", key: admin}), http.StatusNotFound, "")
		if list := decode[webhookList](t, api.do(t, request{method: "GET", target: "/v1/webhooks", key: admin})); len(list.Webhooks) != 1 || list.Webhooks[0].Name != "archive" {
			t.Fatalf("after the delete the list holds %+v", list.Webhooks)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/webhooks/platform/deliveries", key: admin}), http.StatusNotFound, "")
	})
}
