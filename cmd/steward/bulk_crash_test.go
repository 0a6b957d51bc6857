package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// A server killed with SIGKILL in the middle of an execution: the next one resumes it,
// and in the end every account is sanctioned exactly once.
func TestBulkSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			const n = 2000
			db := dbArgs(t, kind)
			svcKey := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
			key := lastLine(steward(t, append([]string{"keys", "create", "--role", "compliance"}, db...)...))
			proc, url := startProcess(t, db)
			pop := filepath.Join(t.TempDir(), "pop.ndjson")
			if err := os.WriteFile(pop, []byte(steward(t, "gen", "accounts", "--n", "2000")), 0o600); err != nil {
				t.Fatal(err)
			}
			steward(t, "accounts", "import", pop, "--url", url, "--key", svcKey)
			ctx := context.Background()
			c := client.New(url, key, nil)
			everyone := strings.Replace(sweepJSON, `account.region == \"border\" || account.attributes.days_in_border >= 1.0`, `true`, 1)
			everyone = everyone[:strings.Index(everyone, `"screens"`)] + everyone[strings.Index(everyone, `"sanction"`):]
			a, err := c.CreateBulkAction(ctx, []byte(everyone), "")
			if err != nil {
				t.Fatal(err)
			}
			zero := 0.0
			if _, err := c.ExecuteBulkAction(ctx, a.ID, client.BulkExecute{CanaryPercent: &zero}, ""); err != nil {
				t.Fatal(err)
			}
			for {
				if a, err = c.GetBulkAction(ctx, a.ID); err != nil {
					t.Fatal(err)
				}
				if a.Progress.Done > 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			proc.Process.Signal(syscall.SIGKILL)
			proc.Wait()
			if a.State == "done" {
				t.Fatalf("the execution finished before the kill; the test proves little")
			}
			t.Logf("killed at %d of %d done, state %s", a.Progress.Done, a.Progress.Total, a.State)

			_, url = startProcess(t, db)
			c = client.New(url, key, nil)
			deadline := time.Now().Add(60 * time.Second)
			for a.State != "done" {
				if time.Now().After(deadline) {
					t.Fatalf("not done a minute after the restart: %s %+v", a.State, a.Progress)
				}
				time.Sleep(20 * time.Millisecond)
				if a, err = c.GetBulkAction(ctx, a.ID); err != nil {
					t.Fatal(err)
				}
			}
			store, err := sqlstore.Open(ctx, configOf(db))
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			sanctions, _ := store.Count(ctx, "sanctions")
			notices, _ := store.Count(ctx, "notices")
			if a.Progress.Total != n || a.Progress.Done != n || sanctions != n || notices != n {
				t.Fatalf("total %d, done %d, %d sanctions, %d notices; want %d each", a.Progress.Total, a.Progress.Done, sanctions, notices, n)
			}
		})
	}
}

// configOf returns the database configuration dbArgs made.
func configOf(args []string) sqlstore.Config {
	var cfg sqlstore.Config
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--data-dir":
			cfg.DataDir = args[i+1]
		case "--db":
			cfg.URL = args[i+1]
		}
	}
	return cfg
}
