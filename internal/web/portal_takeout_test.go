package web

import (
	"archive/zip"
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// A banned user asks for an export in the portal, sees it queued, then ready, and
// downloads the archive; another account's portal session reaches neither the export's
// page nor its archive, and staff reach neither.
func TestPortalTakeout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTestWeb(t, db)
		w.account(t, "u-1", "zh-CN")
		w.account(t, "u-2", "en")
		w.sanction(t, "u-1", principal.Key("compliance@example.com", principal.Compliance, ""))
		s := w.portal(t, "u-1")
		if body := wantCode(t, w.get(t, s, "/portal/exports?lang=en"), http.StatusOK); !strings.Contains(body, "You have not exported your data.") {
			t.Fatalf("no exports yet:\n%s", body)
		}
		wantCode(t, w.post(t, s, "/portal/exports", nil), http.StatusSeeOther)
		rec := w.post(t, s, "/portal/exports", nil)
		wantCode(t, rec, http.StatusSeeOther)
		page := rec.Header().Get("Location")
		if !strings.HasPrefix(page, "/portal/exports/") {
			t.Fatalf("redirected to %q", page)
		}
		if body := wantCode(t, w.get(t, s, page+"?lang=en"), http.StatusOK); !strings.Contains(body, `data-state="queued"`) || strings.Contains(body, "/archive") {
			t.Fatalf("a queued export:\n%s", body)
		}
		if body := wantCode(t, w.get(t, s, page+"/archive"), http.StatusConflict); !strings.Contains(body, "not ready") {
			t.Fatalf("the archive of a queued export:\n%s", body)
		}
		for range 2 {
			if built, err := w.app.Takeout.Builder().Step(ctx); !built || err != nil {
				t.Fatal(built, err)
			}
		}
		body := wantCode(t, w.get(t, s, page), http.StatusOK)
		for _, want := range []string{`data-state="done"`, "已就绪", page + "/archive"} {
			if !strings.Contains(body, want) {
				t.Fatalf("a finished export lacks %q:\n%s", want, body)
			}
		}
		if list := wantCode(t, w.get(t, s, "/portal/exports"), http.StatusOK); strings.Count(list, `class="export"`) != 2 {
			t.Fatalf("the list shows both exports:\n%s", list)
		}
		rec = w.get(t, s, page+"/archive")
		archive := wantCode(t, rec, http.StatusOK)
		if ct := rec.Header().Get("Content-Type"); ct != "application/zip" {
			t.Fatalf("Content-Type %q", ct)
		}
		if _, err := zip.NewReader(strings.NewReader(archive), int64(len(archive))); err != nil {
			t.Fatalf("the archive is not a zip: %v (%d bytes)", err, len(archive))
		}

		// Another account's session: as if there were no such export.
		other := w.portal(t, "u-2")
		wantCode(t, w.get(t, other, page), http.StatusNotFound)
		wantCode(t, w.get(t, other, page+"/archive"), http.StatusNotFound)
		if list := wantCode(t, w.get(t, other, "/portal/exports"), http.StatusOK); strings.Contains(list, `class="export"`) {
			t.Fatalf("another account's list shows u-1's exports:\n%s", list)
		}
		// Staff use the API's agent route, not the portal.
		wantCode(t, w.get(t, w.sessions[principal.Agent], page), http.StatusForbidden)
		// A malformed ID is a 400, never a 5xx.
		wantCode(t, w.get(t, s, "/portal/exports/not-an-id"), http.StatusBadRequest)
	})
}
