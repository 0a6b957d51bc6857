package httpapi

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// FuzzPutAccount sends PUT /v1/accounts/{id} with any ID and body through the real
// handler on SQLite. Any input must answer below 500; a 2xx must store exactly what it
// answers, with one audit entry; anything else must write nothing.
func FuzzPutAccount(f *testing.F) {
	f.Add("acct-1", []byte(validBody))
	f.Add("acct-1", []byte(with(map[string]any{"id": "acct-1", "attributes": map[string]any{"n": -1.5e300, "s": "\u2028\u00e9\x7f", "b": false}})))
	f.Add("u:1@x.y_z", []byte(`{"region":"r","created_at":"2261-12-31T23:59:59.999999999Z","locale":"en"}`))
	f.Add("a", []byte(`{"region":"r","created_at":"1970-01-01T00:00:00+00:00","locale":"en","attributes":{},"linked":[]}`))
	for _, tt := range badPuts {
		if len(tt.body) <= 4096 && tt.header == nil {
			id, _ := url.PathUnescape(tt.id)
			if id == "" {
				id = "acct-1"
			}
			f.Add(id, []byte(tt.body))
		}
	}
	api := newTestAPI(f, storetest.Open(f, "sqlite"))
	f.Fuzz(func(t *testing.T, id string, body []byte) {
		target := "/v1/accounts/" + url.PathEscape(id)
		before := api.rows(t)
		stored := api.stored(t, target)
		w := api.do(t, request{method: "PUT", target: target, key: api.keys[principal.Service], body: string(body)})
		switch {
		case w.Code >= 500:
			t.Fatalf("status %d; body: %s", w.Code, w.Body)
		case w.Code/100 == 2:
			created := 0
			if w.Code == http.StatusCreated {
				created = 1
			}
			api.wantRows(t, rows{before.accounts + created, before.audit + 1, before.idempotency})
			if got := api.stored(t, target); got != w.Body.String() {
				t.Fatalf("stored account differs from the answer:\n got %s\nwant %s", got, w.Body)
			}
		default:
			api.wantRows(t, before)
			if got := api.stored(t, target); got != stored {
				t.Fatalf("a refused PUT changed the account:\n got %s\nwant %s", got, stored)
			}
		}
	})
}

// FuzzImport sends any body to POST /v1/accounts:import through the real handler on
// SQLite. Any input must answer below 500; a 2xx must count what it wrote, with one
// audit entry per account; anything else must write nothing.
func FuzzImport(f *testing.F) {
	f.Add([]byte(ndjson("acct-", 3, "north")))
	f.Add([]byte(ndjson("acct-", 2, "north") + "\r\n\n" + ndjson("b-", 1, "south")))
	f.Add([]byte(ndjson("acct-", 2, "north") + ndjson("acct-", 1, "north"))) // duplicate
	f.Add([]byte(ndjson("acct-", 2, "north") + `{"id":"x","region":`))
	f.Add([]byte(`{"id":"x","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"fr"}`))
	f.Add([]byte(`{"id":"x","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"en","attributes":{"a":[1]}}`))
	f.Add([]byte("\n\n"))
	f.Add([]byte(`[]`))
	api := newTestAPI(f, storetest.Open(f, "sqlite"))
	f.Fuzz(func(t *testing.T, body []byte) {
		before := api.rows(t)
		w := api.importBody(t, string(body))
		switch {
		case w.Code >= 500:
			t.Fatalf("status %d; body: %s", w.Code, w.Body)
		case w.Code/100 == 2:
			res := decode[accounts.ImportResult](t, w)
			lines := 0
			for l := range bytes.Lines(body) {
				if len(bytes.TrimSpace(l)) > 0 {
					lines++
				}
			}
			if res.Created+res.Replaced != lines {
				t.Fatalf("%+v for %d lines", res, lines)
			}
			api.wantRows(t, rows{before.accounts + res.Created, before.audit + lines, before.idempotency})
		default:
			api.wantRows(t, before)
		}
	})
}

// stored returns the body of GET target when it answers 200, else just the status.
func (a *testAPI) stored(tb testing.TB, target string) string {
	tb.Helper()
	w := a.get(tb, target)
	if w.Code != http.StatusOK {
		return http.StatusText(w.Code)
	}
	return w.Body.String()
}
