package leak_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// Two agents reveal a few accounts in an hour, a third reveals dozens and looks one
// up: the third alone raises insider.unusual_access, named by their key's name (their
// pseudonym beside it), once for the hour, audited and in the webhook outbox; a service
// sharing a handful of records raises nothing.
func TestInsiderAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := fixture(t, db, 60, 10_000, 0)
		l := a.Leak
		reveal := func(name string, accts ...int) {
			t.Helper()
			p := principal.Key(name, principal.Agent, "key-"+name)
			p.Team = "cs-hangzhou"
			ctx := principal.NewContext(svc, p)
			for _, i := range accts {
				if _, err := a.Vault.Reveal(ctx, accountID(i), vault.RevealRequest{Fields: []string{"phone"}, Purpose: "partner.delivery"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		reveal("alice", 0, 1, 2)
		reveal("bob", 3, 4, 5, 6)
		reveal("mallory", span(10, 50)...)
		if _, err := a.Vault.Lookup(principal.NewContext(svc, principal.Key("mallory", principal.Agent, "key-mallory")), "phone", person(55).Phone); err != nil {
			t.Fatal(err)
		}
		if _, err := l.CreateShare(svc, leak.ShareRequest{Recipient: "seller:shop-1", Purpose: "partner.delivery", Fields: []string{"phone"}, Accounts: accountsIn(0, 5)}); err != nil {
			t.Fatal(err)
		}
		err := db.Write(context.Background(), func(ctx context.Context) error {
			_, err := db.Webhooks().PutWebhook(ctx, &notify.Webhook{Name: "soc", URL: "https://soc.example/", Secret: "s", Events: []string{notify.SecurityAlert}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		outbox, _ := db.Count(context.Background(), "outbox")

		steward := principal.NewContext(context.Background(), principal.Steward)
		alerts, err := l.Insiders().Tick(steward)
		if err != nil {
			t.Fatal(err)
		}
		alias, _ := a.Vault.Pseudonym(svc, principal.Key("mallory", principal.Agent, ""))
		if len(alerts) != 1 {
			t.Fatalf("alerts %+v; want mallory's alone", alerts)
		}
		al := alerts[0]
		var metrics []string
		for _, u := range al.Unusual {
			metrics = append(metrics, fmt.Sprintf("%s=%d own=%g peers=%g", u.Metric, u.Count, u.Own, u.Peers))
		}
		if al.Kind != leak.AlertInsider || al.Actor != "mallory" || al.Pseudonym != alias || al.Role != "agent" ||
			!al.Hour.Equal(time.Now().UTC().Truncate(time.Hour)) && !al.Hour.Equal(time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)) ||
			!slices.Equal(metrics, []string{"reveals=40 own=0 peers=3.5", "accounts=41 own=0 peers=3.5"}) {
			t.Fatalf("alert %+v (%v)", al, metrics)
		}
		if n, _ := db.Count(context.Background(), "outbox"); n != outbox+1 {
			t.Fatalf("outbox holds %d events, want %d", n, outbox+1)
		}
		es := pending(t, db, leak.ActionInsider)
		if len(es) != 1 || es[0].Subject != "staff:mallory" {
			t.Fatalf("insider entries %+v", es)
		}
		if _, ok := a.Workers()["insider alerts"]; !ok {
			t.Fatal("the insider watch is not among the workers")
		}
		// Once per person and hour.
		if again, err := l.CheckInsiders(steward, time.Now()); err != nil || len(again) != 0 {
			t.Fatalf("again: %+v, %v", again, err)
		}
		if n := len(pending(t, db, leak.ActionInsider)); n != 1 {
			t.Fatalf("%d insider entries after a second check", n)
		}
	})
}

// An hour is unusual only above the floor, the person's own baseline and their peers'.
func TestInsiderBaselines(t *testing.T) {
	hour := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	acts := func(n ...int) []leak.Activity {
		var out []leak.Activity
		for i, v := range n {
			out = append(out, leak.Activity{Actor: "x", Role: principal.Agent, Hour: hour.Add(-time.Duration(i+1) * time.Hour), Reveals: v, Accounts: v})
		}
		return out
	}
	cur := leak.Activity{Actor: "x", Role: principal.Agent, Hour: hour, Reveals: 100, Accounts: 100}
	for _, c := range []struct {
		name       string
		cur        leak.Activity
		own, peers []leak.Activity
		want       int
	}{
		{"far above both", cur, acts(10, 12, 15), acts(10, 20, 30), 2},
		{"within own baseline", cur, acts(30, 25, 40), acts(10, 20, 30), 0},
		{"within peers'", cur, acts(10, 12, 15), acts(40, 50, 60), 0},
		{"below the floor", leak.Activity{Reveals: 19, Accounts: 19}, nil, nil, 0},
		{"at the floor, nobody before", leak.Activity{Reveals: 20}, nil, nil, 1},
	} {
		if got := leak.Unusual_(c.cur, c.own, c.peers); len(got) != c.want {
			t.Errorf("%s: %+v; want %d unusual counts", c.name, got, c.want)
		}
	}
}
