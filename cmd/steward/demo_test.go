package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// steward demo against a fresh directory loads its scenario through the API and serves
// it; the test reads what it printed and checks the scenario through the API: the
// banned user's sanction, frozen wallet and access log (role, team and pseudonym, never
// a staff name), the sweep done with travellers released and appeals waiting, the
// legal order's hold and the suspected brigade; a printed console sign-in signs in and
// the printed portal link opens the banned user's portal. A directory holding anything
// is refused.
func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--data-dir", dir, "--addr", "127.0.0.1:0"}, noEnv, strings.NewReader(""), pw, stderr)
		pw.Close()
	}()
	env := map[string]string{}
	var out strings.Builder
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		l := lines.Text()
		out.WriteString(l + "\n")
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "export "); ok {
			name, val, _ := strings.Cut(strings.Fields(v)[0], "=")
			env[name] = val
		}
		if strings.Contains(l, "Ctrl-C stops the demo") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("demo did not stop within 30 s")
		}
	}()
	url := env["STEWARD"]
	if url == "" || env["USER_TOKEN"] == "" || len(env) != 9 {
		t.Fatalf("demo printed:\n%s\nstderr:\n%s", out.String(), stderr)
	}
	for _, want := range []string{"curl -s -H \"Authorization: Bearer $USER_TOKEN\" $STEWARD/v1/me/access-log", "/v1/appeals:claim"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no line %q in:\n%s", want, out.String())
		}
	}
	// A newcomer signs in to the console with a printed sign-in and opens the portal link.
	demoConsole(t, out.String(), "reviewer")

	get := func(key, path string, v any) {
		t.Helper()
		if code := call(t, "GET", url+path, key, "", v); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
	}

	var me struct {
		Account   string
		Sanctions []struct{ Kind string }
	}
	get(env["USER_TOKEN"], "/v1/me", &me)
	if len(me.Sanctions) != 1 || me.Sanctions[0].Kind != "ban" {
		t.Fatalf("the banned user: %+v", me)
	}
	var wallets struct {
		Wallets []struct{ Posted, Held, Available int64 }
	}
	get(env["USER_TOKEN"], "/v1/me/wallets", &wallets)
	if w := wallets.Wallets; len(w) != 1 || w[0].Posted == 0 || w[0].Held != w[0].Posted || w[0].Available != 0 {
		t.Fatalf("the banned user's wallet: %+v", w)
	}
	var log struct {
		Entries []struct {
			Action string
			Leaf   string
		}
	}
	get(env["USER_TOKEN"], "/v1/me/access-log?limit=100", &log)
	var actions []string
	for _, e := range log.Entries {
		actions = append(actions, e.Action)
	}
	// Written once, read masked and revealed by the agent, revealed by security for the
	// investigation, found by its phone number.
	if got := strings.Join(actions, " "); got != "pii.put pii.read pii.reveal pii.reveal pii.lookup" {
		t.Fatalf("the banned user's access log: %s", got)
	}
	teams := map[string]bool{}
	for _, e := range log.Entries {
		leaf, err := base64.StdEncoding.DecodeString(e.Leaf)
		if err != nil {
			t.Fatal(err)
		}
		var entry struct {
			Actor struct{ Name, Role, Team string }
		}
		json.Unmarshal(leaf, &entry)
		teams[entry.Actor.Team] = true
		for _, s := range demoStaff {
			if strings.Contains(string(leaf), `"`+s.Name+`"`) || !strings.HasPrefix(entry.Actor.Name, "staff-") {
				t.Fatalf("an access log entry names staff: %s", leaf)
			}
		}
	}
	if !teams["fraud"] || !teams["cs-hangzhou"] {
		t.Fatalf("the access log's teams: %v", teams)
	}

	var cases struct {
		Cases []struct {
			Reports int
			Flags   []string
		}
	}
	get(env["REVIEWER_KEY"], "/v1/cases?flag=suspected_brigade", &cases)
	if len(cases.Cases) != 1 || cases.Cases[0].Reports != 40 {
		t.Fatalf("suspected brigades: %+v", cases)
	}

	sweep := lineAfter(t, out.String(), "/v1/bulk-actions/")
	var act struct {
		State   string
		Appeals struct{ Filed, Released, Open int }
	}
	get(env["COMPLIANCE_KEY"], "/v1/bulk-actions/"+sweep, &act)
	if act.State != "done" || act.Appeals.Released != 12 || act.Appeals.Open == 0 {
		t.Fatalf("the sweep: %+v", act)
	}
	var hold struct {
		Authority struct{ Kind, Reference string }
	}
	get(env["COMPLIANCE_KEY"], "/v1/holds/"+lineAfter(t, out.String(), "/v1/holds/"), &hold)
	if hold.Authority.Kind != "legal_order" || hold.Authority.Reference != "HZ-2026-0318" {
		t.Fatalf("the hold: %+v", hold)
	}

	// A second demo into the same directory is refused.
	if _, err := stewardErr(t, "demo", "--data-dir", dir, "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a demo into a used directory: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) == 0 {
		t.Fatal("the demo left its directory empty")
	}
}

// lineAfter returns the path segment printed after prefix in out.
func lineAfter(t *testing.T, out, prefix string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, prefix)
	if !ok {
		t.Fatalf("no %s in:\n%s", prefix, out)
	}
	return strings.Fields(rest)[0]
}
