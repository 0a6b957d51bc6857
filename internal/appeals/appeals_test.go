package appeals_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/review"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

func as(p principal.Principal) context.Context {
	return principal.NewContext(audit.WithRequestID(context.Background(), "req-test"), p)
}

var (
	carla = principal.Key("carla", principal.Compliance, "k-carla") // creates the sweep
	cora  = principal.Key("cora", principal.Compliance, "k-cora")   // resumes it
	rita  = principal.Key("rita", principal.Reviewer, "k-rita")
	ravi  = principal.Key("ravi", principal.Reviewer, "k-ravi")
)

func user(account string) context.Context { return as(principal.EndUser(account, "tok-"+account)) }

// sweepRequest sweeps the border region, sparing business travellers: the platform
// records trips only after the sweep, so honest travellers are among its targets.
func sweepRequest() bulk.CreateRequest {
	qa := 0.0
	return bulk.CreateRequest{
		Name: "border sweep", Criteria: `account.region == "border" || account.attributes.days_in_border >= 1.0`,
		Screens: []bulk.Screen{{Name: "business_trip", Expr: `has(account.attributes.trip_purpose) && account.attributes.trip_purpose == "business"`}},
		Sanction: bulk.Template{Kind: enforce.Suspend, Scope: enforce.Scope{Services: []string{"pay", "chat"}},
			Duration: "168h", ReasonCode: "fraud_sweep"},
		Authority:      authority.Authority{Kind: authority.Automated, Rule: "border-2026"},
		AppealSettings: bulk.AppealSettings{QAPercent: &qa},
	}
}

// sweep runs the sweep over a fresh population in which no account has recorded a
// business trip, and returns the action and its targets.
func sweep(t *testing.T, a *app.App, n int) (*bulk.Action, []*accounts.Account) {
	t.Helper()
	pop := population.Generate(population.Config{N: n, Seed: 11})
	for _, acct := range pop {
		if acct.Attributes["trip_purpose"] == "business" {
			acct.Attributes["trip_purpose"] = "unrecorded"
		}
	}
	if _, err := a.Accounts.Import(context.Background(), pop, nil); err != nil {
		t.Fatal(err)
	}
	act, err := a.Bulk.Create(as(carla), sweepRequest())
	if err != nil {
		t.Fatal(err)
	}
	zero := 0.0
	if _, err := a.Bulk.Execute(as(cora), act.ID, bulk.ExecuteRequest{CanaryPercent: &zero}); err != nil {
		t.Fatal(err)
	}
	stepAll(t, a, act.ID)
	if act, err = a.Bulk.Get(context.Background(), act.ID); err != nil || act.State != bulk.Done {
		t.Fatalf("sweep: %v %v", act.State, err)
	}
	var targets []*accounts.Account
	for _, acct := range pop {
		if acct.Region == "border" || acct.Attributes["days_in_border"].(float64) >= 1 {
			targets = append(targets, acct)
		}
	}
	if len(targets) != act.Progress.Done {
		t.Fatalf("the test counts %d targets, the sweep sanctioned %d", len(targets), act.Progress.Done)
	}
	return act, targets
}

// stepAll runs the bulk action's steps until it waits or ends.
func stepAll(t *testing.T, a *app.App, id string) {
	t.Helper()
	for more := true; more; {
		var err error
		if more, err = a.Bulk.Step(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
}

func sanctionOf(t *testing.T, a *app.App, account string) *enforce.Sanction {
	t.Helper()
	sns, err := a.Enforce.List(context.Background(), account, "", 10)
	if err != nil || len(sns) == 0 {
		t.Fatalf("sanctions of %s: %v %v", account, sns, err)
	}
	return sns[0]
}

func rescreenAll(t *testing.T, a *app.App) {
	t.Helper()
	for {
		n, err := a.Appeals.RescreenOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// TestSweepAftermath is the scenario on one database: a sweep with honest
// travellers among its targets; the platform records their business trips; every target
// appeals; re-screening releases exactly the travellers, each with an apology in their
// locale; two reviewers decide the rest, neither of them their own sanctions.
func TestSweepAftermath(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := storetest.NewApp(t, db, app.Config{})
		ctx := context.Background()
		act, targets := sweep(t, a, 600)

		// The platform records the business trips it knows of.
		travellers := map[string]bool{}
		for _, acct := range targets {
			if acct.Attributes["trip_purpose"] == "unrecorded" {
				acct.Attributes["trip_purpose"] = "business"
				travellers[acct.ID] = true
				if _, err := a.Accounts.Put(as(principal.Key("platform", principal.Service, "k-svc")), acct); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(travellers) == 0 || len(travellers) == len(targets) {
			t.Fatalf("population too thin: %d travellers of %d targets", len(travellers), len(targets))
		}

		// Rita imposes a sanction of her own; its appeal must never reach her.
		own := &enforce.Sanction{Account: "acct-own", Kind: enforce.Restrict, Scope: enforce.Scope{Capabilities: []string{"chat.send"}},
			ReasonCode: "spam", Authority: authority.Authority{Kind: authority.Automated, Rule: "manual"}}
		if _, err := a.Accounts.Put(as(carla), &accounts.Account{ID: "acct-own", Region: "capital", Locale: "en", CreatedAt: time.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		ownSn, err := a.Enforce.Impose(as(rita), own)
		if err != nil {
			t.Fatal(err)
		}

		// Everyone appeals; a second appeal of the same sanction is refused.
		byAccount := map[string]*appeals.Appeal{}
		for _, acct := range targets {
			sn := sanctionOf(t, a, acct.ID)
			ap, err := a.Appeals.File(user(acct.ID), appeals.Filing{Sanction: sn.ID, Statement: "I only travelled there for work.",
				Evidence: []appeals.Evidence{{Kind: "travel_record", Text: "company trip"}}})
			if err != nil {
				t.Fatal(err)
			}
			if ap.State != appeals.Open || ap.BulkAction != act.ID || !ap.Rescreen || ap.DueAt.Sub(ap.CreatedAt) != 72*time.Hour {
				t.Fatalf("filed: %+v", ap)
			}
			byAccount[acct.ID] = ap
		}
		first := targets[0]
		_, err = a.Appeals.File(user(first.ID), appeals.Filing{Sanction: byAccount[first.ID].Sanction, Statement: "again"})
		if errs.CodeOf(err) != errs.Conflict || !strings.Contains(err.Error(), byAccount[first.ID].ID) {
			t.Fatalf("second appeal: %v", err)
		}
		// Another's sanction is not theirs to appeal.
		_, err = a.Appeals.File(user(targets[1].ID), appeals.Filing{Sanction: byAccount[first.ID].Sanction, Statement: "x"})
		if errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("appeal of another's sanction: %v", err)
		}
		ownAp, err := a.Appeals.File(as(principal.Key("agnes", principal.Agent, "k-agnes")), appeals.Filing{
			Account: "acct-own", Channel: appeals.ByAgent, Sanction: ownSn.ID, Statement: "filed by phone"})
		if err != nil || ownAp.Rescreen || ownAp.Channel != appeals.ByAgent {
			t.Fatalf("agent filing: %+v %v", ownAp, err)
		}

		rescreenAll(t, a)
		released := 0
		for id, ap := range byAccount {
			got, err := a.Appeals.Get(ctx, ap.ID)
			if err != nil {
				t.Fatal(err)
			}
			sn := sanctionOf(t, a, id)
			switch {
			case travellers[id]:
				if got.State != appeals.Released || got.Screened != "business_trip" || sn.Lifted == nil || !sn.Lifted.Wrongful {
					t.Fatalf("traveller %s: appeal %s screened %q, sanction lifted %+v", id, got.State, got.Screened, sn.Lifted)
				}
				released++
				ns, err := a.Notices.List(ctx, id, "", 10)
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]string{"en": "We are sorry", "zh-CN": "非常抱歉"}[ns[0].Locale]
				if ns[0].Event != enforce.Lifted || want == "" || !strings.Contains(ns[0].Subject, want) {
					t.Fatalf("traveller %s's latest notice: %+v", id, ns[0])
				}
			default:
				if got.State != appeals.Open || sn.Lifted != nil {
					t.Fatalf("target %s: appeal %s, sanction lifted %+v", id, got.State, sn.Lifted)
				}
			}
		}
		if released != len(travellers) {
			t.Fatalf("released %d, want %d", released, len(travellers))
		}

		// Two reviewers take the rest. Rita never receives her own sanction's appeal,
		// and may not decide it.
		decided := map[string]bool{}
		for _, r := range []principal.Principal{rita, ravi} {
			for {
				got, err := a.Appeals.Claim(as(r), review.ClaimRequest{N: 25, Lease: "10m"})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == 0 {
					break
				}
				for i, ap := range got {
					if ap.State != appeals.Claimed {
						t.Fatalf("claimed appeal shows %s", ap.State)
					}
					if r.Is(rita) && ap.ID == ownAp.ID {
						t.Fatal("rita received the appeal against her own sanction")
					}
					d := appeals.Decision{Outcome: appeals.Uphold, Note: "the records show fraud"}
					if i%3 == 0 {
						d = appeals.Decision{Outcome: appeals.Overturn, Note: "no sign of fraud"}
					}
					if _, err := a.Appeals.Decide(as(r), ap.ID, d); err != nil {
						t.Fatal(err)
					}
					decided[ap.ID] = true
				}
				if r.Is(rita) && len(decided) > 40 {
					break // leave the rest, the own one among them, to ravi
				}
			}
		}
		if want := len(targets) - len(travellers) + 1; len(decided) != want {
			t.Fatalf("decided %d, want %d", len(decided), want)
		}
		if !decided[ownAp.ID] {
			t.Fatal("the appeal against rita's sanction was not decided by ravi")
		}
		got, _ := a.Appeals.Get(ctx, ownAp.ID)
		if !got.DecidedBy.Is(ravi) {
			t.Fatalf("decided by %v", got.DecidedBy)
		}
	})
}

// TestFourEyes: neither the sanction's author nor the bulk action's creator or resumer
// may decide its appeal, with a 403 that says so; the lease holder decides once.
func TestFourEyes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := storetest.NewApp(t, db, app.Config{})
		_, targets := sweep(t, a, 200)
		sn := sanctionOf(t, a, targets[0].ID)
		ap, err := a.Appeals.File(user(targets[0].ID), appeals.Filing{Sanction: sn.ID, Statement: "not me"})
		if err != nil {
			t.Fatal(err)
		}
		rescreenAll(t, a)
		for _, p := range []principal.Principal{carla, cora, principal.Key("carla", principal.Reviewer, "k-carla-2")} {
			got, err := a.Appeals.Claim(as(p), review.ClaimRequest{N: 100})
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if g.ID == ap.ID {
					t.Fatalf("%v received an appeal against the action they made", p)
				}
			}
			_, err = a.Appeals.Decide(as(p), ap.ID, appeals.Decision{Outcome: appeals.Overturn, Note: "mine"})
			if errs.CodeOf(err) != errs.Forbidden || !strings.Contains(err.Error(), "four eyes") {
				t.Fatalf("%v deciding: %v", p, err)
			}
		}
		// Ravi has not claimed it: a conflict, not a decision.
		if _, err := a.Appeals.Decide(as(ravi), ap.ID, appeals.Decision{Outcome: appeals.Uphold, Note: "n"}); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("deciding unclaimed: %v", err)
		}
		if _, err := a.Appeals.Claim(as(ravi), review.ClaimRequest{N: 100}); err != nil {
			t.Fatal(err)
		}
		// Bad decisions name every field at fault.
		_, err = a.Appeals.Decide(as(ravi), ap.ID, appeals.Decision{Outcome: "maybe"})
		if f := errs.FieldsOf(err); len(f) != 2 {
			t.Fatalf("bad decision: %v", err)
		}
		until := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
		got, err := a.Appeals.Decide(as(ravi), ap.ID, appeals.Decision{Outcome: appeals.Reduce, Note: "one day is enough", Until: until})
		if err != nil || got.State != appeals.Decided {
			t.Fatalf("reduce: %+v %v", got, err)
		}
		if s := sanctionOf(t, a, targets[0].ID); !s.End.Equal(until) {
			t.Fatalf("sanction ends %v, want %v", s.End, until)
		}
		if _, err := a.Appeals.Decide(as(ravi), ap.ID, appeals.Decision{Outcome: appeals.Uphold, Note: "again"}); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("deciding twice: %v", err)
		}
	})
}

// TestRevertClosesOpenAppeals: a bulk action's revert closes its open appeals, each with
// a notice, in the revert's own transactions.
func TestRevertClosesOpenAppeals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := storetest.NewApp(t, db, app.Config{})
		act, targets := sweep(t, a, 200)
		var ids []string
		for _, acct := range targets[:5] {
			ap, err := a.Appeals.File(user(acct.ID), appeals.Filing{Sanction: sanctionOf(t, a, acct.ID).ID, Statement: fmt.Sprint("appeal of ", acct.ID)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, ap.ID)
		}
		if _, err := a.Bulk.Revert(as(carla), act.ID, bulk.RevertRequest{Reason: "the sweep was wrong"}); err != nil {
			t.Fatal(err)
		}
		stepAll(t, a, act.ID)
		for i, id := range ids {
			ap, err := a.Appeals.Get(context.Background(), id)
			if err != nil || ap.State != appeals.Closed {
				t.Fatalf("after revert: %+v %v", ap, err)
			}
			ns, _ := a.Notices.List(context.Background(), targets[i].ID, "", 10)
			found := false
			for _, n := range ns {
				found = found || n.Event == appeals.EventClosed
			}
			if !found {
				t.Fatalf("%s got no closing notice: %+v", targets[i].ID, ns)
			}
		}
		if n, _ := a.Appeals.RescreenOnce(context.Background()); n != 0 {
			t.Fatalf("closed appeals still wait for re-screening: %d", n)
		}
	})
}

// clock is a test's settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestDeadlines: an appeal past its deadline is marked once, raised above every appeal
// on time, announced; with on_sla_breach "release" its sanction is lifted provisionally
// (not as wrongful) and an uphold imposes it again.
func TestDeadlines(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{time.Now()}
		a := storetest.NewApp(t, db, app.Config{Appeals: appeals.Config{Now: c.now}})
		act, targets := sweep(t, a, 200)
		if _, err := a.Bulk.SetAppeals(as(ravi), act.ID, bulk.AppealSettings{SLA: "24h", OnSLABreach: "release"}); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("a reviewer changed the appeal settings of an executed action: %v", err)
		}
		if _, err := a.Bulk.SetAppeals(as(carla), act.ID, bulk.AppealSettings{SLA: "2m", OnSLABreach: "now"}); len(errs.FieldsOf(err)) != 2 {
			t.Fatalf("bad settings: %v", err)
		}
		if _, err := a.Bulk.SetAppeals(as(carla), act.ID, bulk.AppealSettings{SLA: "24h", OnSLABreach: "release"}); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, acct := range targets[:3] {
			ap, err := a.Appeals.File(user(acct.ID), appeals.Filing{Sanction: sanctionOf(t, a, acct.ID).ID, Statement: "please"})
			if err != nil {
				t.Fatal(err)
			}
			if !ap.DueAt.Equal(ap.CreatedAt.Add(24 * time.Hour)) {
				t.Fatalf("due %v, filed %v: want the action's 24h", ap.DueAt, ap.CreatedAt)
			}
			ids = append(ids, ap.ID)
			c.t = c.t.Add(time.Minute) // later filings are younger
		}
		rescreenAll(t, a)
		if n, err := a.Appeals.BreachOnce(context.Background()); err != nil || n != 0 {
			t.Fatalf("breached early: %d %v", n, err)
		}
		// Past the first filing's deadline, not yet the second's.
		c.t = c.t.Add(24*time.Hour - 2*time.Minute)
		if n, err := a.Appeals.BreachOnce(context.Background()); err != nil || n != 1 {
			t.Fatalf("breached %d, want 1 (%v)", n, err)
		}
		if n, _ := a.Appeals.BreachOnce(context.Background()); n != 0 {
			t.Fatalf("breached again: %d", n)
		}
		first, _ := a.Appeals.Get(context.Background(), ids[0])
		sn := sanctionOf(t, a, targets[0].ID)
		if !first.Breached || !first.Provisional || first.State != appeals.Open || sn.Lifted == nil || sn.Lifted.Wrongful {
			t.Fatalf("breached appeal %+v, sanction lift %+v", first, sn.Lifted)
		}
		// The breached appeal comes first, although the others are as harmful.
		got, err := a.Appeals.Claim(as(ravi), review.ClaimRequest{N: 1})
		if err != nil || len(got) != 1 || got[0].ID != ids[0] {
			t.Fatalf("claimed %v %v, want the breached %s", got, err, ids[0])
		}
		if _, err := a.Appeals.Decide(as(ravi), ids[0], appeals.Decision{Outcome: appeals.Uphold, Note: "fraud confirmed"}); err != nil {
			t.Fatal(err)
		}
		re := sanctionOf(t, a, targets[0].ID) // newest first: the reimposed one
		if re.ID == sn.ID || !re.ActiveAt(c.t) || re.Kind != sn.Kind {
			t.Fatalf("uphold after a provisional lift did not reimpose: %+v", re)
		}
	})
}

// TestAppealScreensAndQuality: an action's appeal screens see the appeal's evidence; a
// share of releases goes to a quality reviewer, who may reimpose.
func TestAppealScreensAndQuality(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		draws := 0
		a := storetest.NewApp(t, db, app.Config{Appeals: appeals.Config{Random: func() float64 {
			draws++
			return map[bool]float64{true: 0.01, false: 0.99}[draws == 1] // only the first release is sampled
		}}})
		act, targets := sweep(t, a, 200)
		qa := 50.0
		if _, err := a.Bulk.SetAppeals(as(carla), act.ID, bulk.AppealSettings{QAPercent: &qa, Screens: []bulk.Screen{
			{Name: "documented_trip", Expr: `appeal.evidence.exists(e, e.kind == "travel_record")`},
			{Name: "bad", Expr: `appeal.nope`},
		}}); errs.FieldsOf(err) == nil || errs.FieldsOf(err)[0].Field != "appeal_screens[bad]" {
			t.Fatalf("a bad appeal screen: %v", err)
		}
		if _, err := a.Bulk.SetAppeals(as(carla), act.ID, bulk.AppealSettings{QAPercent: &qa, Screens: []bulk.Screen{
			{Name: "documented_trip", Expr: `appeal.evidence.exists(e, e.kind == "travel_record")`}}}); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i, acct := range targets[:4] {
			f := appeals.Filing{Sanction: sanctionOf(t, a, acct.ID).ID, Statement: "see my ticket"}
			if i < 2 {
				f.Evidence = []appeals.Evidence{{Kind: "travel_record", SHA256: strings.Repeat("ab", 32)}}
			}
			ap, err := a.Appeals.File(user(acct.ID), f)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, ap.ID)
		}
		rescreenAll(t, a)
		var qaID string
		for i, id := range ids {
			ap, _ := a.Appeals.Get(context.Background(), id)
			want := map[bool]appeals.State{true: appeals.Released, false: appeals.Open}[i < 2]
			if ap.State != want || (i < 2) != (ap.Screened == "documented_trip") {
				t.Fatalf("appeal %d: %s screened %q", i, ap.State, ap.Screened)
			}
			if ap.QA {
				qaID = ap.ID
			}
		}
		if qaID != ids[0] {
			t.Fatalf("quality review drawn for %q, want the first release %s", qaID, ids[0])
		}
		got, err := a.Appeals.Claim(as(ravi), review.ClaimRequest{N: 10})
		if err != nil || len(got) != 3 {
			t.Fatalf("claimed %d (%v): want the two kept and the sampled release", len(got), err)
		}
		if _, err := a.Appeals.Decide(as(ravi), qaID, appeals.Decision{Outcome: appeals.Uphold, Note: "x"}); len(errs.FieldsOf(err)) == 0 {
			t.Fatalf("a quality review decided uphold: %v", err)
		}
		if _, err := a.Appeals.Decide(as(ravi), qaID, appeals.Decision{Outcome: appeals.Reimpose, Note: "the ticket is forged"}); err != nil {
			t.Fatal(err)
		}
		if sn := sanctionOf(t, a, targets[0].ID); !sn.ActiveAt(time.Now()) || sn.Source != enforce.Manual {
			t.Fatalf("not reimposed: %+v", sn)
		}
	})
}

// TestLeaseExpires: an unfinished lease goes back to the queue for another reviewer.
func TestLeaseExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := &clock{time.Now()}
		a := storetest.NewApp(t, db, app.Config{Appeals: appeals.Config{Now: c.now}})
		own := &enforce.Sanction{Account: "acct-x", Kind: enforce.Ban, Scope: enforce.Scope{Services: []string{"*"}},
			ReasonCode: "fraud", Authority: authority.Authority{Kind: authority.Automated, Rule: "r"}}
		if _, err := a.Accounts.Put(as(carla), &accounts.Account{ID: "acct-x", Region: "capital", Locale: "en", CreatedAt: time.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		sn, err := a.Enforce.Impose(as(carla), own)
		if err != nil {
			t.Fatal(err)
		}
		ap, err := a.Appeals.File(user("acct-x"), appeals.Filing{Sanction: sn.ID, Statement: "hacked"})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := a.Appeals.Claim(as(rita), review.ClaimRequest{N: 5, Lease: "15m"}); len(got) != 1 {
			t.Fatalf("rita claimed %d", len(got))
		}
		if got, _ := a.Appeals.Claim(as(ravi), review.ClaimRequest{N: 5}); len(got) != 0 {
			t.Fatalf("ravi received a leased appeal")
		}
		c.t = c.t.Add(16 * time.Minute)
		if _, err := a.Appeals.Decide(as(rita), ap.ID, appeals.Decision{Outcome: appeals.Uphold, Note: "late"}); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("decided on an expired lease: %v", err)
		}
		if got, _ := a.Appeals.List(context.Background(), appeals.Filter{State: appeals.Open, Limit: 10}); len(got) != 1 {
			t.Fatalf("expired lease not open again: %d", len(got))
		}
		if got, _ := a.Appeals.Claim(as(ravi), review.ClaimRequest{N: 5}); len(got) != 1 || got[0].ID != ap.ID {
			t.Fatalf("ravi did not get the expired lease: %v", got)
		}
	})
}
