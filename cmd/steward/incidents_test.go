package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
)

// Incidents and evidence through the command line against a served SQLite database: an
// incident over a selection is declared, shown, notified and reported (JSON and page); a
// chat is stored, shown with its proof's parts, and compared with a reordered copy.
func TestIncidentsAndEvidenceCommandLine(t *testing.T) {
	db := dbArgs(t, "sqlite")
	svcKey := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
	key := lastLine(steward(t, append([]string{"keys", "create", "--role", "security"}, db...)...))
	p := serve(t, db...)
	svc := client.New(p.url, svcKey, nil)
	for _, id := range []string{"alice", "bob"} {
		body := `{"region": "cn", "verified": true, "created_at": "2020-01-01T00:00:00Z", "locale": "zh-CN"}`
		if _, err := svc.Do(context.Background(), client.Request{Method: "PUT", Path: "/v1/accounts/" + id, Body: []byte(body)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	file := func(name, body string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cli := func(args ...string) string {
		t.Helper()
		return steward(t, append(args, "--url", p.url, "--key", key)...)
	}
	inc := file("incident.json", `{"title": "Orders leaked", "detected_at": "`+time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)+`",
		"data_types": ["phone"], "cause": "c", "harm": "h", "remedies": "r", "advice": "a", "contact": "privacy@example.com",
		"grade": "major", "affected": {"selection": "account.id == 'bob'"}}`)
	out := cli("incidents", "create", inc)
	id := jsonField(t, out, "id")
	if !strings.Contains(out, `"accounts": 1`) || !strings.Contains(out, `"deadline_state": "pending"`) {
		t.Fatalf("create: %s", out)
	}
	if out := cli("incidents", "show", id); !strings.Contains(out, `"time_left"`) {
		t.Fatalf("show: %s", out)
	}
	if out := cli("incidents", "notify", id); !strings.Contains(out, `"deadline_state": "met"`) {
		t.Fatalf("notify: %s", out)
	}
	if out := cli("incidents", "report", id); !strings.Contains(out, `"timeline"`) {
		t.Fatalf("report: %s", out)
	}
	if out := cli("incidents", "report", id, "--html"); !strings.HasPrefix(out, "<!doctype html>") || !strings.Contains(out, "Orders leaked") {
		t.Fatalf("report --html: %s", out)
	}
	chat := file("chat.json", `{"kind": "chat", "account": "bob", "messages": [{"at": "2026-05-01T09:00:00Z", "from": "bob", "text": "late"},
		{"at": "2026-05-01T09:01:00Z", "from": "agent", "text": "refunded"}]}`)
	ev := jsonField(t, cli("evidence", "store", chat), "id")
	if out := cli("evidence", "show", ev); !strings.Contains(out, `"refunded"`) {
		t.Fatalf("evidence show: %s", out)
	}
	presented := file("presented.json", `[{"from": "agent", "text": "refunded"}, {"from": "bob", "text": "late"}]`)
	if out := cli("evidence", "compare", ev, presented); !strings.Contains(out, `"same_order": false`) {
		t.Fatalf("compare: %s", out)
	}
}

// jsonField returns the string field name of the JSON object out.
func jsonField(t *testing.T, out, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	s, _ := m[name].(string)
	return s
}
