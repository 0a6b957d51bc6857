package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/client"
)

const sweepJSON = `{"name": "border sweep",
 "criteria": "account.region == \"border\" || account.attributes.days_in_border >= 1.0",
 "screens": [{"name": "business_trip", "expr": "has(account.attributes.trip_purpose) && account.attributes.trip_purpose == \"business\""},
             {"name": "clean_record", "expr": "account.attributes.fraud_score < 0.3"}],
 "sanction": {"kind": "suspend", "scope": {"services": ["pay"]}, "duration": "72h", "reason_code": "fraud_sweep"},
 "authority": {"kind": "legal_order", "issuer": "Border PSB", "reference": "2026-001"}}`

// The whole life of a bulk action through the command line, against a served SQLite
// database: generate and import a population, create, dry-run, execute with a canary,
// resume, revert; then a restarted server still knows it.
func TestBulkCommandLine(t *testing.T) {
	db := dbArgs(t, "sqlite")
	svcKey := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
	key := lastLine(steward(t, append([]string{"keys", "create", "--role", "compliance"}, db...)...))
	p := serve(t, db...)
	dir := t.TempDir()
	pop := filepath.Join(dir, "pop.ndjson")
	if err := os.WriteFile(pop, []byte(steward(t, "gen", "accounts", "--n", "2000", "--seed", "9")), 0o600); err != nil {
		t.Fatal(err)
	}
	steward(t, "accounts", "import", pop, "--url", p.url, "--key", svcKey)
	sweep := filepath.Join(dir, "sweep.json")
	if err := os.WriteFile(sweep, []byte(sweepJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) client.BulkAction {
		t.Helper()
		var a client.BulkAction
		out := steward(t, append(append([]string{"bulk"}, args...), "--url", p.url, "--key", key)...)
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("bulk %s printed %q: %v", args[0], out, err)
		}
		return a
	}
	a := cli("create", sweep, "--idempotency-key", "sweep-1")
	if a.State != "draft" || cli("create", sweep, "--idempotency-key", "sweep-1").ID != a.ID {
		t.Fatalf("create: %+v (a second create with its key must replay the first)", a)
	}
	if out := steward(t, "bulk", "create", sweep, "--url", p.url, "--key", key); !strings.Contains(out, `>= 1.0`) || strings.Contains(out, `\u003e`) {
		t.Fatalf("create printed %s; want >= as it is", out)
	}
	if b := cli("create", sweep); b.ID == a.ID {
		t.Fatalf("a second create without a key replayed the first (%s); want a new draft", a.ID)
	}
	var d client.BulkDryRun
	out := steward(t, "bulk", "dry-run", a.ID, "--url", p.url, "--key", key)
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.Accounts != 2000 || d.ToSanction == 0 {
		t.Fatalf("dry run: %v %+v", err, d.BulkCounts)
	}
	if a = cli("execute", a.ID, "--canary", "10"); a.State != "canary" || a.Progress.Done != a.Progress.CanaryCount {
		t.Fatalf("execute: %s %+v", a.State, a.Progress)
	}
	// Another execute is new work the server refuses (the action is past its draft), not
	// a replay of the first nor a clash of keys.
	if _, err := stewardErr(t, "bulk", "execute", a.ID, "--canary", "20", "--url", p.url, "--key", key); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("a second execute: %v; want a 409 for the state", err)
	}
	if a = cli("resume", a.ID); a.State != "done" || a.Progress.Done != d.ToSanction {
		t.Fatalf("resume: %s %+v, want done with %d", a.State, a.Progress, d.ToSanction)
	}
	if a = cli("revert", a.ID, "--reason", "travellers were caught"); a.State != "reverted" || a.Progress.Reverted != d.ToSanction {
		t.Fatalf("revert: %s %+v", a.State, a.Progress)
	}
	// Every target, one JSON line each, sanctioned and reverted.
	lines := strings.Split(strings.TrimSpace(steward(t, "bulk", "targets", a.ID, "--url", p.url, "--key", key)), "\n")
	if len(lines) != d.ToSanction {
		t.Fatalf("bulk targets printed %d lines, want %d", len(lines), d.ToSanction)
	}
	for i, line := range lines {
		var tg client.BulkTarget
		if err := json.Unmarshal([]byte(line), &tg); err != nil || tg.Ord != int64(i+1) || !tg.Sanctioned || !tg.Reverted || tg.Account == "" {
			t.Fatalf("target line %d: %s (%v)", i, line, err)
		}
	}

	// A screen that fails on accounts lacking its attribute: the dry run shows the
	// failures, execute is refused, and --allow-eval-errors leaves those accounts alone.
	careless := filepath.Join(dir, "careless.json")
	if err := os.WriteFile(careless, []byte(strings.Replace(sweepJSON, `has(account.attributes.trip_purpose) && `, "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	c := cli("create", careless)
	out = steward(t, "bulk", "dry-run", c.ID, "--url", p.url, "--key", key)
	var cd client.BulkDryRun
	if err := json.Unmarshal([]byte(out), &cd); err != nil || cd.EvalErrors == 0 || len(cd.FirstEvalError) == 0 {
		t.Fatalf("dry run of a failing screen: %v %s; want its eval errors and the first one", err, out)
	}
	if _, err := stewardErr(t, "bulk", "execute", c.ID, "--url", p.url, "--key", key); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("execute after a dry run with errors: %v; want a 409", err)
	}
	if c = cli("execute", c.ID, "--canary", "0", "--allow-eval-errors"); c.State != "done" || !c.AllowEvalErrors || c.Progress.EvalErrors != cd.EvalErrors {
		t.Fatalf("execute --allow-eval-errors: %s %+v, want done with %d left alone", c.State, c.Progress, cd.EvalErrors)
	}

	p.shutdown(t)
	p = serve(t, db...)
	if a = cli("status", a.ID); a.State != "reverted" {
		t.Fatalf("status after restart: %s", a.State)
	}
	if _, err := stewardErr(t, "bulk", "revert", a.ID, "--reason", "again", "--url", p.url, "--key", key); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("second revert: %v", err)
	}
}
