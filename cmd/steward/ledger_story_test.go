package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// TestSeedStoryWallets runs the seeds' wallet story on a real server: a police order
// freezes the wallets of a wallet app's users through a bulk action; their withdrawals are refused naming the
// order; funds are verified and released user by user, each release approved by a
// second person; a shop's compensation to a fraud victim is clawed back by exactly
// what was advanced when the police recover more; ledger verify passes.
func TestSeedStoryWallets(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := dbArgs(t, kind)
			key := func(role, name string) string {
				return lastLine(steward(t, append([]string{"keys", "create", "--role", role, "--name", name}, db...)...))
			}
			svcKey, carol, dave, agentKey := key("service", "wallet-app"), key("compliance", "carol"), key("compliance", "dave"), key("agent", "ann")
			p := serve(t, db...)
			ctx := context.Background()
			svc := client.New(p.url, svcKey, nil)
			call := func(c *client.Client, method, path string, body any, out any) (int, error) {
				b, _ := json.Marshal(body)
				if body == nil {
					b = nil
				}
				return c.Do(ctx, client.Request{Method: method, Path: path, Body: b}, out)
			}
			const users = 5
			putAccounts(t, svc, 0, users)
			for i := range users {
				if _, _, err := svc.Transfer(ctx, &client.Transfer{ID: fmt.Sprintf("dep-%d", i), From: "platform:deposits", To: fmt.Sprintf("user:u%d", i), Amount: 10_000, Currency: "CNY"}); err != nil {
					t.Fatal(err)
				}
			}

			// The order freezes every user's wallet: a bulk action over the wallet app's
			// users restricts their transfers and holds each wallet under the order, in
			// each batch's own transaction.
			comp := client.New(p.url, carol, nil)
			var act struct{ ID, State string }
			if _, err := call(comp, "POST", "/v1/bulk-actions", map[string]any{"name": "police freeze", "criteria": `account.region == "yn"`,
				"sanction":  map[string]any{"kind": "restrict", "scope": map[string]any{"capabilities": []string{"pay.transfer"}}, "reason_code": "police_freeze"},
				"authority": map[string]any{"kind": "legal_order", "issuer": "Shanghai PSB", "reference": "SH-2026-0042"},
				"hold":      map[string]any{"currency": "CNY", "amount": "all", "document_sha256": strings.Repeat("ab", 32)}}, &act); err != nil {
				t.Fatal(err)
			}
			if _, err := call(comp, "POST", "/v1/bulk-actions/"+act.ID+"/execute", map[string]any{"canary_percent": 0}, nil); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "the freeze to finish", func() bool {
				call(comp, "GET", "/v1/bulk-actions/"+act.ID, nil, &act)
				return act.State == "done"
			})
			var targets struct {
				Targets []struct{ Account, Sanction string }
			}
			if _, err := call(comp, "GET", "/v1/bulk-actions/"+act.ID+"/targets", nil, &targets); err != nil || len(targets.Targets) != users {
				t.Fatalf("targets: %+v %v", targets, err)
			}
			holds := make([]string, users)
			for _, tg := range targets.Targets { // each hold has its target's sanction ID
				var i int
				fmt.Sscanf(tg.Account, "u%d", &i)
				holds[i] = tg.Sanction
				var h struct{ Account, Reason string }
				if _, err := call(comp, "GET", "/v1/holds/"+tg.Sanction, nil, &h); err != nil || h.Account != tg.Account {
					t.Fatalf("hold of %s: %+v %v", tg.Account, h, err)
				}
			}
			// Withdrawals are refused, naming the order.
			_, err := call(svc, "POST", "/v1/withdrawals", map[string]any{"id": "wd-0", "account": "u0", "amount": 1, "currency": "CNY", "destination": "bank:1"}, nil)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Type != "urn:steward:problem:funds_held" || !strings.Contains(ce.Detail, "SH-2026-0042") {
				t.Fatalf("withdrawal under the order: %v", err)
			}

			// User u1 is verified: carol asks, carol may not approve, dave does.
			var rel struct{ ID, State string }
			if _, err := call(comp, "POST", "/v1/holds/"+holds[1]+"/releases", map[string]any{"amount": "all", "reason": "verified: salary only"}, &rel); err != nil || rel.State != "requested" {
				t.Fatalf("release: %+v %v", rel, err)
			}
			if _, err := call(comp, "POST", "/v1/holds/"+holds[1]+"/releases/"+rel.ID+"/approve", nil, nil); !errors.As(err, &ce) || ce.Status != 403 {
				t.Fatalf("self-approval: %v", err)
			}
			if _, err := call(client.New(p.url, dave, nil), "POST", "/v1/holds/"+holds[1]+"/releases/"+rel.ID+"/approve", nil, &rel); err != nil || rel.State != "applied" {
				t.Fatalf("approve: %+v %v", rel, err)
			}
			if _, err := call(svc, "POST", "/v1/withdrawals", map[string]any{"id": "wd-1", "account": "u1", "amount": 10_000, "currency": "CNY", "destination": "bank:1"}, nil); err != nil {
				t.Fatalf("withdrawal after release: %v", err)
			}
			if _, err := call(svc, "POST", "/v1/withdrawals", map[string]any{"id": "wd-2", "account": "u2", "amount": 1, "currency": "CNY", "destination": "bank:1"}, nil); !errors.As(err, &ce) || ce.Type != "urn:steward:problem:funds_held" {
				t.Fatalf("u2 still held: %v", err)
			}

			// A shop compensates a fraud victim, recoverable; the police recover more.
			if _, _, err := svc.Transfer(ctx, &client.Transfer{ID: "fund", From: "platform:deposits", To: "platform:compensation", Amount: 50_000, Currency: "CNY"}); err != nil {
				t.Fatal(err)
			}
			putAccounts(t, svc, 100, 1)
			var c struct {
				ID   string
				Owed int64
			}
			if _, err := call(client.New(p.url, agentKey, nil), "POST", "/v1/compensations", map[string]any{"account": "u100", "amount": 3_000, "currency": "CNY", "case_ref": "FRAUD-7", "recoverable": true}, &c); err != nil || c.Owed != 3_000 {
				t.Fatalf("compensate: %+v %v", c, err)
			}
			var r struct{ Repaid int64 }
			if _, err := call(comp, "POST", "/v1/compensations/"+c.ID+"/recoveries", map[string]any{"amount": 5_000, "reference": "police recovery R-1"}, &r); err != nil || r.Repaid != 3_000 {
				t.Fatalf("recovery: %+v %v", r, err)
			}
			bs, err := svc.Wallets(ctx, "u100")
			if err != nil || len(bs) != 1 || bs[0].Posted != 5_000 {
				t.Fatalf("victim: %+v %v", bs, err)
			}
			fund, _ := svc.Wallets(ctx, "u0")
			if fund[0].Held != 10_000 || fund[0].Available != 0 {
				t.Fatalf("u0: %+v", fund)
			}
			p.shutdown(t)
			if out := steward(t, append([]string{"ledger", "verify"}, db...)...); !strings.Contains(out, "ledger OK") {
				t.Fatalf("verify: %q", out)
			}
		})
	}
}
