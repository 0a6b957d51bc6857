package leak_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// rowsOf returns rows of a share's records: those whose phone is among phones, or a
// canary's when canaries.
func rowsOf(sh *leak.Shared, want func(r leak.Record) bool) []leak.Row {
	var out []leak.Row
	for _, r := range sh.Records {
		if want(r) {
			out = append(out, leak.Row{Name: r.Name, Phone: r.Phone, Address: r.Address})
		}
	}
	return out
}

func of(accts ...int) func(r leak.Record) bool {
	names := map[string]bool{}
	for _, i := range accts {
		names[person(i).Name] = true
	}
	return func(r leak.Record) bool { return names[r.Name] }
}

func span(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestDoneWhen is the scenario: three recipients get overlapping shares and a
// member of staff reveals some accounts; a sample leaked from one recipient's share
// ranks that recipient first, with and without a canary in it; a sample of the staff
// member's reveals ranks that person first.
func TestDoneWhen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := fixture(t, db, 60, 10_000, 6)
		l := a.Leak
		share := func(recipient string, mode string, accts ...[]int) *leak.Shared {
			t.Helper()
			var ids []string
			for _, span := range accts {
				for _, i := range span {
					ids = append(ids, accountID(i))
				}
			}
			sh, err := l.CreateShare(svc, leak.ShareRequest{Recipient: recipient, Purpose: "partner.delivery",
				Fields: []string{"name", "phone", "address"}, Accounts: ids, PhoneMode: mode})
			if err != nil {
				t.Fatal(err)
			}
			return sh
		}
		logistics := share("logistics:sf-express", "", span(0, 30))
		seller := share("seller:shop-1", "", span(20, 50))
		payments := share("payments:acme", leak.PhoneRelay, span(10, 20), span(40, 60))
		agent := principal.NewContext(svc, principal.Key("mallory", principal.Agent, "key-mallory"))
		staffSaw := []int{5, 15, 25, 35, 45, 55}
		for _, i := range staffSaw {
			if _, err := a.Vault.Reveal(agent, accountID(i), vault.RevealRequest{Fields: []string{"name", "phone", "address", "email"}, Purpose: "partner.delivery"}); err != nil {
				t.Fatal(err)
			}
		}
		sec := as(principal.Security, "sec")
		investigate := func(rows []leak.Row) *leak.Leak {
			t.Helper()
			rand.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
			got, err := l.Investigate(sec, leak.Investigation{Rows: rows})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Suspects) == 0 {
				t.Fatal("no suspects")
			}
			return got
		}
		first := func(name string, lk *leak.Leak, kind, id string) {
			t.Helper()
			top := lk.Suspects[0]
			if top.Kind != kind || top.ID != id {
				t.Fatalf("%s: first suspect %s %s (%s, score %.3f, %+v); want %s %s; all: %+v", name, top.Kind, top.ID, top.Recipient, top.Score, top.Evidence, kind, id, lk.Suspects)
			}
		}

		// Mostly rows the seller also had, a few only logistics had.
		plain := investigate(rowsOf(logistics, of(append(span(20, 28), 1, 2, 3)...)))
		first("logistics, no canary", plain, "share", logistics.Share.ID)
		if plain.Matched != 11 || len(plain.Accounts) != 11 || plain.Suspects[0].Evidence.Rows != 11 || plain.Suspects[0].Score >= 1 {
			t.Fatalf("plain: %+v", plain)
		}
		if got, err := l.LeakAccounts(sec, plain.ID); err != nil || !slices.Equal(got, plain.Accounts) {
			t.Fatalf("LeakAccounts = %v, %v", got, err)
		}

		// The same rows and one canary: decisive.
		// The same rows and a canary: it adds to logistics' weight; all three of its
		// canaries (a set no other share carries) are decisive, even among rows only
		// the seller had.
		canaries := rowsOf(logistics, func(r leak.Record) bool { return strings.HasPrefix(r.Name, "金丝雀") })
		withCanary := investigate(append(rowsOf(logistics, of(append(span(20, 28), 1, 2, 3)...)), canaries[0]))
		first("logistics, a canary", withCanary, "share", logistics.Share.ID)
		if s := withCanary.Suspects[0]; s.Weight <= plain.Suspects[0].Weight || len(s.Evidence.Canaries) != 1 || len(withCanary.Canaries) != 1 {
			t.Fatalf("with a canary: %+v", s)
		}
		decisive := investigate(append(rowsOf(logistics, of(span(20, 30)...)), canaries...))
		first("logistics, its canaries", decisive, "share", logistics.Share.ID)
		if s := decisive.Suspects[0]; s.Score != 1 || len(s.Evidence.Canaries) != 3 || decisive.Suspects[1].Score == 1 {
			t.Fatalf("with its canaries: %+v", decisive.Suspects)
		}

		// The staff member's reveals: name, phone and address of accounts each share
		// holds only some of.
		var staffRows []leak.Row
		for _, i := range staffSaw {
			p := person(i)
			staffRows = append(staffRows, leak.Row{Name: p.Name, Phone: p.Phone, Address: p.Address})
		}
		staff := investigate(staffRows)
		first("staff reveals", staff, "staff", "mallory")
		if e := staff.Suspects[0].Evidence; e.Rows != 6 || !slices.Equal(e.Unmasked, []string{"address", "name", "phone"}) {
			t.Fatalf("staff evidence %+v", e)
		}

		// Real numbers of accounts only payments (by relay) and the seller had: the
		// relay-only recipient is excluded.
		real := investigate(rowsOf(seller, of(span(40, 50)...)))
		first("real numbers", real, "share", seller.Share.ID)
		for _, s := range real.Suspects {
			if s.ID == payments.Share.ID {
				t.Fatalf("the relay recipient is a suspect of real numbers: %+v", s)
			}
		}
		// Its relay numbers name it outright.
		relayed := investigate(rowsOf(payments, of(span(40, 45)...)))
		first("relay numbers", relayed, "share", payments.Share.ID)
		if s := relayed.Suspects[0]; s.Score != 1 || s.Evidence.Relays != 5 || relayed.Relays != 5 {
			t.Fatalf("relayed: %+v", s)
		}
		if len(pending(t, db, leak.ActionInvestigate)) != 6 {
			t.Fatal("an investigation is not audited")
		}
		if got, err := l.GetLeak(sec, relayed.ID); err != nil || got.Suspects[0].ID != payments.Share.ID {
			t.Fatalf("GetLeak = %+v, %v", got, err)
		}
	})
}

func TestInvestigateRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := fixture(t, db, 1, 10, 0)
		_, err := a.Leak.Investigate(as(principal.Security, "sec"), leak.Investigation{Rows: []leak.Row{
			{Phone: "12"}, {}, {Email: "x", CardLast4: "12a4"}, {Name: "张三"}}})
		var fields []string
		for _, f := range errs.FieldsOf(err) {
			fields = append(fields, f.Field)
		}
		if want := []string{"rows[0].phone", "rows[1]", "rows[2].email", "rows[2].card_last4"}; !slices.Equal(fields, want) {
			t.Fatalf("bad rows: %v; want %v", fields, want)
		}
		if _, err := a.Leak.Investigate(as(principal.Security, "sec"), leak.Investigation{}); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("no rows: %v", err)
		}
		if _, err := a.Leak.GetLeak(as(principal.Security, "sec"), "nope"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("no leak: %v", err)
		}
	})
}
