package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/sqlstore"
)

// TestMain lets a test start this test binary as the steward program, as a separate
// process it can kill.
func TestMain(m *testing.M) {
	if os.Getenv("STEWARD_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startProcess starts `steward serve` as a separate process that the test can kill.
func startProcess(t *testing.T, db []string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0"}, db...)...)
	cmd.Env = append(os.Environ(), "STEWARD_TEST_RUN_MAIN=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	return cmd, strings.TrimSpace(strings.TrimPrefix(line, "steward listening on "))
}

// Every write that answered 2xx is still there after the process is killed mid-flood.
func TestAcknowledgedWritesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills a server process")
	}
	dir := t.TempDir()
	key := lastLine(steward(t, "keys", "create", "--role", "service", "--data-dir", dir))

	cmd, url := startProcess(t, []string{"--data-dir", dir})
	c := client.New(url, key, nil)

	ctx, stop := context.WithCancel(context.Background())
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("w%02d-%06d", w, i)
				a := &client.Account{ID: id, Region: "yn", CreatedAt: time.Now(), Locale: "en"}
				if _, _, err := c.PutAccount(ctx, a, ""); err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	// Kill it once enough writes are acknowledged for the test to prove something,
	// however loaded the machine is.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	stop()
	wg.Wait()
	if len(acked) < 100 {
		t.Fatalf("only %d writes acknowledged before the kill; the test proves little", len(acked))
	}

	db, err := sqlstore.Open(context.Background(), sqlstore.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := db.Accounts()
	for _, id := range acked {
		if _, err := store.Get(context.Background(), id); err != nil {
			t.Fatalf("acknowledged write %s lost after SIGKILL: %v", id, err)
		}
	}
	t.Logf("%d acknowledged writes all present after SIGKILL", len(acked))
}
