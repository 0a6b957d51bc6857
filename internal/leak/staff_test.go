package leak_test

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// The vault's entries, which users' access logs show, name staff by pseudonym; an
// investigation names a staff suspect by their key's name all the same (and keeps the
// pseudonym), also in a process that never saw them act; only security learns who a
// pseudonym is.
func TestStaffSuspectNamed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := fixture(t, db, 6, 1000, 0)
		mallory := principal.Key("mallory", principal.Agent, "key-mallory")
		mallory.Team = "cs-hangzhou"
		agent := principal.NewContext(svc, mallory)
		var rows []leak.Row
		for i := range 4 {
			if _, err := a.Vault.Reveal(agent, accountID(i), vault.RevealRequest{Fields: []string{"name", "phone"}, Purpose: "partner.delivery"}); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, leak.Row{Name: person(i).Name, Phone: person(i).Phone})
		}
		alias, err := a.Vault.Pseudonym(svc, mallory)
		if err != nil {
			t.Fatal(err)
		}
		// What a user's access log is made of: the pseudonym, never the name.
		reveals := pending(t, db, vault.ActionReveal)
		if len(reveals) != 4 {
			t.Fatalf("%d reveal entries", len(reveals))
		}
		for _, e := range reveals {
			if e.Actor.Name != alias || e.Actor.Role != principal.Agent || e.Actor.Team != "cs-hangzhou" {
				t.Fatalf("a reveal entry names %+v; want %s", e.Actor, alias)
			}
		}

		sec := as(principal.Security, "sec")
		for _, ap := range []*app.App{a, storetest.NewApp(t, db, app.Config{})} { // and after a restart
			lk, err := ap.Leak.Investigate(sec, leak.Investigation{Rows: rows})
			if err != nil {
				t.Fatal(err)
			}
			top := lk.Suspects[0]
			if top.Kind != "staff" || top.ID != "mallory" || top.Pseudonym != alias || top.Role != "agent" || top.Evidence.Rows != 4 {
				t.Fatalf("first suspect %+v; want staff mallory (%s)", top, alias)
			}
			if got, err := ap.Leak.GetLeak(sec, lk.ID); err != nil || got.Suspects[0].ID != "mallory" || got.Suspects[0].Pseudonym != alias {
				t.Fatalf("GetLeak = %+v, %v", got, err)
			}
		}

		if p, err := a.Vault.WhoIs(sec, alias); err != nil || p.Name != "mallory" || p.Role != principal.Agent || p.Team != "cs-hangzhou" {
			t.Fatalf("WhoIs = %+v, %v", p, err)
		}
		for _, role := range []principal.Role{principal.Agent, principal.Compliance, principal.Auditor, principal.Admin} {
			if _, err := a.Vault.WhoIs(as(role, "x"), alias); errs.CodeOf(err) != errs.Forbidden {
				t.Fatalf("WhoIs as %s: %v", role, err)
			}
		}
		if _, err := a.Vault.WhoIs(sec, "staff-00000000"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("WhoIs of nobody: %v", err)
		}
		if !strings.HasPrefix(alias, "staff-") {
			t.Fatalf("pseudonym %q", alias)
		}
	})
}
