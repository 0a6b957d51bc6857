package reports_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/reports"
	"github.com/stewardhq/steward/internal/review"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

var (
	service  = principal.NewContext(audit.WithRequestID(context.Background(), "req-1"), principal.Principal{Name: "platform", Role: principal.Service})
	reviewer = principal.NewContext(audit.WithRequestID(context.Background(), "req-2"), principal.Principal{Name: "rita", Role: principal.Reviewer})
	second   = principal.NewContext(audit.WithRequestID(context.Background(), "req-3"), principal.Principal{Name: "rob", Role: principal.Reviewer})
)

// settle decides case id as the reviewer in ctx: a strike under policy "conduct" when
// actioned.
func (f *fixture) settle(ctx context.Context, id string, actioned bool) (*reports.Case, error) {
	f.t.Helper()
	if _, err := f.app.Reports.Claim(ctx, review.ClaimRequest{N: review.MaxClaim}); err != nil {
		f.t.Fatal(err)
	}
	d := reports.Decision{Outcome: reports.Dismiss, Note: "not a violation"}
	if actioned {
		d = reports.Decision{Outcome: reports.Action, Policy: "conduct", Strike: true, Note: "confirmed"}
	}
	return f.app.Reports.Decide(ctx, id, d)
}

func (f *fixture) mustSettle(id string, actioned bool) {
	f.t.Helper()
	if _, err := f.settle(reviewer, id, actioned); err != nil {
		f.t.Fatalf("decide %s: %v", id, err)
	}
}

// clock is a test's movable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var epoch = time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	db    *sqlstore.DB
	app   *app.App
	clock *clock
}

func newFixture(t *testing.T, db *sqlstore.DB, cfg reports.Config) *fixture {
	t.Helper()
	c := &clock{t: epoch}
	cfg.Now = c.now
	f := &fixture{t: t, db: db, app: storetest.NewApp(t, db, app.Config{Reports: cfg}), clock: c}
	_, err := f.app.Enforce.PutPolicy(service, &enforce.Policy{ID: "conduct", ReasonCode: "conduct",
		Title: map[string]string{"en": "Conduct", "zh-CN": "行为"}, Clause: map[string]string{"en": "Be kind", "zh-CN": "友善"},
		Ladder: []string{"warning", "72h"}, Scope: enforce.Scope{Capabilities: []string{"chat.send"}}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// accounts creates accounts of the given age, each linked to links.
func (f *fixture) accounts(age time.Duration, ids ...string) {
	f.t.Helper()
	as := make([]*accounts.Account, len(ids))
	for i, id := range ids {
		as[i] = &accounts.Account{ID: id, Region: "cn", Locale: "en", CreatedAt: epoch.Add(-age)}
	}
	if _, err := f.app.Accounts.Import(service, as, nil); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) report(reporter, target, category string, ctx reports.Context) *reports.Receipt {
	f.t.Helper()
	rc, err := f.app.Reports.Report(service, &reports.Report{Reporter: reporter, Target: target, Category: category, Text: "look", Context: ctx})
	if err != nil {
		f.t.Fatalf("report %s → %s: %v", reporter, target, err)
	}
	return rc
}

func (f *fixture) caseOf(id string) *reports.Case {
	f.t.Helper()
	c, err := f.app.Reports.Case(reviewer, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

const year = 365 * 24 * time.Hour

func TestReportsMergeIntoOneCasePerTargetAndCategory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "alice", "bob", "carol", "mallory")
		a := f.report("alice", "mallory", "spam", reports.Context{})
		b := f.report("bob", "mallory", "spam", reports.Context{Device: "d1"})
		c := f.report("carol", "mallory", "fraud", reports.Context{})
		if !a.Opened || b.Opened || a.Case != b.Case {
			t.Fatalf("spam reports: %+v, %+v; want one case opened by the first", a, b)
		}
		if !c.Opened || c.Case == a.Case {
			t.Fatalf("fraud report %+v joined the spam case", c)
		}
		got := f.caseOf(a.Case)
		if got.Reports != 2 || got.Target != "mallory" || got.Category != "spam" || got.State != reports.Open || got.Score <= 0 {
			t.Fatalf("case: %+v", got)
		}
		d, err := f.app.Reports.Detail(reviewer, a.Case)
		if err != nil || len(d.ReportList) != 2 || d.ReportList[1].Context.Device != "d1" {
			t.Fatalf("detail: %+v, %v", d, err)
		}
	})
}

func TestOneReportPerReporterTargetAndCategoryADay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "alice", "mallory")
		first := f.report("alice", "mallory", "spam", reports.Context{})
		_, err := f.app.Reports.Report(service, &reports.Report{Reporter: "alice", Target: "mallory", Category: "spam"})
		if errs.CodeOf(err) != errs.TooMany {
			t.Fatalf("second report the same day: %v, want %s", err, errs.TooMany)
		}
		if got := f.caseOf(first.Case); got.Reports != 1 {
			t.Fatalf("the refused report was counted: %+v", got)
		}
		f.report("alice", "mallory", "fraud", reports.Context{}) // another category is another report
		f.clock.add(24 * time.Hour)
		if again := f.report("alice", "mallory", "spam", reports.Context{}); again.Case != first.Case {
			t.Fatalf("next day's report went to case %s, not %s", again.Case, first.Case)
		}
	})
}

func TestReportRefusesBadInputNamingEveryField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "alice")
		long := make([]byte, reports.MaxContextLen+1)
		for i := range long {
			long[i] = 'x'
		}
		_, err := f.app.Reports.Report(service, &reports.Report{Reporter: "bad id!", Target: "", Category: "weather",
			Evidence: []string{""}, Context: reports.Context{Device: string(long)}})
		want := map[string]bool{"reporter": true, "target": true, "category": true, "evidence[0]": true, "context.device": true}
		got := map[string]bool{}
		for _, fe := range errs.FieldsOf(err) {
			got[fe.Field] = true
		}
		if errs.CodeOf(err) != errs.Invalid || len(got) != len(want) {
			t.Fatalf("got %v (%v), want fields %v", err, got, want)
		}
		for k := range want {
			if !got[k] {
				t.Errorf("no error for %s: %v", k, err)
			}
		}
		_, err = f.app.Reports.Report(service, &reports.Report{Reporter: "alice", Target: "alice", Category: "spam"})
		if errs.CodeOf(err) != errs.Invalid {
			t.Errorf("self-report: %v", err)
		}
		_, err = f.app.Reports.Report(service, &reports.Report{Reporter: "alice", Target: "nobody", Category: "spam"})
		if fs := errs.FieldsOf(err); errs.CodeOf(err) != errs.NotFound || len(fs) != 1 || fs[0].Field != "target" {
			t.Errorf("unknown target: %v", err)
		}
		if n, err := f.app.Reports.List(reviewer, reports.Filter{Limit: 10}); err != nil || len(n) != 0 {
			t.Errorf("refused reports opened cases: %v, %v", n, err)
		}
	})
}

func TestAccuracyLearnsFromDecisions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "alice", "bob", "newbie", "sanctioned", "m1", "m2", "m3", "m4")
		f.accounts(24*time.Hour, "young")
		// Alice's reports are actioned three times, Bob's dismissed three times.
		for _, m := range []string{"m1", "m2", "m3"} {
			a := f.report("alice", m, "spam", reports.Context{})
			f.mustSettle(a.Case, true)
			b := f.report("bob", m, "fraud", reports.Context{})
			f.mustSettle(b.Case, false)
		}
		end := time.Now().Add(240 * time.Hour) // enforce keeps the real clock
		if _, err := f.app.Enforce.Impose(service, &enforce.Sanction{Account: "sanctioned", Kind: enforce.Restrict,
			Scope: enforce.Scope{Capabilities: []string{"chat.send"}}, End: &end, ReasonCode: "spam",
			Authority: authority.Authority{Kind: authority.Automated, Rule: "r1"}}); err != nil {
			t.Fatal(err)
		}
		weight := func(reporter, category string) float64 {
			t.Helper()
			rc := f.report(reporter, "m4", category, reports.Context{})
			d, err := f.app.Reports.Detail(reviewer, rc.Case)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range d.ReportList {
				if r.ID == rc.ID {
					return r.Weight
				}
			}
			t.Fatalf("report %s not in its case", rc.ID)
			return 0
		}
		alice, bob, newbie := weight("alice", "spam"), weight("bob", "fraud"), weight("newbie", "spam")
		young, sanctioned := weight("young", "spam"), weight("sanctioned", "spam")
		if !(alice > newbie && newbie > bob) {
			t.Errorf("weights: accurate %.3f, new %.3f, dismissed %.3f: want accurate > new > dismissed", alice, newbie, bob)
		}
		if alice > 0.9 {
			t.Errorf("three good reports made alice weigh %.3f: a few reports must not make a reporter fully trusted", alice)
		}
		if !(young < newbie/2 && sanctioned < newbie/2) {
			t.Errorf("young %.3f and sanctioned %.3f reporters must weigh well under an established one (%.3f)", young, sanctioned, newbie)
		}
		st, err := f.app.Reports.Reporter(reviewer, "alice")
		if err != nil || len(st) == 0 || st[0].Category != "spam" || st[0].Actioned != 3 || st[0].Posterior <= st[0].Prior {
			t.Errorf("alice's standing: %+v, %v", st, err)
		}
	})
}

func TestDecideRefusesADecidedCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "alice", "mallory")
		rc := f.report("alice", "mallory", "spam", reports.Context{})
		c, err := f.settle(reviewer, rc.Case, true)
		if err != nil || c.State != reports.Decided || c.Outcome != reports.Action || c.Sanction == "" {
			t.Fatalf("decide: %+v, %v", c, err)
		}
		if _, err := f.settle(reviewer, rc.Case, false); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("settling twice: %v", err)
		}
		f.clock.add(24 * time.Hour)
		if next := f.report("alice", "mallory", "spam", reports.Context{}); next.Case == rc.Case || !next.Opened {
			t.Fatalf("a report after the decision joined the decided case: %+v", next)
		}
	})
}

func reportsFields(err error) []string {
	var out []string
	for _, fe := range errs.FieldsOf(err) {
		out = append(out, fe.Field)
	}
	return out
}
