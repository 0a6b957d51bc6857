package leak_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
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
)

var (
	service  = principal.NewContext(context.Background(), principal.Key("backend", principal.Service, "k-svc"))
	security = principal.NewContext(context.Background(), principal.Key("sam", principal.Security, "k-sam"))
)

// clock is a test's settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// fakeLeaks is a leak investigation per ID.
type fakeLeaks map[string][]string

func (f fakeLeaks) LeakAccounts(_ context.Context, id string) ([]string, error) {
	ids, ok := f[id]
	if !ok {
		return nil, errs.E(errs.NotFound, "leak %s not found", id)
	}
	return ids, nil
}

var t0 = time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)

// incidentApp wires Steward over db with the clock and leaks, and n accounts: u-0…u-(n-1),
// even ones in region zj (zh-CN), odd ones in hb (en).
func incidentApp(t *testing.T, db *sqlstore.DB, c *clock, leaks leak.LeakAccounts, n int) *app.App {
	t.Helper()
	a := storetest.NewApp(t, db, app.Config{AuditKey: storetest.AuditKey(t), Incidents: leak.IncidentConfig{Now: c.Now, Leaks: leaks}})
	var as []*accounts.Account
	for i := range n {
		region, locale := "zj", "zh-CN"
		if i%2 == 1 {
			region, locale = "hb", "en"
		}
		as = append(as, &accounts.Account{ID: fmt.Sprintf("u-%d", i), Region: region, Locale: locale, CreatedAt: t0.AddDate(-1, 0, 0)})
	}
	for _, ac := range as {
		if _, err := a.Accounts.Put(service, ac); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

func request(affected leak.IncidentAffected) leak.IncidentRequest {
	return leak.IncidentRequest{Title: "Order data exposed", DetectedAt: t0, DataTypes: []string{"name", "phone", "address"},
		Cause: "A logistics partner's export was copied.", Harm: "Fraudsters may call you posing as customer service.",
		Remedies: "We revoked the partner's access.", Advice: "Do not give codes to callers.", Contact: "privacy@example.com, 400-000-0000",
		Grade: leak.GradeMajor, Affected: affected}
}

// noticed returns the accounts of ids that have a notice of the incident, with its
// locale and subject.
func noticed(t *testing.T, a *app.App, ids []string, incident string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, id := range ids {
		ns, err := a.Notices.List(context.Background(), id, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.Event == "incident.notice" && strings.Contains(n.Body, incident) {
				out[id] = n.Locale + ": " + n.Subject
			}
		}
	}
	return out
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u-%d", i)
	}
	return out
}

// TestIncidentNotifiesExactlyTheAffected is the Done-when for incidents: an
// incident notifies exactly its affected users, in their language, before its deadline;
// the affected come from a leak investigation or from a selection.
func TestIncidentNotifiesExactlyTheAffected(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{t: t0.Add(10 * time.Minute)}
		a := incidentApp(t, db, c, fakeLeaks{"leak-1": {"u-3", "u-4", "u-7", "u-3"}}, 10)
		for _, tc := range []struct {
			name     string
			affected leak.IncidentAffected
			want     []string
		}{
			{"leak", leak.IncidentAffected{Leak: "leak-1"}, []string{"u-3", "u-4", "u-7"}},
			{"selection", leak.IncidentAffected{Selection: `account.region == "hb" && account.id != "u-1"`}, []string{"u-3", "u-5", "u-7", "u-9"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in, err := a.Incidents.Create(security, request(tc.affected))
				if err != nil {
					t.Fatal(err)
				}
				if in.Accounts != len(tc.want) || !in.Deadline.Equal(t0.Add(4*time.Hour)) || in.State != leak.IncidentOpen {
					t.Fatalf("incident %+v", in)
				}
				c.Set(t0.Add(time.Hour))
				in, err = a.Incidents.Notify(security, in.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got := in.DeadlineState(c.Now()); got != leak.DeadlineMet {
					t.Fatalf("deadline state %s, want met", got)
				}
				var got []string
				for id, s := range noticed(t, a, ids(10), in.ID) {
					got = append(got, id)
					if want := map[bool]string{true: "zh-CN: 您的个人信息可能已泄露：", false: "en: Your personal data may have been exposed: "}[id == "u-4"]; !strings.HasPrefix(s, want) {
						t.Errorf("%s's notice %q, want it to begin %q", id, s, want)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, tc.want) {
					t.Fatalf("noticed %v, want exactly %v", got, tc.want)
				}
				if _, err := a.Incidents.Notify(security, in.ID); errs.CodeOf(err) != errs.Conflict {
					t.Fatalf("second notify: %v, want a conflict", err)
				}
			})
		}
	})
}

func TestIncidentNoticeSaysWhatTheLawAsks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{t: t0}
		a := incidentApp(t, db, c, nil, 2)
		in, err := a.Incidents.Create(security, request(leak.IncidentAffected{Selection: "true"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Incidents.Notify(security, in.ID); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string][]string{
			"u-0": {"姓名、手机号码、地址", "A logistics partner's export was copied.", "Fraudsters may call", "We revoked", "Do not give codes", "privacy@example.com", in.ID},
			"u-1": {"your name, your phone number, your address", "A logistics partner's export was copied.", "Fraudsters may call", "We revoked", "Do not give codes", "privacy@example.com", in.ID},
		} {
			ns, err := a.Notices.List(context.Background(), id, "", 1)
			if err != nil || len(ns) != 1 {
				t.Fatalf("%s: %v %v", id, ns, err)
			}
			for _, w := range want {
				if !strings.Contains(ns[0].Body, w) {
					t.Errorf("%s's notice lacks %q:\n%s", id, w, ns[0].Body)
				}
			}
		}
	})
}

func TestIncidentRefusesBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{t: t0}
		a := incidentApp(t, db, c, nil, 3)
		bad := leak.IncidentRequest{Title: strings.Repeat("x", 201), DetectedAt: t0.Add(time.Hour), DataTypes: []string{"phone", "phone", "DNA"},
			Grade: "severe", ReportWithin: "1s", Affected: leak.IncidentAffected{Selection: "account.nope"}}
		_, err := a.Incidents.Create(security, bad)
		var got []string
		for _, f := range errs.FieldsOf(err) {
			got = append(got, f.Field)
		}
		want := []string{"title", "cause", "harm", "remedies", "advice", "contact", "detected_at", "data_types[1]", "data_types[2]", "grade", "report_within", "affected.selection"}
		if !slices.Equal(got, want) {
			t.Fatalf("fields %v, want %v (%v)", got, want, err)
		}
		for _, tc := range []struct {
			affected leak.IncidentAffected
			code     errs.Code
			field    string
		}{
			{leak.IncidentAffected{}, errs.Invalid, "affected"},
			{leak.IncidentAffected{Leak: "l", Selection: "true"}, errs.Invalid, "affected"},
			{leak.IncidentAffected{Leak: "l"}, errs.Invalid, "affected.leak"}, // app wires the investigations: "l" is none of them
			{leak.IncidentAffected{Selection: `account.region`}, errs.Invalid, "affected.selection"},
			{leak.IncidentAffected{Selection: `[1,2,3].all(x, [1,2,3].all(y, [1,2,3].all(z, account.attributes.all(k, account.attributes.all(j, k.size() > j.size())))))`}, errs.Invalid, "affected.selection"},
		} {
			_, err := a.Incidents.Create(security, request(tc.affected))
			if errs.CodeOf(err) != tc.code || len(errs.FieldsOf(err)) != 1 || errs.FieldsOf(err)[0].Field != tc.field {
				t.Errorf("%+v: %v, want %s on %s", tc.affected, err, tc.code, tc.field)
			}
		}
		b := storetest.NewApp(t, db, app.Config{Incidents: leak.IncidentConfig{Now: c.Now, Leaks: fakeLeaks{}}})
		if _, err := b.Incidents.Create(security, request(leak.IncidentAffected{Leak: "nope"})); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("unknown leak: %v", err)
		}
		if _, err := b.Incidents.Get(security, "nope"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("get: %v", err)
		}
		if _, err := b.Incidents.Notify(security, "nope"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("notify: %v", err)
		}
		if n, _ := db.Count(context.Background(), "audit_entries"); n != 3 { // the accounts' puts
			t.Fatalf("%d audit entries: a refused incident wrote one", n)
		}
	})
}

func auditFilter(subject string) audit.Filter { return audit.Filter{Subject: subject, Limit: 100} }

// actions returns the actions of the audit entries about subject.
func actions(t *testing.T, a *app.App, subject string) []string {
	t.Helper()
	if _, _, err := a.Sequencer.Integrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	page, err := a.Audit.Entries(context.Background(), auditFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range page.Items {
		out = append(out, it.Action)
	}
	return out
}

func TestIncidentDeadlineAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{t: t0}
		a := incidentApp(t, db, c, nil, 2)
		timer := a.Incidents.Timer()
		late, err := a.Incidents.Create(security, request(leak.IncidentAffected{Selection: "true"})) // 4 h: warned from 3 h
		if err != nil {
			t.Fatal(err)
		}
		r := request(leak.IncidentAffected{Selection: "true"})
		r.Grade = leak.GradeCritical
		told, err := a.Incidents.Create(security, r)
		if err != nil {
			t.Fatal(err)
		}
		tick := func(at time.Duration, want int) {
			t.Helper()
			c.Set(t0.Add(at))
			if n, err := timer.Tick(context.Background()); err != nil || n != want {
				t.Fatalf("at +%s: %d alerts, %v; want %d", at, n, err, want)
			}
		}
		tick(30*time.Minute, 0)
		if _, err := a.Incidents.Notify(security, told.ID); err != nil {
			t.Fatal(err)
		}
		tick(2*time.Hour, 0) // the critical one was told in time: no alerts
		tick(3*time.Hour, 1) // near
		tick(3*time.Hour+time.Minute, 0)
		got, _ := a.Incidents.Get(security, late.ID)
		if got.DeadlineState(c.Now()) != leak.DeadlineNear || got.NearAlertAt == nil {
			t.Fatalf("%+v", got)
		}
		tick(5*time.Hour, 1) // passed
		tick(9*time.Hour, 0)
		got, _ = a.Incidents.Get(security, late.ID)
		if got.DeadlineState(c.Now()) != leak.DeadlinePassed || got.PassedAlertAt == nil {
			t.Fatalf("%+v", got)
		}
		rep, err := a.Incidents.Report(security, late.ID)
		if err != nil || rep.Deadline != leak.DeadlinePassed || len(rep.Timeline) != 5 {
			t.Fatalf("report %+v, %v", rep, err)
		}
		if want := []string{"incident.create", "incident.deadline_near", "incident.deadline_passed", "incident.report"}; !slices.Equal(actions(t, a, "incident:"+late.ID), want) {
			t.Fatalf("audit %v, want %v", actions(t, a, "incident:"+late.ID), want)
		}
		if want := []string{"incident.create", "incident.notify"}; !slices.Equal(actions(t, a, "incident:"+told.ID), want) {
			t.Fatalf("audit %v, want %v", actions(t, a, "incident:"+told.ID), want)
		}
		// Both alerts due at once (the timer was down) are raised in one pass.
		c.Set(t0)
		r.Grade = leak.GradeCritical
		down, _ := a.Incidents.Create(security, r)
		tick(2*time.Hour, 2)
		if want := []string{"incident.create", "incident.deadline_near", "incident.deadline_passed"}; !slices.Equal(actions(t, a, "incident:"+down.ID), want) {
			t.Fatalf("audit %v", actions(t, a, "incident:"+down.ID))
		}
	})
}

// TestIncidentWebhooks: every incident event reaches the outbox of a webhook that
// receives it, and the timer is one of the workers serve runs.
func TestIncidentWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		err := db.Write(context.Background(), func(ctx context.Context) error {
			_, err := db.Webhooks().PutWebhook(ctx, &notify.Webhook{Name: "soc", URL: "https://soc.example/hook", Secret: "s",
				Events: []string{"incident.created", "incident.deadline_near", "incident.deadline_passed", "incident.notified"}, CreatedAt: t0, UpdatedAt: t0})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		c := &clock{t: t0}
		a := incidentApp(t, db, c, nil, 1)
		if _, ok := a.Workers()["incident deadlines"]; !ok {
			t.Fatal("no incident deadline worker")
		}
		in, err := a.Incidents.Create(security, request(leak.IncidentAffected{Selection: "true"}))
		if err != nil {
			t.Fatal(err)
		}
		c.Set(t0.Add(5 * time.Hour))
		if n, err := a.Incidents.Timer().Tick(context.Background()); n != 2 || err != nil {
			t.Fatalf("%d alerts, %v", n, err)
		}
		late, err := a.Incidents.Notify(security, in.ID)
		if err != nil || late.DeadlineState(c.Now()) != leak.DeadlineMissed {
			t.Fatalf("told late: %+v, %v", late, err)
		}
		if n, err := db.Count(context.Background(), "outbox"); err != nil || n != 4 {
			t.Fatalf("outbox holds %d events (%v), want created, deadline_near, deadline_passed, notified", n, err)
		}
	})
}
