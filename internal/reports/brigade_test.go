package reports_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/reports"
	"github.com/stewardhq/steward/internal/review"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// accurate gives each reporter a record of actioned reports in category: established,
// accurate reporters.
func (f *fixture) accurate(category string, reporters []string, times int) {
	f.t.Helper()
	for i := range times {
		target := fmt.Sprintf("past%02d", i)
		f.accounts(year, target)
		var id string
		for _, r := range reporters {
			id = f.report(r, target, category, reports.Context{}).Case
		}
		f.mustSettle(id, true)
	}
}

// TestBrigadeIsFlaggedAndSitsBelowCredibleReports is the "Done when": 300 reports against an innocent account within ten minutes from 300 new
// accounts sharing a device prefix make one flagged case that sits below a case of 12
// reports from established accurate reporters against a real abuser; no report sanctions
// anyone without a decision; every reporter gets the outcome notice.
func TestBrigadeIsFlaggedAndSitsBelowCredibleReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "innocent", "abuser")
		honest := names("honest", 12)
		f.accounts(3*year, honest...)
		f.accurate("harassment", honest, 3)

		brigade := names("sock", 300)
		f.accounts(2*24*time.Hour, brigade...)
		var flagged string
		for i, r := range brigade {
			rc := f.report(r, "innocent", "harassment", reports.Context{Device: fmt.Sprintf("android-7f3a:%d", i%3), IPPrefix: "203.0.113.0/24"})
			if flagged == "" && rc.Flagged {
				flagged = rc.Case
			}
			f.clock.add(2 * time.Second) // 300 reports in ten minutes
		}
		if flagged == "" {
			t.Fatal("300 reports from new accounts on one device prefix were not flagged")
		}
		var abuse string
		for _, r := range honest {
			abuse = f.report(r, "abuser", "harassment", reports.Context{}).Case
		}

		page, err := f.app.Reports.List(reviewer, reports.Filter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range page {
			ids = append(ids, c.ID)
		}
		if len(page) != 2 || page[0].ID != abuse || page[1].ID != flagged {
			t.Fatalf("queue %v: want the abuser's case %s above the brigade's %s", ids, abuse, flagged)
		}
		b := page[1]
		t.Logf("abuser's case: %d reports, score %.2f; brigade's: %d reports, score %.2f (weight %.2f, discounted %.2f), cluster %+v",
			page[0].Reports, page[0].Score, b.Reports, b.Score, b.Weight, b.Discounted, b.Cluster)
		if b.Reports != 300 || !b.Flagged(reports.FlagBrigade) || b.Cluster == nil {
			t.Fatalf("brigade case: %+v", b)
		}
		if cl := b.Cluster; cl.New < 290 || cl.SharedIP < 290 || cl.Related < 290 {
			t.Errorf("cluster %+v does not show new accounts on one IP prefix", cl)
		}
		if b.Score >= page[0].Score || b.Discounted == 0 {
			t.Errorf("brigade score %.2f (discounted %.2f) not below the abuser's %.2f", b.Score, b.Discounted, page[0].Score)
		}
		only, err := f.app.Reports.List(reviewer, reports.Filter{Flag: reports.FlagBrigade, Limit: 10})
		if err != nil || len(only) != 1 || only[0].ID != flagged {
			t.Errorf("flag filter: %v, %v", only, err)
		}

		// No report sanctioned anyone: only a decision does.
		for _, who := range []string{"innocent", "abuser"} {
			if ss, err := f.app.Enforce.List(service, who, "", 10); err != nil || len(ss) != 0 {
				t.Fatalf("reports alone sanctioned %s: %+v, %v", who, ss, err)
			}
		}
		// The reviewer is handed the abuser's case first.
		got, err := f.app.Reports.Claim(reviewer, review.ClaimRequest{N: 1})
		if err != nil || len(got) != 1 || got[0].ID != abuse {
			t.Fatalf("first claim %v, %v: want the abuser's case", got, err)
		}
		if _, err := f.settle(reviewer, abuse, true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.settle(reviewer, flagged, false); err != nil {
			t.Fatal(err)
		}
		if ss, _ := f.app.Enforce.List(service, "innocent", "", 10); len(ss) != 0 {
			t.Fatalf("the brigade's target was sanctioned: %+v", ss)
		}
		// Every reporter hears the outcome of the case they reported to.
		for _, set := range []struct {
			reporters []string
			id        string
		}{{honest, abuse}, {brigade, flagged}} {
			for _, r := range set.reporters {
				ns, err := f.app.Notices.List(service, r, "", 10)
				if err != nil {
					t.Fatal(err)
				}
				if len(ns) == 0 || string(ns[0].Event) != string(reports.CaseDecided) || !strings.Contains(ns[0].Body, set.id) {
					t.Fatalf("%s has no outcome notice of case %s: %+v", r, set.id, ns)
				}
			}
		}
	})
}

// TestBurstOfEstablishedReportersIsNotABrigade: a burst alone flags nothing when the
// reporters are unrelated and established.
func TestBurstOfEstablishedReportersIsNotABrigade(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{MinBurst: 5})
		f.accounts(year, "scammer")
		crowd := names("user", 30)
		f.accounts(3*year, crowd...)
		var id string
		for i, r := range crowd {
			rc := f.report(r, "scammer", "fraud", reports.Context{Device: fmt.Sprintf("dev-%d", i), IPPrefix: fmt.Sprintf("198.51.%d.0/24", i)})
			if rc.Flagged {
				t.Fatalf("report %d flagged a burst of unrelated established reporters", i)
			}
			id = rc.Case
		}
		if c := f.caseOf(id); c.Discounted != 0 || c.Score < 10 {
			t.Errorf("case %+v: every report should count", c)
		}
	})
}

// TestBaselineRaisesTheBurstThreshold: a target reported often anyway needs a bigger
// burst to be flagged.
func TestBaselineRaisesTheBurstThreshold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{MinBurst: 10, Window: time.Hour, Lookback: 10 * time.Hour, BurstFactor: 2})
		f.accounts(year, "celebrity")
		// 100 reports spread over the previous 10 hours: a baseline of 10 an hour.
		old := names("old", 100)
		f.accounts(year, old...)
		for _, r := range old {
			f.report(r, "celebrity", "spam", reports.Context{})
			f.clock.add(6 * time.Minute)
		}
		f.clock.add(time.Hour)
		socks := names("sock", 15)
		f.accounts(time.Hour, socks...)
		for _, r := range socks {
			if rc := f.report(r, "celebrity", "spam", reports.Context{Device: "same"}); rc.Flagged {
				t.Fatalf("15 reports in an hour flagged a target reported 10 times an hour (threshold 20)")
			}
		}
		more := names("more", 10)
		f.accounts(time.Hour, more...)
		flagged := false
		for _, r := range more {
			flagged = f.report(r, "celebrity", "spam", reports.Context{Device: "same"}).Flagged || flagged
		}
		if !flagged {
			t.Fatal("25 related reports in an hour, over twice the baseline, were not flagged")
		}
	})
}

func TestBadFaithZeroesWeight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{BadFaithFor: 48 * time.Hour})
		f.accounts(year, "troll", "honest", "victim", "other")
		rc := f.report("troll", "victim", "hate", reports.Context{})
		f.report("honest", "victim", "hate", reports.Context{})
		before := f.caseOf(rc.Case)
		c, err := f.app.Reports.MarkBadFaith(reviewer, rc.Case, []string{"troll", "troll"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Score >= before.Score || c.Discounted == 0 {
			t.Fatalf("bad faith left the score %.3f → %.3f", before.Score, c.Score)
		}
		if _, err := f.app.Reports.MarkBadFaith(reviewer, rc.Case, []string{"other"}); err == nil {
			t.Error("marked an account that made no report on the case")
		}
		next := f.report("troll", "other", "hate", reports.Context{})
		if got := f.caseOf(next.Case); got.Score != 0 {
			t.Errorf("a reporter in bad faith added %.3f", got.Score)
		}
		f.clock.add(72 * time.Hour)
		later := f.report("troll", "honest", "hate", reports.Context{})
		if got := f.caseOf(later.Case); got.Score == 0 {
			t.Error("the bad-faith mark did not expire")
		}
	})
}

// TestConcurrentReportsShareOneCase: reports arriving together about one target still
// merge into one case, counted once each.
func TestConcurrentReportsShareOneCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{})
		f.accounts(year, "target")
		rs := names("r", 40)
		f.accounts(year, rs...)
		var wg sync.WaitGroup
		cases := make([]string, len(rs))
		for i, r := range rs {
			wg.Go(func() {
				rc, err := f.app.Reports.Report(service, &reports.Report{Reporter: r, Target: "target", Category: "spam"})
				if err != nil {
					t.Error(err)
					return
				}
				cases[i] = rc.Case
			})
		}
		wg.Wait()
		for _, c := range cases {
			if c != cases[0] {
				t.Fatalf("concurrent reports went to cases %s and %s", cases[0], c)
			}
		}
		if c := f.caseOf(cases[0]); c.Reports != len(rs) {
			t.Fatalf("case counts %d reports, want %d", c.Reports, len(rs))
		}
	})
}

func TestSignalsJoinTheCaseWithTheirRuleWeight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newFixture(t, db, reports.Config{Rules: map[string]reports.Rule{"kw.scam": {Category: "fraud", Weight: 2}}})
		f.accounts(year, "alice", "mallory")
		rep := f.report("alice", "mallory", "fraud", reports.Context{})
		before := f.caseOf(rep.Case).Score
		sg, err := f.app.Reports.Signal(service, &reports.Signal{Account: "mallory", Rule: "kw.scam", Score: 0.5, Detail: "wire me"})
		if err != nil || sg.Case != rep.Case {
			t.Fatalf("signal: %+v, %v; want case %s", sg, err, rep.Case)
		}
		c := f.caseOf(rep.Case)
		if c.Signals != 1 || c.Score-before != 1 {
			t.Fatalf("signal added %.3f to %+v, want 1 (score 0.5 × weight 2)", c.Score-before, c)
		}
		_, err = f.app.Reports.Signal(service, &reports.Signal{Account: "", Rule: "Bad Rule", Score: 2})
		if n := len(reportsFields(err)); n != 3 {
			t.Fatalf("bad signal: %v, want 3 fields", err)
		}
	})
}
