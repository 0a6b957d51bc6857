package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// call makes one API request and decodes the JSON answer into out.
func call(t *testing.T, method, url, key, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// Two `steward serve` on one database: a sanction imposed through one is enforced by
// the other's check API within a second, and so is its lift.
func TestTwoServersEnforceEachOthersSanctions(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			args := dbArgs(t, kind)
			compliance := lastLine(steward(t, append([]string{"keys", "create", "--role", "compliance"}, args...)...))
			service := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, args...)...))
			a, b := serve(t, args...), serve(t, args...)
			if code := call(t, "PUT", a.url+"/v1/accounts/u1", service, `{"region": "yn", "created_at": "2020-01-02T03:04:05Z", "locale": "en"}`, nil); code != 201 {
				t.Fatalf("put account: status %d", code)
			}
			allowed := func(p *program) bool {
				var r struct{ Allowed bool }
				if code := call(t, "POST", p.url+"/v1/check", service, `{"account": "u1", "capability": "pay.transfer"}`, &r); code != 200 {
					t.Fatalf("check: status %d", code)
				}
				return r.Allowed
			}
			waitFor := func(want bool) time.Duration {
				start := time.Now()
				for allowed(b) != want {
					if time.Since(start) > time.Second {
						t.Fatalf("the other server still answers allowed=%v after a second", !want)
					}
					time.Sleep(5 * time.Millisecond)
				}
				return time.Since(start)
			}
			var sn struct{ ID string }
			if code := call(t, "POST", a.url+"/v1/sanctions", compliance, `{"account": "u1", "kind": "restrict", "reason_code": "court-freeze",
				"scope": {"capabilities": ["pay.transfer"]}, "authority": {"kind": "legal_order", "issuer": "court", "reference": "2026-17"}}`, &sn); code != 201 {
				t.Fatalf("impose: status %d", code)
			}
			if allowed(a) {
				t.Fatal("the server that imposed the sanction does not enforce it")
			}
			t.Logf("%s: sanction enforced by the other server after %v", kind, waitFor(false))
			if code := call(t, "POST", a.url+"/v1/sanctions/"+sn.ID+"/lift", compliance, `{"reason": "order revoked"}`, nil); code != 200 {
				t.Fatalf("lift: status %d", code)
			}
			t.Logf("%s: lift enforced by the other server after %v", kind, waitFor(true))
		})
	}
}
