package notify_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// allowPrivate is the configuration of tests whose receivers are httptest servers, on
// loopback (serve --webhook-allow-private).
var allowPrivate = app.Config{Webhooks: notify.Reach{AllowPrivate: true}}

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
		hooks := storetest.NewApp(t, db, allowPrivate).Webhooks
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

// Without --webhook-allow-private a webhook may not reach a loopback, link-local,
// private or unspecified address, given as such or as a name resolving to one: the put
// is refused naming url and saying why, and nothing is stored. With it, each is taken.
func TestWebhookURLMustNotReachPrivateAddresses(t *testing.T) {
	refused := map[string]string{ // URL → what the refusal says
		"http://127.0.0.1:8080/hook":              "loopback",
		"http://127.1.2.3/":                       "loopback",
		"http://[::1]:9000/":                      "loopback",
		"http://[::ffff:127.0.0.1]/":              "loopback",
		"http://localhost:8080/hook":              "localhost, which resolves to 127.0.0.1, a loopback",
		"http://LocalHost/":                       "resolves to 127.0.0.1",
		"http://169.254.169.254/latest/meta-data": "link-local",
		"http://169.254.0.1/":                     "link-local",
		"http://[fe80::1]/":                       "link-local",
		"http://10.0.0.1/":                        "private",
		"http://10.255.255.255:443/":              "private",
		"http://172.16.0.1/":                      "private",
		"http://172.31.255.254/":                  "private",
		"http://192.168.1.1/":                     "private",
		"http://[::ffff:192.168.0.1]/":            "private",
		"http://[fc00::1]/":                       "private",
		"http://[fd12:3456::1]/":                  "private",
		"http://0.0.0.0:8080/":                    "unspecified",
		"http://0.1.2.3/":                         "unspecified",
		"http://[::]/":                            "unspecified",
	}
	// Beside the ranges, and a name that does not resolve now (each delivery checks
	// the address it dials).
	allowed := []string{"http://172.32.0.1/", "http://172.15.255.255/", "http://192.169.0.1/", "http://169.255.0.1/",
		"http://11.0.0.1/", "https://[2606:4700::1111]/", "https://[fe00::1]/", "https://hooks.example.invalid/steward"}
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := principal.NewContext(context.Background(), principal.Principal{Name: "ada", Role: principal.Admin})
		put := func(hooks *notify.Webhooks, name, url string) error {
			_, err := hooks.Put(ctx, &notify.Webhook{Name: name, URL: url, Secret: testSecret, Events: []string{"sanction.created"}})
			return err
		}
		strict := storetest.NewApp(t, db, app.Config{}).Webhooks
		for url, why := range refused {
			err := put(strict, "platform", url)
			fs := errs.FieldsOf(err)
			if errs.CodeOf(err) != errs.Invalid || len(fs) != 1 || fs[0].Field != "url" ||
				!strings.Contains(fs[0].Message, why) || !strings.Contains(fs[0].Message, "--webhook-allow-private") {
				t.Errorf("%q: %v, want invalid naming url alone, saying %q and how to allow it", url, err, why)
			}
		}
		if list, err := strict.List(ctx); err != nil || len(list) != 0 {
			t.Fatalf("after refused puts %d webhooks are stored (%v)", len(list), err)
		}
		for i, url := range allowed {
			if err := put(strict, fmt.Sprintf("public-%d", i), url); err != nil {
				t.Errorf("%q: %v", url, err)
			}
		}
		loose := storetest.NewApp(t, db, allowPrivate).Webhooks
		i := 0
		for url := range refused {
			if err := put(loose, fmt.Sprintf("private-%d", i), url); err != nil {
				t.Errorf("%q with --webhook-allow-private: %v", url, err)
			}
			i++
		}
	})
}

// A name is refused when any address it resolves to is private; Check resolves it
// before the write transaction, and Put, given what Check passed, does not again.
func TestWebhookHostIsResolvedOnceBeforeTheTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := principal.NewContext(context.Background(), principal.Principal{Name: "ada", Role: principal.Admin})
		var lookups []string
		reach := notify.WithLookup(notify.Reach{}, func(_ context.Context, host string) ([]netip.Addr, error) {
			lookups = append(lookups, host)
			if host == "split.example" {
				return []netip.Addr{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("10.1.2.3")}, nil
			}
			return []netip.Addr{netip.MustParseAddr("203.0.113.7")}, nil
		})
		hooks := storetest.NewApp(t, db, app.Config{Webhooks: reach}).Webhooks
		hook := func(url string) *notify.Webhook {
			return &notify.Webhook{Name: "platform", URL: url, Secret: testSecret, Events: []string{"sanction.created"}}
		}
		err := hooks.Check(ctx, hook("https://split.example/in"))
		if fs := errs.FieldsOf(err); len(fs) != 1 || fs[0].Field != "url" || !strings.Contains(fs[0].Message, "10.1.2.3, a private address") {
			t.Fatalf("a name resolving to a public and a private address: %v, want url refused naming the private one", err)
		}
		w := hook("https://hooks.example/in")
		if err := hooks.Check(ctx, w); err != nil {
			t.Fatal(err)
		}
		lookups = nil
		if err := db.Write(ctx, func(ctx context.Context) error { _, err := hooks.Put(ctx, w); return err }); err != nil {
			t.Fatal(err)
		}
		if len(lookups) != 0 {
			t.Fatalf("Put after Check resolved %q inside the transaction", lookups)
		}
		w.URL = "https://other.example/in" // changed since Check: resolved again
		if _, err := hooks.Put(ctx, w); err != nil || !slices.Equal(lookups, []string{"other.example"}) {
			t.Fatalf("Put of a URL Check did not see: %v, lookups %q", err, lookups)
		}
	})
}
