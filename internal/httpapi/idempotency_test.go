package httpapi

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// idempotentWrites are the writes the idempotency tests repeat: each with a first body,
// another body for the same target, and what the first call answers and changes.
var idempotentWrites = []struct {
	name           string
	method, target string
	body, other    string
	status         int // of the first call
	changed        int // accounts the first call writes
}{
	{"put", "PUT", "/v1/accounts/acct-1", validBody, with(map[string]any{"region": "gd"}), http.StatusCreated, 1},
	{"import", "POST", "/v1/accounts:import", ndjson("acct-", 5, "north"), ndjson("acct-", 6, "north"), http.StatusOK, 5},
}

func withKey(key string) http.Header { return http.Header{"Idempotency-Key": {key}} }

func TestIdempotencyKey(t *testing.T) {
	for _, tt := range idempotentWrites {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				api := newTestAPI(t, db)
				service := api.keys[principal.Service]
				call := func(key, target, body, idemKey string) *httptest.ResponseRecorder {
					return api.do(t, request{method: tt.method, target: target, key: key, body: body, header: withKey(idemKey)})
				}
				before := api.rows(t)

				first := call(service, tt.target, tt.body, "k1")
				wantStatus(t, first, tt.status)
				if first.Header().Get("Idempotent-Replayed") != "" {
					t.Fatal("a first answer says it is replayed")
				}
				after := rows{before.accounts + tt.changed, before.audit + tt.changed, before.idempotency + 1}
				api.wantRows(t, after)
				stored := api.get(t, "/v1/accounts?limit=1000").Body.String()

				replayed := func(t *testing.T, w *httptest.ResponseRecorder) {
					t.Helper()
					if w.Code != first.Code || w.Body.String() != first.Body.String() {
						t.Fatalf("retry answered %d %s\nwant the first answer %d %s", w.Code, w.Body, first.Code, first.Body)
					}
					if got := w.Header().Get("Idempotent-Replayed"); got != "true" {
						t.Fatalf("Idempotent-Replayed %q, want true", got)
					}
					if ct := w.Header().Get("Content-Type"); ct != "application/json" {
						t.Fatalf("Content-Type %q", ct)
					}
				}
				t.Run("retry", func(t *testing.T) {
					for range 3 {
						replayed(t, call(service, tt.target, tt.body, "k1"))
					}
					api.wantRows(t, after)
					if got := api.get(t, "/v1/accounts?limit=1000").Body.String(); got != stored {
						t.Fatal("a retry changed the accounts")
					}
				})
				t.Run("another body", func(t *testing.T) {
					wantProblem(t, call(service, tt.target, tt.other, "k1"), http.StatusUnprocessableEntity, "")
					api.wantRows(t, after)
				})
				t.Run("another target", func(t *testing.T) {
					wantProblem(t, call(service, tt.target+"?x=1", tt.body, "k1"), http.StatusUnprocessableEntity, "")
					api.wantRows(t, after)
				})
				t.Run("retry after a change by another request", func(t *testing.T) {
					// The first answer is stored, not recomputed.
					wantStatus(t, call(service, tt.target, tt.body, "k2"), http.StatusOK)
					replayed(t, call(service, tt.target, tt.body, "k1"))
				})
				t.Run("keys are scoped per API key", func(t *testing.T) {
					before := api.rows(t)
					w := call(api.keys[principal.Admin], tt.target, tt.body, "k1")
					wantStatus(t, w, http.StatusOK) // a replace, done anew
					if w.Header().Get("Idempotent-Replayed") != "" {
						t.Fatal("another API key got the first key's answer")
					}
					api.wantRows(t, rows{before.accounts, before.audit + tt.changed, before.idempotency + 1})
				})
			})
		})
	}
}

// TestIdempotencyKeyConcurrent sends the same request with the same key from many
// goroutines at once: exactly one makes the change, and every caller gets its answer.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	const n = 20
	for _, tt := range idempotentWrites {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				api := newTestAPI(t, db)
				before := api.rows(t)
				answers := make([]*httptest.ResponseRecorder, n)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range answers {
					wg.Go(func() {
						<-start
						answers[i] = api.do(t, request{method: tt.method, target: tt.target, key: api.keys[principal.Service], body: tt.body, header: withKey("same")})
					})
				}
				close(start)
				wg.Wait()

				firsts := 0
				for _, w := range answers {
					if w.Code != tt.status || w.Body.String() != answers[0].Body.String() {
						t.Fatalf("answers differ: %d %s and %d %s", w.Code, w.Body, answers[0].Code, answers[0].Body)
					}
					if w.Header().Get("Idempotent-Replayed") == "" {
						firsts++
					}
				}
				if firsts != 1 {
					t.Errorf("%d answers are not replays; want exactly 1", firsts)
				}
				api.wantRows(t, rows{before.accounts + tt.changed, before.audit + tt.changed, before.idempotency + 1})
			})
		})
	}
}
