package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stewardhq/steward/client"
)

var (
	reportLine = regexp.MustCompile(`(?m)^lines (\d+) to (\d+|the end): (imported|refused|not sent|no answer)`)
	runKey     = regexp.MustCompile(`--idempotency-key (\S+)`)
	replayed   = regexp.MustCompile(`(\d+) replayed`)
)

// A failed parallel import says, in lines of the file, exactly which chunks landed and
// which did not; run again with the key it printed, it replays those that landed and
// imports the rest.
func TestImportReportsWhatLanded(t *testing.T) {
	db := dbArgs(t, "sqlite")
	key := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
	p := serve(t, db...)
	c := client.New(p.url, key, nil)
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.ndjson"), filepath.Join(dir, "good.ndjson")
	writeAccounts(t, bad, 3000, 700)
	writeAccounts(t, good, 3000, -1)

	_, err := stewardErr(t, "accounts", "import", bad, "--url", p.url, "--key", key, "--chunk", "500", "--parallel", "2")
	if err == nil {
		t.Fatal("an import with a bad line 700 succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "lines 501 to 1000: refused, none of them imported: 400 Bad Request: invalid line 700: region") ||
		strings.Contains(msg, "line 200") || strings.Contains(msg, "earlier chunks") {
		t.Fatalf("the import said\n%s\nwant lines 501 to 1000 refused for line 700 of the file", msg)
	}
	// Every line is accounted for, in order, and what is said imported is in the database
	// and nothing else is.
	imported, next := 0, 1
	for _, m := range reportLine.FindAllStringSubmatch(msg, -1) {
		from, _ := strconv.Atoi(m[1])
		to, _ := strconv.Atoi(m[2])
		if m[2] == "the end" {
			to = 3000
		}
		if from != next {
			t.Fatalf("the report skips from line %d to %d:\n%s", next, from, msg)
		}
		next = to + 1
		if m[3] == "imported" {
			imported += to - from + 1
		}
		for _, line := range []int{from, to} {
			_, err := c.GetAccount(context.Background(), fmt.Sprintf("imp-%05d", line))
			if in := err == nil; in != (m[3] == "imported") {
				t.Fatalf("line %d is said %s, but in the database: %v\n%s", line, m[3], in, msg)
			}
		}
	}
	if next != 3001 || imported < 500 {
		t.Fatalf("the report covers lines up to %d and %d imported, want every line and lines 1 to 500 imported:\n%s", next-1, imported, msg)
	}
	k := runKey.FindStringSubmatch(msg)
	if k == nil {
		t.Fatalf("the report does not say how to resume:\n%s", msg)
	}

	out := steward(t, "accounts", "import", good, "--url", p.url, "--key", key, "--chunk", "500", "--parallel", "2", "--idempotency-key", k[1])
	want := fmt.Sprintf("imported 3000 accounts (%d created, 0 replaced, %d replayed", 3000-imported, imported)
	if !strings.Contains(out, want) {
		t.Fatalf("the resumed import said %q, want %q", out, want)
	}
	if r := replayed.FindStringSubmatch(out); r == nil || r[1] != strconv.Itoa(imported) {
		t.Fatalf("the resumed import said %q", out)
	}
}
