package notify_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

var policy = &enforce.Policy{
	ID:     "spam",
	Title:  map[string]string{"en": "Spam", "zh-CN": "垃圾信息规范"},
	Clause: map[string]string{"en": "Do not send unsolicited bulk messages.", "zh-CN": "不得群发未经请求的消息。"},
	Ladder: []string{"warning", "72h", "permanent"},
	Scope:  enforce.Scope{Services: []string{"chat"}},
}

// Every locale renders every event of every kind, and says what the issue asks of a
// notice: what, why, until when, what still works, how to appeal.
func TestMessagesRenderEveryCase(t *testing.T) {
	m := notify.MustMessages()
	start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	end := start.Add(72 * time.Hour)
	for _, locale := range m.Locales() {
		for _, kind := range enforce.Kinds {
			for _, ev := range []enforce.Event{enforce.Created, enforce.Amended, enforce.Lifted} {
				sn := &enforce.Sanction{ID: "s1", Account: "a1", Kind: kind, Start: start, ReasonCode: "spam", Policy: "spam",
					Scope: enforce.Scope{Services: []string{"chat"}, Capabilities: []string{"pay.transfer"}}}
				if kind == enforce.Suspend || kind == enforce.Restrict {
					sn.End = &end
				}
				if ev == enforce.Lifted {
					sn.Lifted = &enforce.Lift{At: start.Add(time.Hour), Reason: "swept up by mistake", Wrongful: true}
				}
				subject, body, used, err := m.Render(locale, enforce.Change{Event: ev, Sanction: sn, Policy: policy, AppealURL: "https://appeal/s1"})
				if err != nil {
					t.Fatalf("%s %s %s: %v", locale, kind, ev, err)
				}
				if used != locale || subject == "" || strings.Contains(body, "<no value>") {
					t.Fatalf("%s %s %s: locale %s, subject %q, body:\n%s", locale, kind, ev, used, subject, body)
				}
				if !strings.Contains(body, policy.Clause[locale]) {
					t.Errorf("%s %s %s: body does not quote the clause:\n%s", locale, kind, ev, body)
				}
				// A wrongful lift apologises and says why, in the account's language.
				apology := map[string]string{"en": "We apologise", "zh-CN": "我们深表歉意"}[locale]
				if ev == enforce.Lifted && (!strings.Contains(body, apology) || !strings.Contains(body, "swept up by mistake")) {
					t.Errorf("%s %s: a wrongful lift must apologise (%q) and give the reason:\n%s", locale, kind, apology, body)
				}
				if ev == enforce.Created && kind != enforce.Warning {
					for _, want := range append([]string{"https://appeal/s1", "chat"}, enforce.Protected...) {
						if !strings.Contains(body, want) {
							t.Errorf("%s %s %s: body lacks %q:\n%s", locale, kind, ev, want, body)
						}
					}
				}
			}
		}
	}
	if _, _, used, _ := m.Render("fr-FR", enforce.Change{Event: enforce.Created, Sanction: &enforce.Sanction{Kind: enforce.Warning}}); used != "en" {
		t.Errorf("an unsupported locale got %s, want en", used)
	}
	if _, _, used, _ := m.Render("zh-Hans-CN", enforce.Change{Event: enforce.Created, Sanction: &enforce.Sanction{Kind: enforce.Warning}}); used != "zh-CN" {
		t.Errorf("zh-Hans-CN got %s, want zh-CN", used)
	}
}

// A batch of like changes renders each message once and puts each sanction's own appeal
// link into it: every notice is what rendering it alone gives.
func TestPreparedBatchMatchesSingleRendering(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		en, zh := &accounts.Account{ID: "en-1", Region: "r", Locale: "en", CreatedAt: time.Now()}, &accounts.Account{ID: "zh-1", Region: "r", Locale: "zh-CN", CreatedAt: time.Now()}
		if err := db.Write(ctx, func(ctx context.Context) error {
			_, err := db.Accounts().PutMany(ctx, []*accounts.Account{en, zh})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
		var cs []enforce.Change
		for i, acct := range []string{"en-1", "zh-1", "en-1", "zh-1", "unknown-1", "en-1"} {
			kind := enforce.Suspend
			if i == 5 {
				kind = enforce.Ban
			}
			sn := &enforce.Sanction{ID: fmt.Sprintf("s%d", i), Account: acct, Kind: kind, Start: start, ReasonCode: "sweep",
				Scope: enforce.Scope{Services: []string{"pay"}}}
			cs = append(cs, enforce.Change{Event: enforce.Created, Sanction: sn, At: start, AppealURL: "https://appeal/" + sn.ID})
		}
		cs[3].AppealURL = ""
		var notices []*notify.Notice
		store := recordingStore{Store: db.Notices(), got: &notices}
		a, err := notify.NewNotifier(store, nil, db.Accounts(), "en").Prepare(ctx, cs...)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Write(ctx, a.Write); err != nil {
			t.Fatal(err)
		}
		m := notify.MustMessages()
		wantLocale := []string{"en", "zh-CN", "en", "zh-CN", "en", "en"}
		if len(notices) != len(cs) {
			t.Fatalf("%d notices for %d changes", len(notices), len(cs))
		}
		for i, c := range cs {
			subject, body, used, err := m.Render(wantLocale[i], c)
			if err != nil {
				t.Fatal(err)
			}
			n := notices[i]
			if n.Locale != used || n.Subject != subject || n.Body != body || n.Sanction != c.Sanction.ID {
				t.Errorf("notice %d (%s): got %s %q\n%s\nwant %s %q\n%s", i, c.Sanction.ID, n.Locale, n.Subject, n.Body, used, subject, body)
			}
			if c.AppealURL != "" && !strings.Contains(n.Body, c.AppealURL) {
				t.Errorf("notice %d lacks its own appeal link %s:\n%s", i, c.AppealURL, n.Body)
			}
		}
	})
}

// recordingStore keeps what it is asked to insert.
type recordingStore struct {
	notify.Store
	got *[]*notify.Notice
}

func (r recordingStore) Insert(ctx context.Context, ns ...*notify.Notice) error {
	*r.got = append(*r.got, ns...)
	return r.Store.Insert(ctx, ns...)
}

// Every sanction, amendment and lift writes a notice, in the account's locale, in the
// change's transaction.
func TestNoticesFollowSanctions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := principal.NewContext(context.Background(), principal.Principal{Name: "rita", Role: principal.Reviewer})
		a := storetest.NewApp(t, db, app.Config{})
		acc, svc := a.Accounts, a.Enforce
		for id, locale := range map[string]string{"zh-user": "zh-CN", "en-user": "en", "stranger": "en"} {
			if _, err := acc.Put(ctx, &accounts.Account{ID: id, Region: "cn", Locale: locale, CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		p := *policy
		if _, err := svc.PutPolicy(ctx, &p); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"zh-user", "en-user", "stranger"} {
			svc.Strike(ctx, enforce.StrikeRequest{Account: id, Policy: "spam"})
			sn, err := svc.Strike(ctx, enforce.StrikeRequest{Account: id, Policy: "spam"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Amend(ctx, sn.ID, time.Now().Add(24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Lift(ctx, sn.ID, enforce.LiftRequest{Reason: "appeal upheld", Wrongful: true}); err != nil {
				t.Fatal(err)
			}
		}
		// A change that fails leaves no notice.
		if _, err := svc.Amend(ctx, "0190a0a0-0000-7000-8000-000000000000", time.Now().Add(time.Hour)); err == nil {
			t.Fatal("amend of a missing sanction succeeded")
		}
		for id, locale := range map[string]string{"zh-user": "zh-CN", "en-user": "en", "stranger": "en"} {
			ns, err := a.Notices.List(ctx, id, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(ns) != 4 {
				t.Fatalf("%s: %d notices, want 4 (warning, suspension, amendment, lift)", id, len(ns))
			}
			wantEvents := []enforce.Event{enforce.Lifted, enforce.Amended, enforce.Created, enforce.Created}
			for i, n := range ns {
				if n.Event != wantEvents[i] || n.Locale != locale || n.Account != id {
					t.Fatalf("%s notice %d: %s in %s, want %s in %s", id, i, n.Event, n.Locale, wantEvents[i], locale)
				}
			}
			if testing.Verbose() && id != "stranger" {
				t.Logf("%s, suspension notice:\n%s\n%s", id, ns[2].Subject, ns[2].Body)
			}
		}
		if n, _ := db.Count(context.Background(), "notices"); n != 12 {
			t.Fatalf("%d notices in all, want 12", n)
		}
	})
}
