package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// TestLedgerSurvivesSIGKILL floods a serve process with transfers, kills it, and checks
// after a restart that every acknowledged transfer is there and ledger verify passes.
func TestLedgerSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server process")
	}
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			const users = 50
			cfg, cmd, c, _ := startFunded(t, kind, users)
			db := flagsOf(cfg)

			ctx, stop := context.WithCancel(context.Background())
			var mu sync.Mutex
			var acked []string
			var wg sync.WaitGroup
			for w := range 16 {
				wg.Go(func() {
					for i := 0; ctx.Err() == nil; i++ {
						id := fmt.Sprintf("t%02d-%06d", w, i)
						tr := &client.Transfer{ID: id, From: fmt.Sprintf("user:u%d", (w+i)%users), To: fmt.Sprintf("user:u%d", (w+2*i+1)%users), Amount: 1, Currency: "CNY"}
						if tr.From == tr.To {
							continue
						}
						if _, _, err := c.Transfer(ctx, tr); err != nil {
							if strings.Contains(err.Error(), "insufficient_funds") {
								continue
							}
							return // the server is gone
						}
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
					}
				})
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				n := len(acked)
				mu.Unlock()
				if n >= 300 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			stop()
			wg.Wait()
			if len(acked) < 100 {
				t.Fatalf("only %d transfers acknowledged before the kill; the test proves little", len(acked))
			}

			// Restart: serve opens, and closes, the database again.
			cmd, _ = startProcess(t, db)
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
			if out := steward(t, append([]string{"ledger", "verify"}, db...)...); !strings.Contains(out, "ledger OK") {
				t.Fatalf("verify: %q", out)
			}
			st, err := sqlstore.Open(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			got, err := st.Ledger().GetTransfers(context.Background(), acked)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range acked {
				if got[id] == nil {
					t.Fatalf("acknowledged transfer %s lost after SIGKILL", id)
				}
			}
			t.Logf("%d acknowledged transfers all present after SIGKILL; ledger verify passes", len(acked))
		})
	}
}
