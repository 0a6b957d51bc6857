package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// serve refuses a webhook on loopback unless --webhook-allow-private.
func TestServeWebhookAllowPrivate(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := dbArgs(t, kind)
			steward(t, append([]string{"migrate", "--create"}, db...)...)
			key := lastLine(steward(t, append([]string{"keys", "create", "--role", "admin", "--name", "ops"}, db...)...))
			put := func(p *program) int {
				t.Helper()
				req, _ := http.NewRequest("PUT", p.url+"/v1/webhooks/local", strings.NewReader(
					`{"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef-secret", "events": ["sanction.created"]}`))
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			strict := serve(t, db...)
			if got := put(strict); got != http.StatusBadRequest {
				t.Fatalf("without the flag: status %d, want 400", got)
			}
			strict.shutdown(t)
			loose := serve(t, append([]string{"--webhook-allow-private"}, db...)...)
			if got := put(loose); got != http.StatusCreated {
				t.Fatalf("with --webhook-allow-private: status %d, want 201", got)
			}
		})
	}
}
