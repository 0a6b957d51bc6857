package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// The aftermath of a sweep on a real server, on both databases: a bulk action over a
// generated population catches honest travellers (the platform had not recorded their
// business trips); the platform records the trips; every target appeals with a user
// token; re-screening releases exactly the travellers (counted by the test itself), each
// with an apology in their locale; two reviewers claim and decide the rest, neither
// receiving nor allowed to decide their own sanction (one decides through the CLI).
func TestServeSweepAftermath(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			args := dbArgs(t, kind)
			key := func(role, name string) string {
				return lastLine(steward(t, append([]string{"keys", "create", "--role", role, "--name", name}, args...)...))
			}
			service, carla, rita, ravi := key("service", "platform"), key("compliance", "carla"), key("reviewer", "rita"), key("reviewer", "ravi")
			srv := serve(t, args...)
			do := func(method, path, key string, body any, out any) int {
				t.Helper()
				var b []byte
				switch v := body.(type) {
				case nil:
				case string:
					b = []byte(v)
				default:
					b, _ = json.Marshal(v)
				}
				return call(t, method, srv.url+path, key, string(b), out)
			}
			put := func(a *accounts.Account) {
				t.Helper()
				body := map[string]any{"region": a.Region, "verified": a.Verified, "created_at": a.CreatedAt.Format(time.RFC3339Nano),
					"locale": a.Locale, "attributes": a.Attributes}
				if code := do("PUT", "/v1/accounts/"+a.ID, service, body, nil); code != 200 && code != 201 {
					t.Fatalf("put %s: %d", a.ID, code)
				}
			}

			pop := population.Generate(population.Config{N: 300, Seed: 5})
			var targets []*accounts.Account
			for _, a := range pop {
				if a.Attributes["trip_purpose"] == "business" {
					a.Attributes["trip_purpose"] = "unrecorded"
				}
				put(a)
				if a.Region == "border" || a.Attributes["days_in_border"].(float64) >= 1 {
					targets = append(targets, a)
				}
			}
			var act struct {
				ID       string
				State    string
				Progress struct{ Done int }
				Appeals  struct{ Filed, Released, Overturned, Upheld, Open int }
			}
			if code := do("POST", "/v1/bulk-actions", carla, `{"name": "border sweep",
				"criteria": "account.region == \"border\" || account.attributes.days_in_border >= 1.0",
				"screens": [{"name": "business_trip", "expr": "has(account.attributes.trip_purpose) && account.attributes.trip_purpose == \"business\""}],
				"sanction": {"kind": "suspend", "scope": {"services": ["chat", "pay"]}, "duration": "168h", "reason_code": "fraud_sweep"},
				"authority": {"kind": "automated", "rule": "border-2026"}, "qa_percent": 0}`, &act); code != 201 {
				t.Fatalf("create: %d", code)
			}
			if code := do("POST", "/v1/bulk-actions/"+act.ID+"/execute", carla, `{"canary_percent": 0}`, nil); code != 202 {
				t.Fatalf("execute: %d", code)
			}
			waitUntil(t, "the sweep to finish", func() bool {
				do("GET", "/v1/bulk-actions/"+act.ID, carla, nil, &act)
				return act.State == "done"
			})
			if act.Progress.Done != len(targets) {
				t.Fatalf("sanctioned %d, the test counts %d targets", act.Progress.Done, len(targets))
			}

			// The platform records the travellers' trips; rita sanctions one account herself.
			travellers := map[string]bool{}
			for _, a := range targets {
				if a.Attributes["trip_purpose"] == "unrecorded" {
					a.Attributes["trip_purpose"] = "business"
					travellers[a.ID] = true
					put(a)
				}
			}
			var own *accounts.Account // an account the sweep left alone
			for _, a := range pop {
				if !isTarget(targets, a.ID) {
					own = a
					break
				}
			}
			var ownSn struct{ ID string }
			if code := do("POST", "/v1/sanctions", rita, `{"account": "`+own.ID+`", "kind": "restrict", "scope": {"capabilities": ["chat.send"]},
				"reason_code": "spam", "authority": {"kind": "automated", "rule": "manual"}, "source": "manual"}`, &ownSn); code != 201 {
				t.Fatalf("rita's sanction: %d", code)
			}

			// Every target appeals, and so does the account rita sanctioned.
			appealOf := map[string]string{}
			for _, a := range append(append([]*accounts.Account{}, targets...), own) {
				var tok struct{ Token string }
				if code := do("POST", "/v1/accounts/"+a.ID+"/user-tokens", service, `{}`, &tok); code != 201 {
					t.Fatalf("token: %d", code)
				}
				var sns struct{ Sanctions []struct{ ID string } }
				do("GET", "/v1/me", tok.Token, nil, &sns)
				if len(sns.Sanctions) != 1 {
					t.Fatalf("%s stands under %d sanctions", a.ID, len(sns.Sanctions))
				}
				var ap struct{ ID, State string }
				if code := do("POST", "/v1/me/appeals", tok.Token, map[string]any{"sanction": sns.Sanctions[0].ID,
					"statement": "I was only there for work.", "evidence": []map[string]string{{"kind": "travel_record", "text": "company trip"}}}, &ap); code != 201 {
					t.Fatalf("appeal of %s: %d", a.ID, code)
				}
				appealOf[a.ID] = ap.ID
			}

			waitUntil(t, "re-screening", func() bool {
				do("GET", "/v1/bulk-actions/"+act.ID, carla, nil, &act)
				return act.Appeals.Released+act.Appeals.Open == len(targets) && act.Appeals.Released == len(travellers)
			})
			for id := range travellers {
				var ns struct {
					Notices []struct{ Event, Locale, Subject string }
				}
				do("GET", "/v1/accounts/"+id+"/notices", carla, nil, &ns)
				want := map[string]string{"en": "We are sorry", "zh-CN": "非常抱歉"}[ns.Notices[0].Locale]
				if ns.Notices[0].Event != "sanction.lifted" || want == "" || !strings.Contains(ns.Notices[0].Subject, want) {
					t.Fatalf("traveller %s's latest notice: %+v", id, ns.Notices[0])
				}
			}

			// Rita may not decide the appeal against her own sanction.
			if code := do("POST", "/v1/appeals/"+appealOf[own.ID]+"/decision", rita, `{"outcome": "overturn", "note": "mine"}`, nil); code != 403 {
				t.Fatalf("rita deciding her own: %d", code)
			}
			// Rita claims through the API, ravi through the CLI; each decides what they hold.
			decided := 0
			for round := 0; ; round++ {
				var claimed struct{ Appeals []struct{ ID string } }
				if code := do("POST", "/v1/appeals:claim", rita, `{"n": 20}`, &claimed); code != 200 {
					t.Fatalf("claim: %d", code)
				}
				for _, ap := range claimed.Appeals {
					if ap.ID == appealOf[own.ID] {
						t.Fatal("rita received the appeal against her own sanction")
					}
					outcome := map[bool]string{true: "overturn", false: "uphold"}[decided%4 == 0]
					if code := do("POST", "/v1/appeals/"+ap.ID+"/decision", rita, `{"outcome": "`+outcome+`", "note": "reviewed"}`, nil); code != 200 {
						t.Fatalf("decide: %d", code)
					}
					decided++
				}
				if len(claimed.Appeals) == 0 || decided >= (len(targets)-len(travellers))/2 {
					break
				}
			}
			cli := []string{"--url", srv.url, "--key", ravi}
			for {
				var claimed []struct{ ID string }
				out := steward(t, append([]string{"appeals", "claim", "--n", "50"}, cli...)...)
				if err := json.Unmarshal([]byte(out), &claimed); err != nil {
					t.Fatalf("appeals claim printed %q: %v", out, err)
				}
				if len(claimed) == 0 {
					break
				}
				for _, ap := range claimed {
					steward(t, append([]string{"appeals", "decide", ap.ID, "--outcome", "uphold", "--note", "the records show fraud"}, cli...)...)
					decided++
				}
			}
			if want := len(targets) - len(travellers) + 1; decided != want {
				t.Fatalf("decided %d, want %d", decided, want)
			}
			do("GET", "/v1/bulk-actions/"+act.ID, carla, nil, &act)
			if a := act.Appeals; a.Filed != len(targets) || a.Released != len(travellers) || a.Open != 0 || a.Upheld+a.Overturned != len(targets)-len(travellers) {
				t.Fatalf("the action's appeals: %+v (targets %d, travellers %d)", a, len(targets), len(travellers))
			}
			stats := steward(t, append([]string{"appeals", "stats"}, "--url", srv.url, "--key", carla)...)
			if !bytes.Contains([]byte(stats), []byte(`"by_reviewer"`)) || !strings.Contains(stats, "staff:ravi") || !strings.Contains(stats, "staff:rita") {
				t.Fatalf("stats: %s", stats)
			}
			t.Logf("%s: %d targets, %d travellers released by re-screening, %d decided by two reviewers", kind, len(targets), len(travellers), decided)
		})
	}
}

func isTarget(ts []*accounts.Account, id string) bool {
	for _, t := range ts {
		if t.ID == id {
			return true
		}
	}
	return false
}

// waitUntil polls cond for up to a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
