package reports_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/reports"
	"github.com/stewardhq/steward/internal/review"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

func TestProtectedAccountNeedsTwoReviewers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "alice")
		if _, err := f.app.Accounts.Put(service, &accounts.Account{ID: "helpbot", Region: "cn", Locale: "en", CreatedAt: epoch.Add(-year),
			Attributes: map[string]any{"protected": true}}); err != nil {
			t.Fatal(err)
		}
		rc := f.report("alice", "helpbot", "spam", reports.Context{})
		c, err := f.settle(reviewer, rc.Case, true)
		if err != nil || c.State != reports.Open || len(c.Approvals) != 1 || c.Sanction != "" {
			t.Fatalf("first reviewer's action: %+v, %v; want an approval, the case still open", c, err)
		}
		if ss, _ := f.app.Enforce.List(service, "helpbot", "", 10); len(ss) != 0 {
			t.Fatalf("one reviewer sanctioned a protected account: %+v", ss)
		}
		// The first reviewer can neither claim it again nor decide it.
		if got, err := f.app.Reports.Claim(reviewer, review.ClaimRequest{N: 10}); err != nil || len(got) != 0 {
			t.Fatalf("the approving reviewer claimed %v, %v", got, err)
		}
		if _, err := f.app.Reports.Decide(reviewer, rc.Case, reports.Decision{Outcome: reports.Action, Policy: "conduct", Strike: true, Note: "x"}); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("the approving reviewer decided again: %v", err)
		}
		c, err = f.settle(second, rc.Case, true)
		if err != nil || c.State != reports.Decided || c.Sanction == "" {
			t.Fatalf("second reviewer: %+v, %v", c, err)
		}
	})
}

func TestDecisionNeedsTheLeaseAndGoodFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "alice", "mallory")
		rc := f.report("alice", "mallory", "fraud", reports.Context{})
		d := reports.Decision{Outcome: reports.Action, Policy: "conduct", Sanction: &reports.DecisionSanction{Kind: "restrict", Capabilities: []string{"pay.send"}, Duration: "72h"}, Note: "scam"}
		if _, err := f.app.Reports.Decide(reviewer, rc.Case, d); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("decided without a claim: %v", err)
		}
		if got, err := f.app.Reports.Claim(reviewer, review.ClaimRequest{N: 5, Lease: "10m"}); err != nil || len(got) != 1 || got[0].ID != rc.Case {
			t.Fatalf("claim: %v, %v", got, err)
		}
		if _, err := f.app.Reports.Decide(second, rc.Case, d); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("another reviewer decided a leased case: %v", err)
		}
		_, err := f.app.Reports.Decide(reviewer, rc.Case, reports.Decision{Outcome: "ban", Note: ""})
		if got := reportsFields(err); len(got) != 2 {
			t.Fatalf("bad decision: %v (fields %v), want outcome and note", err, got)
		}
		bad := d
		bad.Sanction = &reports.DecisionSanction{Kind: "restrict", Duration: "72h"}
		if _, err := f.app.Reports.Decide(reviewer, rc.Case, bad); errs.CodeOf(err) != errs.Invalid || !strings.HasPrefix(reportsFields(err)[0], "sanction.") {
			t.Fatalf("a restrict of nothing: %v", err)
		}
		c, err := f.app.Reports.Decide(reviewer, rc.Case, d)
		if err != nil {
			t.Fatal(err)
		}
		sn, err := f.app.Enforce.Get(service, c.Sanction)
		if err != nil || sn.Source != "report" || sn.Evidence[0] != "case:"+rc.Case || sn.Evidence[1] != "report:"+rc.ID {
			t.Fatalf("sanction %+v, %v: want the case and its report as evidence", sn, err)
		}
	})
}

func TestReportersHearTheOutcomeWithoutTheTargetsDetails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "alice", "mallory-the-target")
		if _, err := f.app.Accounts.Put(service, &accounts.Account{ID: "li", Region: "cn", Locale: "zh-CN", CreatedAt: epoch.Add(-year)}); err != nil {
			t.Fatal(err)
		}
		rc := f.report("alice", "mallory-the-target", "harassment", reports.Context{})
		f.report("li", "mallory-the-target", "harassment", reports.Context{})
		f.mustSettle(rc.Case, true)
		for _, who := range []string{"alice", "li"} {
			ns, err := f.app.Notices.List(service, who, "", 10)
			if err != nil || len(ns) != 1 {
				t.Fatalf("%s's notices: %v, %v", who, ns, err)
			}
			n := ns[0]
			if strings.Contains(n.Body, "mallory") || strings.Contains(n.Subject, "mallory") || !strings.Contains(n.Body, rc.Case) {
				t.Errorf("%s's notice names the target or not the case: %q", who, n.Body)
			}
			if want := map[string]string{"alice": "en", "li": "zh-CN"}[who]; n.Locale != want {
				t.Errorf("%s's notice in %s, want %s", who, n.Locale, want)
			}
		}
	})
}

func TestSignalsImposeOnlyWhatAPolicyAllows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{Rules: map[string]reports.Rule{
			"kw.emoji":   {Category: "spam", Weight: 1},
			"clf.spam.2": {Category: "spam", Weight: 1, Allow: &reports.Allowance{Capabilities: []string{"chat.send_link"}, For: time.Hour, MinScore: 0.9}},
		}})
		f.accounts(year, "bot1", "bot2")
		for range 20 {
			rc, err := f.app.Reports.Signal(service, &reports.Signal{Account: "bot1", Rule: "kw.emoji", Score: 1})
			if err != nil || rc.Sanction != "" {
				t.Fatalf("a keyword rule imposed %q, %v", rc.Sanction, err)
			}
		}
		low, err := f.app.Reports.Signal(service, &reports.Signal{Account: "bot2", Rule: "clf.spam.2", Score: 0.5})
		if err != nil || low.Sanction != "" {
			t.Fatalf("a signal under the rule's score imposed %q, %v", low.Sanction, err)
		}
		if ss, _ := f.app.Enforce.List(service, "bot1", "", 10); len(ss) != 0 {
			t.Fatalf("signals sanctioned bot1: %+v", ss)
		}
		rc, err := f.app.Reports.Signal(service, &reports.Signal{Account: "bot2", Rule: "clf.spam.2", Score: 0.95})
		if err != nil || rc.Sanction == "" {
			t.Fatalf("the allowed rule imposed nothing: %v", err)
		}
		sn, err := f.app.Enforce.Get(service, rc.Sanction)
		if err != nil || sn.Kind != "restrict" || len(sn.Scope.Services) != 0 || len(sn.Scope.Capabilities) != 1 ||
			sn.Authority.Kind != "automated" || sn.Authority.Rule != "clf.spam.2" || sn.End == nil || sn.End.Sub(sn.Start) > time.Hour {
			t.Fatalf("automated sanction %+v, %v", sn, err)
		}
	})
}

func TestCaseWebhooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{MinBurst: 3, BurstFactor: 1})
		err := db.Write(context.Background(), func(ctx context.Context) error {
			_, err := db.Webhooks().PutWebhook(ctx, &notify.Webhook{Name: "mod", URL: "https://mod.example/hook", Secret: "s",
				Events: []string{"case.opened", "case.flagged", "case.decided"}, CreatedAt: epoch, UpdatedAt: epoch})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		f.accounts(year, "victim")
		socks := names("sock", 3)
		f.accounts(time.Hour, socks...)
		var id string
		for _, s := range socks {
			id = f.report(s, "victim", "hate", reports.Context{Device: "farm"}).Case
		}
		f.mustSettle(id, false)
		if n, err := db.Count(context.Background(), "outbox"); err != nil || n != 3 {
			t.Fatalf("outbox holds %d events (%v), want case.opened, case.flagged and case.decided", n, err)
		}
	})
}
