package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stewardhq/steward/client"
)

// Report cases through the command line against a served SQLite database: a report
// filed through the API is listed, shown, claimed and dismissed, and its reporter's
// record shows the dismissal.
func TestCasesCommandLine(t *testing.T) {
	db := dbArgs(t, "sqlite")
	svcKey := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
	key := lastLine(steward(t, append([]string{"keys", "create", "--role", "reviewer"}, db...)...))
	p := serve(t, db...)
	svc := client.New(p.url, svcKey, nil)
	ctx := context.Background()
	for _, id := range []string{"alice", "mallory"} {
		body := `{"region": "cn", "verified": true, "created_at": "2020-01-01T00:00:00Z", "locale": "en"}`
		if _, err := svc.Do(ctx, client.Request{Method: "PUT", Path: "/v1/accounts/" + id, Body: []byte(body)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var rc struct{ Case string }
	if _, err := svc.Do(ctx, client.Request{Method: "POST", Path: "/v1/reports",
		Body: []byte(`{"reporter": "alice", "target": "mallory", "category": "spam", "text": "links"}`)}, &rc); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		return steward(t, append(append([]string{"cases"}, args...), "--url", p.url, "--key", key)...)
	}
	var page struct {
		Cases []struct {
			ID     string  `json:"id"`
			Target string  `json:"target"`
			Score  float64 `json:"score"`
		} `json:"cases"`
	}
	if err := json.Unmarshal([]byte(cli("list", "--category", "spam")), &page); err != nil || len(page.Cases) != 1 || page.Cases[0].ID != rc.Case {
		t.Fatalf("list: %+v, %v", page, err)
	}
	if out := cli("show", rc.Case); !strings.Contains(out, `"reporter": "alice"`) {
		t.Fatalf("show: %s", out)
	}
	if out := cli("claim", "--n", "5", "--lease", "10m"); !strings.Contains(out, rc.Case) {
		t.Fatalf("claim: %s", out)
	}
	if _, err := stewardErr(t, "cases", "decide", rc.Case, "--outcome", "action", "--note", "x", "--url", p.url, "--key", key); err == nil || !strings.Contains(err.Error(), "policy") {
		t.Fatalf("an action without a policy: %v", err)
	}
	if out := cli("decide", rc.Case, "--outcome", "dismiss", "--note", "fine"); !strings.Contains(out, `"state": "decided"`) {
		t.Fatalf("decide: %s", out)
	}
	if out := cli("reporter", "alice"); !strings.Contains(out, `"dismissed": 1`) {
		t.Fatalf("reporter: %s", out)
	}
}
