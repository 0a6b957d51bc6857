package httpapi

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/takeout"
)

const banBody = `{"account": "%s", "kind": "ban", "scope": {"services": ["*"]}, "reason_code": "fraud", "authority": {"kind": "automated", "rule": "r"}}`

// banAccount bans account everywhere through the API and returns the ban's ID.
func (a *testAPI) banAccount(tb testing.TB, account string) string {
	tb.Helper()
	w := a.do(tb, request{method: "POST", target: "/v1/sanctions", key: a.keys[principal.Reviewer], body: fmt.Sprintf(banBody, account)})
	wantStatus(tb, w, http.StatusCreated)
	return decode[struct{ ID string }](tb, w).ID
}

// TestExports: a banned user exports, a retry with its Idempotency-Key starts nothing
// more, nobody else reaches the export, the archive downloads once made with every file
// as its manifest says, and answers 410 once expired; an agent exports on the user's
// behalf.
func TestExports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		u1, u2 := api.userToken(t, "u-1"), api.userToken(t, "u-2")
		api.banAccount(t, "u-1")

		start := request{method: "POST", target: "/v1/me/exports", key: u1, header: http.Header{"Idempotency-Key": {"ex-1"}}}
		w := api.do(t, start)
		wantStatus(t, w, http.StatusAccepted)
		e := decode[takeout.Export](t, w)
		if e.Account != "u-1" || e.State != takeout.Queued || e.CreatedBy.Identity() != "user:u-1" {
			t.Fatalf("started %+v", e)
		}
		if again := decode[takeout.Export](t, api.do(t, start)); again.ID != e.ID {
			t.Fatalf("a retry started another export: %s", again.ID)
		}
		if page := decode[exportPage](t, api.do(t, request{method: "GET", target: "/v1/me/exports", key: u1})); len(page.Exports) != 1 {
			t.Fatalf("u-1 has %d exports, want 1", len(page.Exports))
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/me/exports", key: u1, body: `{"account": "u-2"}`}), http.StatusBadRequest, "account")

		// Another account's holder reaches none of it.
		me := "/v1/me/exports/" + e.ID
		for _, target := range []string{me, me + "/archive"} {
			wantProblem(t, api.do(t, request{method: "GET", target: target, key: u2}), http.StatusNotFound, "")
		}
		if page := decode[exportPage](t, api.do(t, request{method: "GET", target: "/v1/me/exports", key: u2})); len(page.Exports) != 0 {
			t.Fatalf("u-2 lists u-1's exports: %+v", page.Exports)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/me/exports/not-an-id", key: u1}), http.StatusBadRequest, "id")
		wantProblem(t, api.do(t, request{method: "GET", target: me + "/archive", key: u1}), http.StatusConflict, "")

		if built, err := api.app.Takeout.Builder().Step(context.Background()); !built || err != nil {
			t.Fatalf("build: %v %v", built, err)
		}
		got := decode[takeout.Export](t, api.do(t, request{method: "GET", target: me, key: u1}))
		if got.State != takeout.Done || got.Progress.Done != got.Progress.Total {
			t.Fatalf("after the build %+v", got)
		}
		w = api.do(t, request{method: "GET", target: me + "/archive", key: u1})
		wantStatus(t, w, http.StatusOK)
		sum := sha256.Sum256(w.Body.Bytes())
		if w.Header().Get("Content-Type") != "application/zip" || w.Header().Get("ETag") != `"`+got.SHA256+`"` || hex.EncodeToString(sum[:]) != got.SHA256 {
			t.Fatalf("archive: %s, ETag %s, sha256 %x, export says %s", w.Header().Get("Content-Type"), w.Header().Get("ETag"), sum, got.SHA256)
		}
		checkZip(t, w.Body.Bytes())

		// Once expired, 410.
		stored, err := db.Takeout().GetExport(context.Background(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored.Version++
		stored.State = takeout.Expired
		if err := db.Write(context.Background(), func(ctx context.Context) error { return db.Takeout().UpdateExport(ctx, stored) }); err != nil {
			t.Fatal(err)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: me + "/archive", key: u1}), http.StatusGone, "")

		// An agent exports on the user's behalf, and reads it under that account only.
		agent := api.keys[principal.Agent]
		w = api.do(t, request{method: "POST", target: "/v1/accounts/u-1/exports", key: agent})
		wantStatus(t, w, http.StatusAccepted)
		e2 := decode[takeout.Export](t, w)
		if e2.CreatedBy.Role != principal.Agent || e2.Account != "u-1" {
			t.Fatalf("agent's export %+v", e2)
		}
		wantStatus(t, api.do(t, request{method: "GET", target: "/v1/accounts/u-1/exports/" + e2.ID, key: agent}), http.StatusOK)
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/accounts/u-2/exports/" + e2.ID, key: agent}), http.StatusNotFound, "")
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/accounts/nobody/exports", key: agent}), http.StatusNotFound, "")
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/accounts/u-1/exports", key: agent, body: `[1]`}), http.StatusBadRequest, "body")
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/accounts/bad%20id/exports/" + e2.ID, key: agent}), http.StatusBadRequest, "id")
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/accounts/u-1/exports/not-an-id", key: agent}), http.StatusBadRequest, "id")
	})
}

// checkZip checks every file of an archive against its manifest.
func checkZip(t *testing.T, b []byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	var m takeout.Manifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != len(files)-1 || len(m.Files) < 3 {
		t.Fatalf("manifest lists %d files of %d", len(m.Files), len(files))
	}
	for _, f := range m.Files {
		sum := sha256.Sum256(files[f.Name])
		if int64(len(files[f.Name])) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s does not match the manifest", f.Name)
		}
	}
}
