package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stewardhq/steward/client"
)

func TestServeRefusesBadExportSettings(t *testing.T) {
	_, err := stewardErr(t, "serve", "--data-dir", t.TempDir(), "--export-ttl", "0s", "--export-source-wait", "-1h", "--export-max-part", "0")
	for _, flag := range []string{"export-ttl", "export-source-wait", "export-max-part"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Fatalf("serve with bad export settings: %v, want %s named", err, flag)
		}
	}
}

func TestTakeoutPublicURL(t *testing.T) {
	for addr, want := range map[string]string{":8080": "http://127.0.0.1:8080", "10.0.0.5:9000": "http://10.0.0.5:9000"} {
		c, err := takeoutFlags{ttl: 1, sourceWait: 1, maxPart: 1}.config("d", addr)
		if err != nil || c.BaseURL != want || c.Dir != "d/exports" {
			t.Errorf("%s: %+v, %v", addr, c, err)
		}
	}
	if c, _ := (takeoutFlags{ttl: 1, sourceWait: 1, maxPart: 1, publicURL: "https://steward.example"}).config("d", ":1"); c.BaseURL != "https://steward.example" {
		t.Errorf("--public-url ignored: %s", c.BaseURL)
	}
}

// Exports through the command line against a served SQLite database: an agent exports a
// banned user's data and follows it to its end; an admin puts, lists and deletes a source.
func TestExportsCommandLine(t *testing.T) {
	db := dbArgs(t, "sqlite")
	svcKey := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
	agent := lastLine(steward(t, append([]string{"keys", "create", "--role", "agent"}, db...)...))
	reviewer := lastLine(steward(t, append([]string{"keys", "create", "--role", "reviewer"}, db...)...))
	admin := lastLine(steward(t, append([]string{"keys", "create", "--role", "admin"}, db...)...))
	p := serve(t, db...)
	ctx := context.Background()
	body := `{"region": "cn", "verified": true, "created_at": "2020-01-01T00:00:00Z", "locale": "zh-CN"}`
	if _, err := client.New(p.url, svcKey, nil).Do(ctx, client.Request{Method: "PUT", Path: "/v1/accounts/u-1", Body: []byte(body)}, nil); err != nil {
		t.Fatal(err)
	}
	ban := `{"account": "u-1", "kind": "ban", "scope": {"services": ["*"]}, "reason_code": "fraud", "authority": {"kind": "automated", "rule": "r"}}`
	if _, err := client.New(p.url, reviewer, nil).Do(ctx, client.Request{Method: "POST", Path: "/v1/sanctions", Body: []byte(ban)}, nil); err != nil {
		t.Fatal(err)
	}
	out := steward(t, "exports", "start", "u-1", "--wait", "--url", p.url, "--key", agent)
	var x struct {
		ID, State string
		SHA256    string `json:"sha256"`
	}
	if err := json.Unmarshal([]byte(out), &x); err != nil || x.State != "done" || x.SHA256 == "" {
		t.Fatalf("start --wait: %s (%v)", out, err)
	}
	if out := steward(t, "exports", "show", "u-1", x.ID, "--url", p.url, "--key", agent); !strings.Contains(out, `"state": "done"`) {
		t.Fatalf("show: %s", out)
	}
	src := func(args ...string) string {
		t.Helper()
		return steward(t, append(append([]string{"exports", "sources"}, args...), "--url", p.url, "--key", admin)...)
	}
	if out := src("put", "photos", "--source-url", "https://93.184.215.14/export", "--secret", "0123456789abcdef"); !strings.Contains(out, `"name": "photos"`) || strings.Contains(out, "0123456789abcdef") {
		t.Fatalf("put: %s", out)
	}
	if _, err := stewardErr(t, "exports", "sources", "put", "local", "--source-url", "http://127.0.0.1:9/x", "--secret", "0123456789abcdef", "--url", p.url, "--key", admin); err == nil {
		t.Fatal("a loopback source was accepted without --webhook-allow-private")
	}
	if out := src("list"); !strings.Contains(out, "photos") {
		t.Fatalf("list: %s", out)
	}
	if out := src("delete", "photos"); !strings.Contains(out, "photos") {
		t.Fatalf("delete: %s", out)
	}
}
