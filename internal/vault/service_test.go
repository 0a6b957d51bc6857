package vault_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// known are personal data values the raw-file search looks for.
var known = vault.PII{
	Name: "欧阳测试明", Phone: "13912345678", Email: "secret.person@example.org", IDNumber: "11010519491231002X",
	Address: "浙江省杭州市西湖区文三路九十九号", BankCard: "6222021234567890128", Plate: "浙B12312",
	Extra: map[string]string{"wechat": "wx_hidden_handle_77"},
}

// knownStrings are the values as they may appear: given and normalised.
var knownStrings = []string{"欧阳测试明", "13912345678", "secret.person@example.org", "11010519491231002X",
	"文三路九十九号", "6222021234567890128", "浙B12312", "wx_hidden_handle_77", webhookSecret}

// webhookSecret is a webhook's signing secret, which the vault's keys seal too.
const webhookSecret = "whsec_known_value_8d1f"

func as(role principal.Role, name string) context.Context {
	return principal.NewContext(audit.WithRequestID(context.Background(), "test"), principal.Key(name, role, "key-"+name))
}

func putAccount(t *testing.T, a *app.App, id, region string) {
	t.Helper()
	acct := &accounts.Account{ID: id, Region: region, Locale: "zh-CN", CreatedAt: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}
	if _, err := a.Accounts.Put(as(principal.Service, "svc"), acct); err != nil {
		t.Fatal(err)
	}
}

// entries returns the audit entries about subject, in storage order.
func entries(t *testing.T, db *sqlstore.DB, subject string) []audit.Entry {
	t.Helper()
	// No sequencer runs here: every entry is still pending.
	pend, err := db.Audit().Pending(context.Background(), 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, r := range pend {
		var e audit.Entry
		if err := jsonUnmarshal(r.Leaf, &e); err != nil {
			t.Fatal(err)
		}
		if e.Subject == subject {
			out = append(out, e)
		}
	}
	return out
}

func TestVault(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := storetest.NewApp(t, db, app.Config{})
		v := a.Vault
		putAccount(t, a, "u-1", "zj")
		putAccount(t, a, "u-2", "zj")
		svc := as(principal.Service, "svc")

		if _, err := v.Put(svc, "nobody", known); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("put for a missing account: %v", err)
		}
		masked, err := v.Put(svc, "u-1", known)
		if err != nil {
			t.Fatal(err)
		}
		if masked.Phone != "139****5678" || masked.Name != "欧****" || masked.Plate != "浙B***12" {
			t.Fatalf("masked = %+v", masked)
		}
		if _, err := v.Put(svc, "u-2", vault.PII{Phone: "+86 139 1234 5678", Plate: "粤BD12345"}); err != nil {
			t.Fatal(err)
		}

		agent := as(principal.Agent, "alice")
		if m, err := v.Masked(agent, "u-1"); err != nil || m.IDNumber != "1101**********002X" || m.BankCard != "****0128" {
			t.Fatalf("masked read: %+v, %v", m, err)
		}
		if _, err := v.Masked(agent, "u-3"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("masked read of none: %v", err)
		}

		// Reveals: a purpose lets some roles reveal some fields, so many a day.
		if _, err := v.PutPurpose(as(principal.Admin, "root"), &vault.Purpose{Name: "delivery", Roles: []principal.Role{principal.Agent},
			Fields: []string{"phone", "address"}, RequiresTicket: true, PerActorDaily: 2}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.PutPurpose(as(principal.Admin, "root"), &vault.Purpose{Name: "Bad Name", Roles: []principal.Role{"auditor"}, Fields: []string{"soul"}}); !sameFields(err, "name", "roles", "fields", "per_actor_daily") {
			t.Fatalf("bad purpose: %v", err)
		}
		req := vault.RevealRequest{Fields: []string{"phone"}, Purpose: "delivery", Ticket: "T-1"}
		if _, err := v.Reveal(agent, "u-1", vault.RevealRequest{Fields: []string{"soul"}, Purpose: "nope"}); !sameFields(err, "fields", "purpose") {
			t.Fatalf("bad reveal: %v", err)
		}
		if _, err := v.Reveal(agent, "u-1", vault.RevealRequest{Fields: []string{"phone"}, Purpose: "delivery"}); !sameFields(err, "ticket") {
			t.Fatalf("reveal without a ticket: %v", err)
		}
		if _, err := v.Reveal(agent, "u-1", vault.RevealRequest{Fields: []string{"id_number"}, Purpose: "delivery", Ticket: "T-1"}); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("reveal of a field the purpose does not cover: %v", err)
		}
		if _, err := v.Reveal(as(principal.Security, "sam"), "u-1", req); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("reveal by a role the purpose does not name: %v", err)
		}
		got, err := v.Reveal(agent, "u-1", req)
		if err != nil || got.Phone != "+8613912345678" || got.Name != "" {
			t.Fatalf("reveal = %+v, %v", got, err)
		}
		if _, err := v.Reveal(agent, "u-1", vault.RevealRequest{Fields: []string{"address", "phone"}, Purpose: "delivery", Ticket: "T-2"}); err != nil {
			t.Fatal(err)
		}
		// The third is one too many: refused, recorded, alerted.
		err = db.Write(context.Background(), func(ctx context.Context) error {
			_, err := db.Webhooks().PutWebhook(ctx, &notify.Webhook{Name: "soc", URL: "https://soc.example/", Secret: "s", Events: []string{notify.SecurityAlert}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		outbox, _ := db.Count(context.Background(), "outbox")
		if _, err := v.Reveal(agent, "u-1", req); errs.CodeOf(err) != errs.TooMany {
			t.Fatalf("reveal beyond the limit: %v", err)
		}
		if n, _ := db.Count(context.Background(), "outbox"); n != outbox+1 {
			t.Fatalf("outbox holds %d events after the refusal, want %d", n, outbox+1)
		}
		if _, err := v.Reveal(as(principal.Agent, "bob"), "u-1", req); err != nil {
			t.Fatalf("another agent's reveal: %v", err)
		}

		// Lookups find accounts by normalised value.
		for _, c := range []struct {
			field, value string
			want         []string
		}{
			{"phone", "139-1234-5678", []string{"u-1", "u-2"}},
			{"plate", "粤bd12345", []string{"u-2"}},
			{"id_number", "11010519491231002x", []string{"u-1"}},
			{"email", "SECRET.person@example.org", []string{"u-1"}},
			{"bank_card", "6222 0212 3456 7890 128", []string{"u-1"}},
			{"bank_card", "4111111111111111", nil},
		} {
			got, err := v.Lookup(as(principal.Security, "sam"), c.field, c.value)
			if err != nil || !slices.Equal(got, c.want) && len(got)+len(c.want) > 0 {
				t.Errorf("lookup %s %q = %v, %v; want %v", c.field, c.value, got, err, c.want)
			}
		}
		if got := entries(t, db, vault.LookupMisses); len(got) != 1 || got[0].Fields[0] != "bank_card" || got[0].Actor.Name != pseudonym(t, v, "sam") {
			t.Fatalf("entries of lookups that found nobody: %+v", got)
		}
		if _, err := v.Lookup(svc, "name", "x"); !sameFields(err, "field") {
			t.Fatalf("lookup by name: %v", err)
		}
		if _, err := v.Lookup(svc, "phone", "12"); !sameFields(err, "value") {
			t.Fatalf("lookup of a bad phone: %v", err)
		}

		// Every access is in the audit log under the account's commitment, with names only.
		c1, _ := v.Commitment(context.Background(), "u-1")
		var actions []string
		for _, e := range entries(t, db, c1) {
			actions = append(actions, e.Action+" "+strings.Join(e.Fields, ",")+" "+e.Context["purpose"]+" "+e.Context["ticket"])
			if e.Subject == "u-1" || strings.Contains(string(e.Leaf()), "u-1") {
				t.Errorf("entry names the account: %s", e.Leaf())
			}
		}
		want := []string{
			"pii.put address,bank_card,email,extra,id_number,name,phone,plate  ",
			"pii.read address,bank_card,email,extra,id_number,name,phone,plate  ",
			"pii.reveal phone delivery T-1",
			"pii.reveal address,phone delivery T-2",
			"pii.reveal_refused phone delivery T-1",
			"pii.reveal phone delivery T-1",
			"pii.lookup phone  ", "pii.lookup id_number  ", "pii.lookup email  ", "pii.lookup bank_card  ",
		}
		if !slices.Equal(actions, want) {
			t.Fatalf("entries about u-1:\n%s\nwant\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
		}

		// Erasure destroys the key: the values are gone, lookups find nothing.
		if e, err := v.Erase(svc, "u-1"); err != nil || len(e.Fields) != 8 {
			t.Fatalf("erase = %+v, %v", e, err)
		}
		if _, err := v.Masked(agent, "u-1"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("read after erasure: %v", err)
		}
		if _, err := v.Erase(svc, "u-1"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("second erasure: %v", err)
		}
		if got, _ := v.Lookup(svc, "phone", "13912345678"); !slices.Equal(got, []string{"u-2"}) {
			t.Fatalf("lookup after erasure = %v", got)
		}
	})
}

func sameFields(err error, want ...string) bool {
	var got []string
	for _, f := range errs.FieldsOf(err) {
		if !slices.Contains(got, f.Field) {
			got = append(got, f.Field)
		}
	}
	return errs.CodeOf(err) == errs.Invalid && slices.Equal(got, want)
}

// TestNoPlaintextAtRest writes known values, reads, reveals and looks them up, then
// searches every byte the database keeps for them: the SQLite files, and a pg_dump (or
// every table's rows as text) of PostgreSQL.
func TestNoPlaintextAtRest(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			db, err := sqlstore.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			a := storetest.NewApp(t, db, app.Config{Webhooks: notify.Reach{AllowPrivate: true}})
			if _, err := a.Webhooks.Put(as(principal.Admin, "root"), &notify.Webhook{Name: "soc", URL: "http://127.0.0.1:9/", Secret: webhookSecret, Events: []string{notify.SecurityAlert}}); err != nil {
				t.Fatal(err)
			}
			if w, err := a.Stores.Webhooks.GetWebhook(context.Background(), "soc"); err != nil || w.Secret != webhookSecret {
				t.Fatalf("the webhook's secret as delivery reads it: %+v, %v", w, err)
			}
			// The region is a canary: stored in clear, the search must find it.
			putAccount(t, a, "u-1", "canaryregion")
			svc := as(principal.Service, "svc")
			if _, err := a.Vault.Put(svc, "u-1", known); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Vault.Masked(svc, "u-1"); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Vault.PutPurpose(as(principal.Admin, "root"), &vault.Purpose{Name: "all", Roles: []principal.Role{principal.Security},
				Fields: vault.Fields, PerActorDaily: 10}); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Vault.Reveal(as(principal.Security, "sam"), "u-1", vault.RevealRequest{Fields: vault.Fields, Purpose: "all"}); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Vault.Lookup(svc, "phone", known.Phone); err != nil {
				t.Fatal(err)
			}
			var raw []byte
			if kind == "sqlite" {
				db.Close() // and with it the WAL, checkpointed; the files are read as they are
				files, _ := filepath.Glob(filepath.Join(cfg.DataDir, "steward.db*"))
				for _, f := range files {
					b, err := os.ReadFile(f)
					if err != nil {
						t.Fatal(err)
					}
					raw = append(raw, b...)
				}
			} else {
				raw = dumpPostgres(t, cfg)
			}
			if !bytes.Contains(raw, []byte("canaryregion")) {
				t.Fatalf("the search does not find the canary in %d bytes: it proves nothing", len(raw))
			}
			for _, s := range knownStrings {
				if bytes.Contains(raw, []byte(s)) {
					t.Errorf("%q is in the database in clear", s)
				}
			}
		})
	}
}

const pgDump = "/usr/lib/postgresql/15/bin/pg_dump"

// dumpPostgres returns a pg_dump of the test's schema or, without pg_dump, every row of
// every table of it as text.
func dumpPostgres(t *testing.T, cfg sqlstore.Config) []byte {
	t.Helper()
	schema := ""
	if i := strings.Index(cfg.URL, "search_path="); i >= 0 {
		schema, _, _ = strings.Cut(cfg.URL[i+len("search_path="):], "&")
	}
	base := storetest.RequirePostgres(t)
	if _, err := os.Stat(pgDump); err == nil {
		out, err := exec.Command(pgDump, "--dbname="+base, "--schema="+schema, "--data-only").Output()
		if err == nil {
			return out
		}
		t.Logf("pg_dump: %v; reading the tables instead", err)
	}
	raw := storetest.OpenRaw(t, cfg)
	rows, err := raw.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var out []byte
	for _, tb := range tables {
		var text string
		if err := raw.QueryRow("SELECT COALESCE(string_agg(t::text, E'\\n'), '') FROM " + tb + " AS t").Scan(&text); err != nil {
			t.Fatal(err)
		}
		out = append(out, text...)
	}
	return out
}

func pseudonym(t *testing.T, v *vault.Service, name string) string {
	t.Helper()
	p, err := v.Pseudonym(context.Background(), principal.Key(name, principal.Agent, ""))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The vault's entries name the staff who acted as the platform chose, with their role
// and team: a stable pseudonym by default (the same whatever the key or role, another
// for someone else), the name, or nobody; Steward itself and end users as they are.
func TestEntriesNameStaffAsChosen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		for _, names := range []vault.ActorNames{"", vault.NamesName, vault.NamesNone} {
			a := storetest.NewApp(t, db, app.Config{Vault: vault.Config{Names: names}})
			v := a.Vault
			account := "u-names-" + string(names)
			putAccount(t, a, account, "zj")
			amy := principal.Key("amy", principal.Agent, "key-1")
			amy.Team = "cs-hangzhou"
			amyAgain := principal.Key("amy", principal.Security, "key-2") // another key and role
			bob := principal.Key("bob", principal.Agent, "key-3")
			ctx := func(p principal.Principal) context.Context {
				return principal.NewContext(audit.WithRequestID(context.Background(), "test"), p)
			}
			if _, err := v.Put(ctx(principal.Steward), account, vault.PII{Phone: "13912345678"}); err != nil {
				t.Fatal(err)
			}
			for _, p := range []principal.Principal{amy, amyAgain, bob} {
				if _, err := v.Masked(ctx(p), account); err != nil {
					t.Fatal(err)
				}
			}
			subject, err := v.Commitment(context.Background(), account)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries(t, db, subject) {
				got = append(got, fmt.Sprintf("%s/%s/%s", e.Actor.Name, e.Actor.Role, e.Actor.Team))
			}
			var want []string
			switch names {
			case "":
				pa, pb := pseudonym(t, v, "amy"), pseudonym(t, v, "bob")
				if !strings.HasPrefix(pa, "staff-") || len(pa) != 14 || pa == pb {
					t.Fatalf("pseudonyms %q %q", pa, pb)
				}
				want = []string{"steward/system/", pa + "/agent/cs-hangzhou", pa + "/security/", pb + "/agent/"}
			case vault.NamesName:
				want = []string{"steward/system/", "amy/agent/cs-hangzhou", "amy/security/", "bob/agent/"}
			case vault.NamesNone:
				want = []string{"steward/system/", "/agent/cs-hangzhou", "/security/", "/agent/"}
			}
			if !slices.Equal(got, want) {
				t.Errorf("names %q: entries' actors %v, want %v", names, got, want)
			}
		}
	})
	if _, err := vault.ParseActorNames("initials"); errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("an unknown choice: %v", err)
	}
}

// oneWithPhone returns a vault over db holding a phone number for account u-1.
func oneWithPhone(t *testing.T, db *sqlstore.DB) *vault.Service {
	t.Helper()
	a := storetest.NewApp(t, db, app.Config{})
	putAccount(t, a, "u-1", "zj")
	if _, err := a.Vault.Put(as(principal.Service, "svc"), "u-1", vault.PII{Phone: "13912345678"}); err != nil {
		t.Fatal(err)
	}
	return a.Vault
}

// Reads keep the account's opened data key; erasure drops it, and a Put (a new data key)
// is never opened with the old one.
func TestOpenedKeysCached(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		v := oneWithPhone(t, db)
		svc, agent := as(principal.Service, "svc"), as(principal.Agent, "alice")
		for range 3 {
			if _, err := v.Masked(agent, "u-1"); err != nil {
				t.Fatal(err)
			}
		}
		if n := vault.CachedKeys(v); n != 1 {
			t.Fatalf("%d opened keys cached after reads of one account", n)
		}
		if _, err := v.Put(svc, "u-1", vault.PII{Phone: "13987654321"}); err != nil {
			t.Fatal(err)
		}
		if m, err := v.Masked(agent, "u-1"); err != nil || m.Phone != "139****4321" {
			t.Fatalf("read after a new Put: %+v, %v", m, err)
		}
		if _, err := v.Erase(svc, "u-1"); err != nil {
			t.Fatal(err)
		}
		if n := vault.CachedKeys(v); n != 0 {
			t.Fatalf("%d opened keys cached after erasure", n)
		}
		if _, err := v.Masked(agent, "u-1"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("read after erasure: %v", err)
		}
	})
}

// Concurrent reads are recorded in batches, and every one of them is recorded; a read
// inside a caller's transaction is recorded in it.
func TestConcurrentReadsEachRecorded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		v := oneWithPhone(t, db)
		const n = 64
		errc := make(chan error, n)
		for i := range n {
			go func() {
				_, err := v.Masked(as(principal.Agent, fmt.Sprint("agent-", i)), "u-1")
				errc <- err
			}()
		}
		for range n {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
		err := db.Stores().Tx.Write(as(principal.Agent, "in-tx"), func(ctx context.Context) error {
			_, err := v.Masked(ctx, "u-1")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := v.Commitment(context.Background(), "u-1")
		reads := 0
		for _, e := range entries(t, db, subject) {
			if e.Action == vault.ActionRead {
				reads++
			}
		}
		if reads != n+1 {
			t.Fatalf("%d reads recorded, want %d", reads, n+1)
		}
	})
}
