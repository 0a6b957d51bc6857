package notify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// A webhook URL deliveries cannot go to is refused naming url, and nothing is stored.
func TestWebhookURLIsValidated(t *testing.T) {
	bad := []string{
		"http://127.0.0.1:99999/hook",
		"http://127.0.0.1:0/hook",
		"http://127.0.0.1:/hook",
		"http://example.com/a hook",
		"http://exa mple.com/",
		"http://example.com/\thook",
		"http://example.com/\x7f",
		" http://example.com/",
		"http://user:pass@example.com/",
		"http://user@example.com/",
		"ftp://example.com/",
		"http:///hook",
		"http://:8080/hook",
		"http:example.com",
		"example.com/hook",
		"",
		"http://example.com/" + strings.Repeat("a", 2048),
	}
	good := []string{"http://127.0.0.1:8080/hook", "https://hooks.example.com/steward?tenant=7", "http://[::1]:65535/", "HTTPS://Example.com"}
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := principal.NewContext(context.Background(), principal.Principal{Name: "ada", Role: principal.Admin})
		hooks := storetest.NewApp(t, db, app.Config{}).Webhooks
		put := func(url string) error {
			_, err := hooks.Put(ctx, &notify.Webhook{Name: "platform", URL: url, Secret: testSecret, Events: []string{"sanction.created"}})
			return err
		}
		for _, url := range bad {
			err := put(url)
			if fs := errs.FieldsOf(err); errs.CodeOf(err) != errs.Invalid || len(fs) != 1 || fs[0].Field != "url" {
				t.Errorf("%q: %v, want invalid naming url alone", url, err)
			}
		}
		if _, err := hooks.Deliveries(ctx, "platform", "", 1); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("after refused puts the webhook exists (%v)", err)
		}
		for _, url := range good {
			if err := put(url); err != nil {
				t.Errorf("%q: %v", url, err)
			}
		}
	})
}
