package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// drillLoad writes accounts and transfers through the API from 8 clients until stopped,
// keeping the IDs of those acknowledged in the order they were.
type drillLoad struct {
	mu       sync.Mutex
	accounts []string
	xfers    []client.Transfer
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

const drillUsers = 20

func startDrillLoad(c *client.Client) *drillLoad {
	ctx, stop := context.WithCancel(context.Background())
	l := &drillLoad{stop: stop}
	for w := range 8 {
		l.wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				if w%2 == 0 {
					id := fmt.Sprintf("d%02d-%06d", w, i)
					if _, _, err := c.PutAccount(ctx, &client.Account{ID: id, Region: "yn", CreatedAt: time.Now(), Locale: "en"}, ""); err != nil {
						return // the server is gone
					}
					l.acked(&l.accounts, id)
					continue
				}
				id := fmt.Sprintf("x%02d-%06d", w, i)
				from, to := (w+i)%drillUsers, (w+2*i+1)%drillUsers
				if from == to {
					continue
				}
				tr := client.Transfer{ID: id, From: fmt.Sprintf("user:u%d", from), To: fmt.Sprintf("user:u%d", to), Amount: 1, Currency: "CNY"}
				if _, _, err := c.Transfer(ctx, &tr); err != nil {
					if strings.Contains(err.Error(), "insufficient_funds") {
						continue
					}
					return
				}
				l.mu.Lock()
				l.xfers = append(l.xfers, client.Transfer{ID: id, From: tr.From, To: tr.To, Amount: tr.Amount, Currency: tr.Currency})
				l.mu.Unlock()
			}
		})
	}
	return l
}

func (l *drillLoad) acked(list *[]string, id string) {
	l.mu.Lock()
	*list = append(*list, id)
	l.mu.Unlock()
}

// counts returns how many of each kind of write are acknowledged so far.
func (l *drillLoad) counts() (accounts, xfers int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accounts), len(l.xfers)
}

// waitFor waits until n more writes of each kind are acknowledged than now.
func (l *drillLoad) waitFor(t *testing.T, n int) {
	t.Helper()
	a0, x0 := l.counts()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if a, x := l.counts(); a >= a0+n && x >= x0+n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d more writes of each kind acknowledged within a minute", n)
		}
	}
}

// startFunded starts a serve process over a new database of kind with users accounts
// u0…, each funded with 1000 CNY, and returns the database, the process, and a client
// with a service key.
func startFunded(t *testing.T, kind string, users int) (sqlstore.Config, *exec.Cmd, *client.Client, string) {
	t.Helper()
	cfg := storetest.Config(t, kind)
	db := flagsOf(cfg)
	key := lastLine(steward(t, append([]string{"keys", "create", "--role", "service"}, db...)...))
	cmd, url := startProcess(t, db)
	c := client.New(url, key, nil)
	putAccounts(t, c, 0, users)
	for i := range users {
		if _, _, err := c.Transfer(context.Background(), &client.Transfer{ID: fmt.Sprintf("fund-%d", i), From: ledger.Deposits,
			To: fmt.Sprintf("user:u%d", i), Amount: 1000, Currency: "CNY"}); err != nil {
			t.Fatal(err)
		}
	}
	return cfg, cmd, c, key
}

// TestRestoreDrill loads writes through the API, takes a backup mid-load, SIGKILLs serve,
// restores the backup into a fresh directory, verifies it and serves from it: every
// write acknowledged before the backup began is there, and the restored server takes
// writes.
func TestRestoreDrill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server process")
	}
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg, cmd, c, key := startFunded(t, kind, drillUsers)
			db := flagsOf(cfg)
			load := startDrillLoad(c)
			load.waitFor(t, 50)
			load.mu.Lock()
			accounts, xfers := append([]string(nil), load.accounts...), append([]client.Transfer(nil), load.xfers...)
			load.mu.Unlock()
			dir := filepath.Join(t.TempDir(), "mid-load")
			steward(t, append([]string{"backup", "--to", dir}, db...)...)
			load.waitFor(t, 20) // the load goes on after the snapshot
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			load.stop()
			load.wg.Wait()

			if out := steward(t, append([]string{"backup", "verify", dir}, verifyArgs(cfg)...)...); !strings.Contains(out, "OK") {
				t.Fatalf("verify: %q", out)
			}
			to := storetest.Config(t, kind)
			to.DataDir = filepath.Join(to.DataDir, "restored")
			steward(t, append([]string{"restore", "--from", dir}, flagsOf(to)...)...)

			p := serve(t, flagsOf(to)...)
			rc := client.New(p.url, key, nil) // the keys are in the database restored
			ctx := context.Background()
			for _, id := range accounts {
				if _, err := rc.GetAccount(ctx, id); err != nil {
					t.Fatalf("account %s, acknowledged before the backup, is not restored: %v", id, err)
				}
			}
			for _, tr := range xfers {
				// A transfer's ID makes it idempotent: one restored answers as a replay.
				_, replayed, err := rc.Transfer(ctx, &tr)
				if err != nil || !replayed {
					t.Fatalf("transfer %s, acknowledged before the backup, is not restored (replayed=%v, err=%v)", tr.ID, replayed, err)
				}
			}
			if _, created, err := rc.PutAccount(ctx, &client.Account{ID: "after-restore", Region: "yn", CreatedAt: time.Now(), Locale: "en"}, ""); err != nil || !created {
				t.Fatalf("a write to the restored server: created=%v err=%v", created, err)
			}
			p.shutdown(t)
			if out := steward(t, append([]string{"ledger", "verify"}, flagsOf(to)...)...); !strings.Contains(out, "ledger OK") {
				t.Fatalf("ledger verify: %q", out)
			}
			if out := steward(t, append([]string{"audit", "verify"}, flagsOf(to)...)...); !strings.Contains(out, "audit log OK") {
				t.Fatalf("audit verify: %q", out)
			}
			t.Logf("%d accounts and %d transfers acknowledged before the backup all restored", len(accounts), len(xfers))
		})
	}
}
