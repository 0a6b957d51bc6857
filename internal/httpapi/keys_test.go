package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

func TestKeysListAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		admin := api.keys[principal.Admin]
		otherSecret, other, err := api.app.Keys.CreateKey(context.Background(), auth.KeySpec{Role: principal.Admin, Name: "second-admin", Team: "platform-ops"})
		if err != nil {
			t.Fatal(err)
		}

		w := api.do(t, request{method: "GET", target: "/v1/keys?limit=2", key: admin})
		wantStatus(t, w, http.StatusOK)
		if strings.Contains(w.Body.String(), "hash") || strings.Contains(w.Body.String(), "stw_") {
			t.Fatalf("the list shows a hash or secret: %s", w.Body)
		}
		first := decode[keyPage](t, w)
		if len(first.Keys) != 2 || first.Keys[0].ID != other.ID || first.Keys[0].Team != "platform-ops" || first.Keys[1].Team != "" || first.Next == "" {
			t.Fatalf("first page: %s", w.Body)
		}
		var all []*auth.Key
		for cursor := ""; ; {
			p := decode[keyPage](t, api.do(t, request{method: "GET", target: "/v1/keys?limit=3&cursor=" + cursor, key: admin}))
			all = append(all, p.Keys...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if len(all) != len(principal.Roles)+1 {
			t.Fatalf("%d keys listed, want %d", len(all), len(principal.Roles)+1)
		}
		if w := api.do(t, request{method: "GET", target: "/v1/keys", key: api.userToken(t, "u-1")}); w.Code != http.StatusForbidden {
			t.Fatalf("a user token listing keys: %d %s", w.Code, w.Body)
		}

		before := api.rows(t)
		wantProblem(t, api.do(t, request{method: "DELETE", target: "/v1/keys/" + other.ID, key: admin, body: `{"force": true}`}), http.StatusBadRequest, "force")
		api.wantRows(t, before)

		idem := http.Header{"Idempotency-Key": {"revoke-1"}}
		w = api.do(t, request{method: "DELETE", target: "/v1/keys/" + other.ID, key: admin, header: idem})
		wantStatus(t, w, http.StatusOK)
		if k := decode[auth.Key](t, w); k.ID != other.ID || k.RevokedAt == nil {
			t.Fatalf("revoke answered %s", w.Body)
		}
		if replay := api.do(t, request{method: "DELETE", target: "/v1/keys/" + other.ID, key: admin, header: idem}); replay.Code != http.StatusOK || replay.Body.String() != w.Body.String() {
			t.Fatalf("a retry with the same Idempotency-Key: %d %s, want the first answer", replay.Code, replay.Body)
		}
		wantProblem(t, api.do(t, request{method: "DELETE", target: "/v1/keys/" + other.ID, key: admin}), http.StatusNotFound, "")
		wantProblem(t, api.do(t, request{method: "DELETE", target: "/v1/keys/no-such-key", key: admin}), http.StatusNotFound, "")
		if w := api.do(t, request{method: "GET", target: "/v1/keys", key: otherSecret}); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "revoked") {
			t.Fatalf("the revoked key, in the process that revoked it: %d %s, want 401 at once", w.Code, w.Body)
		}

		list := decode[keyPage](t, api.do(t, request{method: "GET", target: "/v1/keys?limit=1000", key: admin}))
		var adminID string
		for _, k := range list.Keys {
			if k.Role == principal.Admin && k.RevokedAt == nil {
				adminID = k.ID
			}
		}
		before = api.rows(t)
		wantProblem(t, api.do(t, request{method: "DELETE", target: "/v1/keys/" + adminID, key: admin}), http.StatusConflict, "")
		api.wantRows(t, before)
		if w := api.do(t, request{method: "GET", target: "/v1/keys", key: admin}); w.Code != http.StatusOK {
			t.Fatalf("the last admin key after the refused revoke: %d", w.Code)
		}
		var revokes int
		for _, e := range storetest.PendingActions(t, api.db) {
			if e == "key.revoke" {
				revokes++
			}
		}
		if revokes != 1 {
			t.Fatalf("%d key.revoke entries, want 1", revokes)
		}
	})
}
