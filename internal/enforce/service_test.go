package enforce_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// clock is a test clock that only moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is the enforce service over a real database, as a reviewer.
type fixture struct {
	db    *sqlstore.DB
	svc   *enforce.Service
	clock *clock
	ctx   context.Context
}

// fixtureAccounts are the accounts the tests sanction.
var fixtureAccounts = []string{"a", "a1", "a2", "b1", "r1", "r2", "s1", "u1", "u2", "w1"}

// putAccounts stores plain accounts with these IDs, as a platform would before sanctioning.
func putAccounts(t *testing.T, db *sqlstore.DB, ids ...string) {
	t.Helper()
	err := db.Write(context.Background(), func(ctx context.Context) error {
		for _, id := range ids {
			a := &accounts.Account{ID: id, Region: "yn", Locale: "en", CreatedAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
			if _, err := db.Accounts().Put(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newFixture(t *testing.T, db *sqlstore.DB) *fixture {
	t.Helper()
	putAccounts(t, db, fixtureAccounts...)
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	ix := enforce.NewIndex()
	svc := enforce.NewService(db.Sanctions(), db.Accounts(), db, audit.NewRecorder(db.Audit()), ix, enforce.Config{Now: c.Now})
	ctx := principal.NewContext(audit.WithRequestID(context.Background(), "req-1"), principal.Principal{Name: "rita", Role: principal.Reviewer})
	return &fixture{db: db, svc: svc, clock: c, ctx: ctx}
}

// allowed asks the index at the fixture's clock.
func (f *fixture) allowed(account, capability string) bool {
	return len(f.svc.Decide(nil, account, capability, f.svc.Now())) == 0
}

func (f *fixture) wantAllowed(t *testing.T, account, capability string, want bool) {
	t.Helper()
	if got := f.allowed(account, capability); got != want {
		t.Fatalf("%s %s: allowed=%v, want %v", account, capability, got, want)
	}
}

func (f *fixture) count(t *testing.T, table string) int {
	t.Helper()
	n, err := f.db.Count(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func chatPolicy() *enforce.Policy {
	return &enforce.Policy{
		ID:     "spam",
		Title:  map[string]string{"en": "Spam", "zh-CN": "垃圾信息"},
		Clause: map[string]string{"en": "Do not send unsolicited bulk messages.", "zh-CN": "不得群发未经请求的消息。"},
		Ladder: []string{"warning", "72h", "168h", "360h", "permanent"},
		Scope:  enforce.Scope{Services: []string{"chat"}},
	}
}

func TestStrikeLadderAndDecay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		if created, err := f.svc.PutPolicy(f.ctx, chatPolicy()); err != nil || !created {
			t.Fatalf("put policy: created=%v err=%v", created, err)
		}
		strike := func() *enforce.Sanction {
			t.Helper()
			sn, err := f.svc.Strike(f.ctx, enforce.StrikeRequest{Account: "u1", Policy: "spam", Evidence: []string{"msg:1"}})
			if err != nil {
				t.Fatal(err)
			}
			return sn
		}
		wantStep := func(sn *enforce.Sanction, kind enforce.Kind, d time.Duration) {
			t.Helper()
			if sn.Kind != kind {
				t.Fatalf("kind %s, want %s", sn.Kind, kind)
			}
			switch {
			case d == 0 && sn.End != nil:
				t.Fatalf("end %v, want none", sn.End)
			case d > 0 && (sn.End == nil || sn.End.Sub(sn.Start) != d):
				t.Fatalf("end %v after start %v, want %v", sn.End, sn.Start, d)
			}
		}
		wantStep(strike(), enforce.Warning, 0)
		f.wantAllowed(t, "u1", "chat.send", true) // a warning denies nothing
		second := strike()
		wantStep(second, enforce.Suspend, 72*time.Hour)
		f.wantAllowed(t, "u1", "chat.send", false)
		f.wantAllowed(t, "u1", "pay.transfer", true) // scoped to chat

		// Lifting the second as wrongful withdraws its strike: the next is the second step again.
		if _, err := f.svc.Lift(f.ctx, second.ID, enforce.LiftRequest{Reason: "misread the messages", Wrongful: true}); err != nil {
			t.Fatal(err)
		}
		f.wantAllowed(t, "u1", "chat.send", true)
		third := strike()
		wantStep(third, enforce.Suspend, 72*time.Hour)
		f.clock.Add(73 * time.Hour) // ends by itself, no sweeper
		f.wantAllowed(t, "u1", "chat.send", true)
		wantStep(strike(), enforce.Suspend, 168*time.Hour)
		f.clock.Add(169 * time.Hour)
		wantStep(strike(), enforce.Suspend, 360*time.Hour)
		f.clock.Add(361 * time.Hour)
		ban := strike()
		wantStep(ban, enforce.Ban, 0)
		f.clock.Add(30 * 24 * time.Hour)
		f.wantAllowed(t, "u1", "chat.send", false)
		wantStep(strike(), enforce.Ban, 0) // the top of the ladder holds

		// A year after the last strike, none counts: the ladder starts again.
		f.clock.Add(366 * 24 * time.Hour)
		wantStep(strike(), enforce.Warning, 0)
		// Another account's strikes are its own.
		sn, err := f.svc.Strike(f.ctx, enforce.StrikeRequest{Account: "u2", Policy: "spam"})
		if err != nil {
			t.Fatal(err)
		}
		wantStep(sn, enforce.Warning, 0)
	})
}

func TestScopesAndProtectedCapabilities(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		end := f.clock.Now().Add(24 * time.Hour)
		impose := func(sn *enforce.Sanction) *enforce.Sanction {
			t.Helper()
			sn.ReasonCode = "fraud"
			sn.Authority = authority.Authority{Kind: authority.Automated, Rule: "r-17"}
			out, err := f.svc.Impose(f.ctx, sn)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		impose(&enforce.Sanction{Account: "r1", Kind: enforce.Restrict, End: &end, Scope: enforce.Scope{Capabilities: []string{"pay.transfer"}}})
		impose(&enforce.Sanction{Account: "s1", Kind: enforce.Suspend, End: &end, Scope: enforce.Scope{Services: []string{"chat", "game"}}})
		impose(&enforce.Sanction{Account: "b1", Kind: enforce.Ban, Scope: enforce.Scope{Services: []string{"*"}}})
		impose(&enforce.Sanction{Account: "w1", Kind: enforce.Warning})
		for _, c := range []struct {
			account, capability string
			allowed             bool
		}{
			{"r1", "pay.transfer", false}, {"r1", "pay.receive", true}, {"r1", "chat.send", true},
			{"s1", "chat.send", false}, {"s1", "game.play", false}, {"s1", "pay.transfer", true},
			{"b1", "chat.send", false}, {"b1", "anything.else", false}, {"b1", "wallet.deposit", false},
			{"w1", "chat.send", true}, {"nobody", "chat.send", true},
		} {
			f.wantAllowed(t, c.account, c.capability, c.allowed)
		}
		for _, p := range enforce.Protected {
			f.wantAllowed(t, "b1", p, true)
		}
		// A sanction may not name a protected capability.
		_, err := f.svc.Impose(f.ctx, &enforce.Sanction{Account: "r2", Kind: enforce.Restrict, ReasonCode: "x",
			Authority: authority.Authority{Kind: authority.Automated, Rule: "r"}, Scope: enforce.Scope{Capabilities: []string{"wallet.withdraw"}}})
		wantField(t, err, "scope.capabilities[0]")
	})
}

func TestLinkedAccountsUntouched(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		acc := accounts.NewService(db.Accounts(), db, audit.NewRecorder(db.Audit()))
		if _, err := acc.Put(f.ctx, &accounts.Account{ID: "chat-1", Region: "yn", Locale: "zh-CN", CreatedAt: time.Now(),
			Linked: []accounts.Link{{Service: "game", Account: "game-1"}}}); err != nil {
			t.Fatal(err)
		}
		ban := &enforce.Sanction{Account: "chat-1", Kind: enforce.Ban, ReasonCode: "abuse", Scope: enforce.Scope{Services: []string{"*"}},
			Authority: authority.Authority{Kind: authority.Automated, Rule: "r"}}
		if _, err := f.svc.Impose(f.ctx, ban); err != nil {
			t.Fatal(err)
		}
		f.wantAllowed(t, "chat-1", "game.play", false)
		f.wantAllowed(t, "game-1", "game.play", true)
		// Reaching the linked account takes a sanction that names it, and says why.
		via := &enforce.Sanction{Account: "game-1", Kind: enforce.Ban, ReasonCode: "abuse", Scope: enforce.Scope{Services: []string{"game"}},
			Authority: authority.Authority{Kind: authority.Automated, Rule: "r"}, Via: &enforce.Via{Account: "chat-1"}}
		_, err := f.svc.Impose(f.ctx, via)
		wantField(t, err, "via.reason")
		via.Via.Reason = "the same person runs the abuse from the game account"
		// Only an account that exists, and through a link: a typo sanctions nobody.
		_, err = f.svc.Impose(f.ctx, via)
		if errs.CodeOf(err) != errs.NotFound || !slices.Equal(fieldNames(err), []string{"account"}) {
			t.Fatalf("sanction on an account Steward does not have: %v, want not found naming account", err)
		}
		putAccounts(t, db, "game-1", "game-2")
		via.Via.Account = "nobody"
		if _, err = f.svc.Impose(f.ctx, via); errs.CodeOf(err) != errs.NotFound || !slices.Equal(fieldNames(err), []string{"via.account"}) {
			t.Fatalf("via an account Steward does not have: %v, want not found naming via.account", err)
		}
		via.Via.Account, via.Account = "chat-1", "game-2" // game-2 exists but is not linked to chat-1
		_, err = f.svc.Impose(f.ctx, via)
		wantField(t, err, "via.account")
		before := f.count(t, "sanctions")
		via.Account = "game-1"
		if _, err := f.svc.Impose(f.ctx, via); err != nil {
			t.Fatal(err)
		}
		if n := f.count(t, "sanctions"); n != before+1 {
			t.Fatalf("%d sanctions, want %d: the refused ones must leave none", n, before+1)
		}
		f.wantAllowed(t, "game-1", "game.play", false)
		f.wantAllowed(t, "game-1", "chat.send", true)
	})
}

func TestLiftAmendAndExpiry(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		end := f.clock.Now().Add(10 * 24 * time.Hour)
		sn, err := f.svc.Impose(f.ctx, &enforce.Sanction{Account: "a1", Kind: enforce.Suspend, End: &end, ReasonCode: "fraud",
			Scope: enforce.Scope{Services: []string{"pay"}}, Authority: authority.Authority{Kind: authority.Automated, Rule: "r"}})
		if err != nil {
			t.Fatal(err)
		}
		f.wantAllowed(t, "a1", "pay.transfer", false)
		// Shorten to two days, then extend to three.
		for _, days := range []int{2, 3} {
			out, err := f.svc.Amend(f.ctx, sn.ID, f.clock.Now().Add(time.Duration(days)*24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if got := out.End.Sub(out.Start); got != time.Duration(days)*24*time.Hour {
				t.Fatalf("amended length %v", got)
			}
		}
		_, err = f.svc.Amend(f.ctx, sn.ID, f.clock.Now().Add(-time.Hour))
		wantField(t, err, "end")
		f.clock.Add(71 * time.Hour)
		f.wantAllowed(t, "a1", "pay.transfer", false)
		f.clock.Add(2 * time.Hour) // past the end: allowed, with no sweeper run
		f.wantAllowed(t, "a1", "pay.transfer", true)
		if _, err := f.svc.Lift(f.ctx, sn.ID, enforce.LiftRequest{Reason: "done"}); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("lift of an ended sanction: %v, want conflict", err)
		}

		ban, err := f.svc.Impose(f.ctx, &enforce.Sanction{Account: "a2", Kind: enforce.Ban, ReasonCode: "fraud",
			Scope: enforce.Scope{Services: []string{"*"}}, Authority: authority.Authority{Kind: authority.Automated, Rule: "r"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Amend(f.ctx, ban.ID, f.clock.Now().Add(time.Hour)); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("amend of a ban: %v, want conflict", err)
		}
		lifted, err := f.svc.Lift(f.ctx, ban.ID, enforce.LiftRequest{Reason: "appeal upheld"})
		if err != nil {
			t.Fatal(err)
		}
		if lifted.Lifted == nil || lifted.Lifted.By.Name != "rita" {
			t.Fatalf("lift not recorded: %+v", lifted.Lifted)
		}
		f.wantAllowed(t, "a2", "chat.send", true)
		if _, err := f.svc.Lift(f.ctx, ban.ID, enforce.LiftRequest{Reason: "again"}); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("second lift: %v, want conflict", err)
		}
		got, err := f.svc.Get(f.ctx, ban.ID)
		if err != nil || got.Lifted == nil || got.Lifted.Reason != "appeal upheld" {
			t.Fatalf("stored lift: %+v, %v", got, err)
		}
		list, err := f.svc.List(f.ctx, "a2", "", 10)
		if err != nil || len(list) != 1 || list[0].ID != ban.ID {
			t.Fatalf("list: %v, %v", list, err)
		}
		// Every change was audited: two impositions, two amendments, one lift.
		if n := f.count(t, "audit_entries"); n != 5 {
			t.Fatalf("%d audit entries, want 5", n)
		}
	})
}

func TestBadInputWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		auto := authority.Authority{Kind: authority.Automated, Rule: "r"}
		end := f.clock.Now().Add(time.Hour)
		for _, c := range []struct {
			name  string
			sn    enforce.Sanction
			field string
		}{
			{"bad account", enforce.Sanction{Account: "bad id", Kind: enforce.Warning, ReasonCode: "x", Authority: auto}, "account"},
			{"bad kind", enforce.Sanction{Account: "a", Kind: "freeze", ReasonCode: "x", Authority: auto}, "kind"},
			{"ban with end", enforce.Sanction{Account: "a", Kind: enforce.Ban, End: &end, ReasonCode: "x", Authority: auto, Scope: enforce.Scope{Services: []string{"*"}}}, "end"},
			{"suspend without end", enforce.Sanction{Account: "a", Kind: enforce.Suspend, ReasonCode: "x", Authority: auto, Scope: enforce.Scope{Services: []string{"chat"}}}, "end"},
			{"suspend without services", enforce.Sanction{Account: "a", Kind: enforce.Suspend, End: &end, ReasonCode: "x", Authority: auto}, "scope.services"},
			{"bad capability", enforce.Sanction{Account: "a", Kind: enforce.Restrict, ReasonCode: "x", Authority: auto, Scope: enforce.Scope{Capabilities: []string{"send"}}}, "scope.capabilities[0]"},
			{"no reason", enforce.Sanction{Account: "a", Kind: enforce.Warning, Authority: auto}, "reason_code"},
			{"legal order without reference", enforce.Sanction{Account: "a", Kind: enforce.Warning, ReasonCode: "x", Authority: authority.Authority{Kind: authority.LegalOrder, Issuer: "court"}}, "authority.reference"},
			{"unknown policy", enforce.Sanction{Account: "a", Kind: enforce.Warning, ReasonCode: "x", Policy: "nope", Authority: authority.Authority{Kind: authority.Policy}}, "policy"},
			{"strike source", enforce.Sanction{Account: "a", Kind: enforce.Warning, ReasonCode: "x", Authority: auto, Source: enforce.FromStrike}, "source"},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.svc.Impose(f.ctx, &c.sn)
				wantField(t, err, c.field)
			})
		}
		_, err := f.svc.Strike(f.ctx, enforce.StrikeRequest{Account: "a", Policy: "nope"})
		wantField(t, err, "policy")
		bad := chatPolicy()
		bad.Ladder = []string{"warning", "3 days"}
		_, err = f.svc.PutPolicy(f.ctx, bad)
		wantField(t, err, "ladder[1]")
		for _, table := range []string{"sanctions", "sanction_policies", "audit_entries"} {
			if n := f.count(t, table); n != 0 {
				t.Errorf("%s: %d rows after bad input, want 0", table, n)
			}
		}
	})
}

func TestLegalOrdersAreForCompliance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		order := enforce.Sanction{Account: "a", Kind: enforce.Restrict, ReasonCode: "court-freeze",
			Scope:     enforce.Scope{Capabilities: []string{"pay.transfer"}},
			Authority: authority.Authority{Kind: authority.LegalOrder, Issuer: "Shenzhen court", Reference: "(2026) 粤03 1234"}}
		sn := order
		if _, err := f.svc.Impose(f.ctx, &sn); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("reviewer imposing a legal order: %v, want forbidden", err)
		}
		ctx := principal.NewContext(context.Background(), principal.Principal{Name: "carl", Role: principal.Compliance})
		sn = order
		out, err := f.svc.Impose(ctx, &sn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Lift(f.ctx, out.ID, enforce.LiftRequest{Reason: "x"}); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("reviewer lifting a legal order: %v, want forbidden", err)
		}
	})
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	if errs.CodeOf(err) != errs.Invalid {
		t.Fatalf("got %v, want an invalid error on %s", err, field)
	}
	fields := errs.FieldsOf(err)
	for _, f := range fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("fields %v do not name %s", fields, field)
}

// fieldNames returns the fields err names.
func fieldNames(err error) []string {
	var out []string
	for _, f := range errs.FieldsOf(err) {
		out = append(out, f.Field)
	}
	return out
}

// A strike, like a sanction, names an account Steward has: a typo strikes nobody.
func TestStrikeOnAnUnknownAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db)
		if _, err := f.svc.PutPolicy(f.ctx, chatPolicy()); err != nil {
			t.Fatal(err)
		}
		before := f.count(t, "audit_entries")
		_, err := f.svc.Strike(f.ctx, enforce.StrikeRequest{Account: "u-typo", Policy: "spam"})
		if errs.CodeOf(err) != errs.NotFound || !slices.Equal(fieldNames(err), []string{"account"}) {
			t.Fatalf("strike on an unknown account: %v, want not found naming account", err)
		}
		if f.count(t, "sanctions") != 0 || f.count(t, "audit_entries") != before {
			t.Fatal("the refused strike left a sanction or an audit entry")
		}
	})
}
