package leak_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

func as(role principal.Role, name string) context.Context {
	return principal.NewContext(audit.WithRequestID(context.Background(), "test"), principal.Key(name, role, "key-"+name))
}

var svc = as(principal.Service, "svc")

// person is account i's personal data: every value unique to it.
func person(i int) vault.PII {
	return vault.PII{Name: fmt.Sprintf("客户%d", i), Phone: fmt.Sprintf("+86139%08d", i), Email: fmt.Sprintf("c%d@example.com", i),
		Address: fmt.Sprintf("浙江省杭州市西湖区文三路%d号", i)}
}

func accountID(i int) string { return fmt.Sprintf("u-%03d", i) }

// fixture makes n accounts with personal data, a purpose for partners (daily limit
// daily) and canaries c-1 … c-canaries.
func fixture(t *testing.T, db *sqlstore.DB, n, daily, canaries int) *app.App {
	t.Helper()
	a := storetest.NewApp(t, db, app.Config{})
	ids := make([]string, n)
	ps := make([]*vault.PII, n)
	for i := range n {
		ids[i] = accountID(i)
		acct := &accounts.Account{ID: ids[i], Region: "zj", Locale: "zh-CN", CreatedAt: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}
		if _, err := a.Accounts.Put(svc, acct); err != nil {
			t.Fatal(err)
		}
		p, err := vault.Normalize(person(i))
		if err != nil {
			t.Fatal(err)
		}
		ps[i] = p
	}
	if err := a.Vault.PutMany(svc, ids, ps); err != nil {
		t.Fatal(err)
	}
	_, err := a.Vault.PutPurpose(as(principal.Admin, "root"), &vault.Purpose{Name: "partner.delivery",
		Roles:  []principal.Role{principal.Service, principal.Security, principal.Compliance, principal.Agent},
		Fields: []string{"address", "email", "name", "phone"}, PerActorDaily: daily})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= canaries; i++ {
		p := vault.PII{Name: fmt.Sprintf("金丝雀%d", i), Phone: fmt.Sprintf("+86188%08d", i), Email: fmt.Sprintf("canary%d@example.net", i),
			Address: fmt.Sprintf("上海市浦东新区金丝雀路%d号", i)}
		if _, _, err := a.Leak.PutCanary(as(principal.Security, "sec"), fmt.Sprintf("c-%d", i), p); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func accountsIn(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, accountID(i))
	}
	return out
}

func pending(t *testing.T, db *sqlstore.DB, action string) []audit.Entry {
	t.Helper()
	rows, err := db.Audit().Pending(context.Background(), 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for _, r := range rows {
		var e audit.Entry
		if err := json.Unmarshal(r.Leaf, &e); err != nil {
			t.Fatal(err)
		}
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestShares(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := fixture(t, db, 20, 1000, 5)
		l := a.Leak
		req := leak.ShareRequest{Recipient: "logistics:sf-express", Purpose: "partner.delivery", Fields: []string{"phone", "name"}, Accounts: accountsIn(0, 10)}
		got, err := l.CreateShare(svc, req)
		if err != nil {
			t.Fatal(err)
		}
		sh := got.Share
		if sh.Accounts != 10 || sh.Records != 13 || len(got.Records) != 13 || len(sh.Canaries) != 3 {
			t.Fatalf("share = %+v with %d records", sh, len(got.Records))
		}
		// Every record has the same form: a ref, a name and a phone, nothing else.
		refs := map[string]bool{}
		phones := map[string]bool{}
		for _, r := range got.Records {
			if len(r.Ref) != 16 || r.Name == "" || r.Phone == "" || r.Email != "" || r.Address != "" || refs[r.Ref] {
				t.Fatalf("record %+v", r)
			}
			refs[r.Ref] = true
			phones[r.Phone] = true
		}
		if !slices.IsSortedFunc(got.Records, func(x, y leak.Record) int { return strings.Compare(x.Ref, y.Ref) }) {
			t.Fatal("records are not in ref order")
		}
		for i := range 10 {
			if !phones[person(i).Phone] {
				t.Fatalf("account %d's phone is missing", i)
			}
		}
		for _, c := range sh.Canaries {
			cn, err := l.GetCanary(svc, c)
			if err != nil || !phones[cn.PII.Phone] {
				t.Fatalf("canary %s is not among the records: %v", c, err)
			}
		}

		// The stored share maps back to exactly its accounts, and its commitment is
		// what the audit entry holds.
		back, err := l.GetShare(svc, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		accts, err := db.Leak().AccountsAt(context.Background(), back.Set)
		if err != nil || !slices.Equal(accts, accountsIn(0, 10)) {
			t.Fatalf("accounts at the share's ordinals = %v, %v", accts, err)
		}
		if c, err := leak.Commit(back); err != nil || c != sh.Commitment || !slices.Equal(back.Canaries, sh.Canaries) {
			t.Fatalf("commitment %s, %v; want %s", c, err, sh.Commitment)
		}
		es := pending(t, db, leak.ActionShare)
		if len(es) != 1 || es[0].Subject != "share:"+sh.ID || es[0].Actor.Name != "svc" {
			t.Fatalf("share entries = %+v", es)
		}
		// The vault writes no per-account entry for a share.
		if n := len(pending(t, db, vault.ActionReveal)); n != 0 {
			t.Fatalf("%d reveal entries", n)
		}

		// Ten shares with the same recipe: no two carry the same canaries.
		sets := map[string]bool{strings.Join(sh.Canaries, ","): true}
		for range 10 {
			got, err := l.CreateShare(svc, req)
			if err != nil {
				t.Fatal(err)
			}
			k := strings.Join(got.Share.Canaries, ",")
			if sets[k] {
				t.Fatalf("canary set %s twice", k)
			}
			sets[k] = true
		}
		// Ordinals are given once per account.
		again, err := db.Leak().OrdinalsOf(context.Background(), accountsIn(0, 20))
		if err != nil || len(again) != 10 {
			t.Fatalf("ordinals = %v, %v", again, err)
		}
	})
}

func TestShareRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := fixture(t, db, 10, 12, 0)
		l := a.Leak
		_, err := l.CreateShare(svc, leak.ShareRequest{Recipient: "Bad Name", Fields: []string{"phone", "extra", "nope"},
			Accounts: []string{"u-000", "u-000", ""}, PhoneMode: "fax"})
		var fields []string
		for _, f := range errs.FieldsOf(err) {
			fields = append(fields, f.Field)
		}
		for _, want := range []string{"recipient", "purpose", "fields", "phone_mode", "accounts"} {
			if !slices.Contains(fields, want) {
				t.Errorf("no %s among the bad fields %v", want, fields)
			}
		}
		if errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("bad share: %v", err)
		}
		ok := leak.ShareRequest{Recipient: "seller:shop-1", Purpose: "partner.delivery", Fields: []string{"phone"}, Accounts: accountsIn(0, 8)}
		// A field the purpose does not reveal, a role it does not name.
		bad := ok
		bad.Fields = []string{"id_number"}
		if _, err := l.CreateShare(svc, bad); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("a field the purpose does not reveal: %v", err)
		}
		// An account without personal data: named, nothing written.
		bad = ok
		bad.Accounts = []string{"u-001", "ghost"}
		if _, err := l.CreateShare(svc, bad); errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "ghost") {
			t.Fatalf("a ghost account: %v", err)
		}
		// The share counts one reveal per account: 8 of 12 today, then 8 more is refused.
		if _, err := l.CreateShare(svc, ok); err != nil {
			t.Fatal(err)
		}
		if _, err := l.CreateShare(svc, ok); errs.CodeOf(err) != errs.TooMany {
			t.Fatalf("over the daily limit: %v", err)
		}
		if n, _ := db.Count(context.Background(), "leak_shares"); n != 1 {
			t.Fatalf("%d shares stored", n)
		}
		// Another person has a limit of their own.
		if _, err := l.CreateShare(as(principal.Compliance, "carol"), ok); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCanaries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := fixture(t, db, 5, 1000, 3)
		l := a.Leak
		sec := as(principal.Security, "sec")
		_, _, err := l.PutCanary(sec, "Bad ID", vault.PII{Phone: "12", Email: "nope"})
		if fs := errs.FieldsOf(err); len(fs) != 3 {
			t.Fatalf("bad canary: %v", err)
		}
		if _, created, err := l.PutCanary(sec, "c-1", vault.PII{Name: "金丝雀一", Phone: "+8618800000001", Email: "canary1@example.net", Address: "上海市浦东新区金丝雀路1号"}); err != nil || created {
			t.Fatalf("replace: %v, created %v", err, created)
		}
		// Three canaries: one set of three, then no set is left.
		req := leak.ShareRequest{Recipient: "seller:shop-1", Purpose: "partner.delivery", Fields: []string{"phone"}, Accounts: accountsIn(0, 3)}
		sh, err := l.CreateShare(svc, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.CreateShare(svc, req); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("no canary set left: %v", err)
		}

		err = db.Write(context.Background(), func(ctx context.Context) error {
			_, err := db.Webhooks().PutWebhook(ctx, &notify.Webhook{Name: "soc", URL: "https://soc.example/", Secret: "s", Events: []string{notify.SecurityAlert}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		outbox, _ := db.Count(context.Background(), "outbox")
		hit, err := l.RecordHit(svc, sh.Share.Canaries[0], leak.Hit{At: time.Now().Add(-time.Minute), Channel: "phone", Detail: "a call claiming to be customer service"})
		if err != nil || !slices.Equal(hit.Shares, []string{sh.Share.ID}) || !slices.Equal(hit.Recipients, []string{"seller:shop-1"}) {
			t.Fatalf("hit = %+v, %v", hit, err)
		}
		if n, _ := db.Count(context.Background(), "outbox"); n != outbox+1 {
			t.Fatalf("outbox holds %d events, want %d", n, outbox+1)
		}
		if es := pending(t, db, leak.ActionCanaryHit); len(es) != 1 || es[0].Context["shares"] != sh.Share.ID {
			t.Fatalf("hit entries = %+v", es)
		}
		if _, err := l.RecordHit(svc, "c-9", leak.Hit{At: time.Now(), Channel: "sms"}); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("unknown canary: %v", err)
		}
		if _, err := l.RecordHit(svc, "c-1", leak.Hit{Channel: "Bad Channel"}); len(errs.FieldsOf(err)) != 2 {
			t.Fatalf("bad hit: %v", err)
		}
	})
}

func TestRelays(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := fixture(t, db, 6, 1000, 0)
		l := a.Leak
		req := leak.ShareRequest{Recipient: "logistics:sf-express", Purpose: "partner.delivery", Fields: []string{"name", "phone"}, Accounts: accountsIn(0, 4), PhoneMode: leak.PhoneRelay}
		first, err := l.CreateShare(svc, req)
		if err != nil {
			t.Fatal(err)
		}
		req.Accounts = accountsIn(2, 6)
		second, err := l.CreateShare(svc, req)
		if err != nil {
			t.Fatal(err)
		}
		other := req
		other.Recipient = "logistics:yto"
		third, err := l.CreateShare(svc, other)
		if err != nil {
			t.Fatal(err)
		}
		byName := func(s *leak.Shared) map[string]string {
			m := map[string]string{}
			for _, r := range s.Records {
				m[r.Name] = r.Phone
			}
			return m
		}
		f, s, o := byName(first), byName(second), byName(third)
		for i := 2; i < 4; i++ {
			n := person(i).Name
			if f[n] != s[n] || f[n] == o[n] || f[n] == person(i).Phone || !strings.HasPrefix(f[n], "+86170") {
				t.Fatalf("account %d: %s, %s, %s", i, f[n], s[n], o[n])
			}
			r, err := db.Leak().RelayOf(context.Background(), f[n])
			if err != nil || r.Account != accountID(i) || r.Recipient != "logistics:sf-express" {
				t.Fatalf("relay %s maps to %+v, %v", f[n], r, err)
			}
		}
		if _, err := l.CreateShare(svc, leak.ShareRequest{Recipient: "x", Purpose: "partner.delivery", Fields: []string{"name"}, Accounts: accountsIn(0, 1), PhoneMode: leak.PhoneRelay}); len(errs.FieldsOf(err)) != 1 {
			t.Fatalf("relay without phone: %v", err)
		}
	})
}
