package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/client"
)

// A leaked sample investigated through the command line against a served SQLite
// database: rows from a share rank that share first; the investigation and the share
// are shown.
func TestLeaksCommandLine(t *testing.T) {
	db := dbArgs(t, "sqlite")
	svcKey := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
	adminKey := lastLine(steward(t, append([]string{"keys", "create", "--role", "admin"}, db...)...))
	secKey := lastLine(steward(t, append([]string{"keys", "create", "--role", "security"}, db...)...))
	p := serve(t, db...)
	svc := client.New(p.url, svcKey, nil)
	ctx := context.Background()
	do := func(c *client.Client, method, path, body string, out any) {
		t.Helper()
		if _, err := c.Do(ctx, client.Request{Method: method, Path: path, Body: []byte(body)}, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	for i := range 3 {
		id := fmt.Sprintf("c-%d", i)
		do(svc, "PUT", "/v1/accounts/"+id, `{"region": "cn", "verified": true, "created_at": "2020-01-01T00:00:00Z", "locale": "en"}`, nil)
		do(svc, "PUT", "/v1/accounts/"+id+"/pii", fmt.Sprintf(`{"name": "客户%d", "phone": "+86139%08d"}`, i, i), nil)
	}
	do(client.New(p.url, adminKey, nil), "PUT", "/v1/pii/purposes/partner", `{"roles": ["service"], "fields": ["name", "phone"], "per_actor_daily": 100}`, nil)
	var shared struct {
		Share   struct{ ID string }
		Records []struct{ Name, Phone string }
	}
	do(svc, "POST", "/v1/shares", `{"recipient": "logistics:sf", "purpose": "partner", "fields": ["name", "phone"], "accounts": ["c-0", "c-1"]}`, &shared)
	var sample strings.Builder
	for _, r := range shared.Records {
		fmt.Fprintf(&sample, "{\"name\": %q, \"phone\": %q}\n", r.Name, r.Phone)
	}
	file := filepath.Join(t.TempDir(), "sample.ndjson")
	if err := os.WriteFile(file, []byte(sample.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := steward(t, "leaks", "investigate", file, "--note", "seen on a forum", "--url", p.url, "--key", secKey)
	var l struct {
		ID       string
		Matched  int
		Suspects []struct{ ID string }
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil || l.Matched != 2 || len(l.Suspects) == 0 || l.Suspects[0].ID != shared.Share.ID {
		t.Fatalf("investigate: %s, %v", out, err)
	}
	if out := steward(t, "leaks", "show", l.ID, "--url", p.url, "--key", secKey); !strings.Contains(out, shared.Share.ID) || !strings.Contains(out, "seen on a forum") {
		t.Fatalf("show: %s", out)
	}
	if out := steward(t, "leaks", "share", shared.Share.ID, "--url", p.url, "--key", svcKey); !strings.Contains(out, `"recipient": "logistics:sf"`) || strings.Contains(out, "+86139") {
		t.Fatalf("share: %s", out)
	}
}
