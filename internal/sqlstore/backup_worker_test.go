package sqlstore

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// logLines is a log a worker writes while the test reads it: each write is a line.
type logLines chan string

func (l logLines) Write(p []byte) (int, error) {
	l <- string(p)
	return len(p), nil
}

// seen counts the lines read so far that hold s, reading what is waiting.
func (l logLines) seen(read *[]string, s string) int {
	for more := true; more; {
		select {
		case line := <-l:
			*read = append(*read, line)
		default:
			more = false
		}
	}
	n := 0
	for _, line := range *read {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// eventually polls cond for up to a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %s", what)
		}
	}
}

// TestBackupWorker: a failing backup is logged, counted and retried until it succeeds;
// then backups come on schedule and only the newest Keep remain.
func TestBackupWorker(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	db, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	base := t.TempDir()
	blocker := filepath.Join(base, "backups")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil { // a file where the directory should be
		t.Fatal(err)
	}
	log, read := make(logLines, 10_000), []string{}
	w := db.BackupWorker(BackupSchedule{Dir: blocker, Every: 20 * time.Millisecond, Keep: 2, Retry: time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(log, nil))})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	eventually(t, "two failures counted", func() bool { return value(t, w.failures) >= 2 })
	if log.seen(&read, "backup failed: retrying") < 2 || value(t, w.last) != 0 {
		t.Fatalf("failures not logged, or a success recorded: %q", read)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	eventually(t, "four backups taken", func() bool { return log.seen(&read, "backup taken") >= 4 })
	eventually(t, "old backups removed", func() bool { return len(w.backups()) == 2 })
	if last := value(t, w.last); time.Since(time.Unix(0, int64(last*1e9))) > time.Minute {
		t.Fatalf("last success %v", last)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, name := range w.backups() {
		if _, err := ReadManifest(filepath.Join(blocker, name)); err != nil {
			t.Fatal(err)
		}
	}

	// Restarted over the directory, a worker removes what a crash left, and waits out
	// the newest backup's age before the next.
	if err := os.MkdirAll(filepath.Join(blocker, "."+backupPrefix+"20260101T000000.000Z.partial-1"), 0o700); err != nil {
		t.Fatal(err)
	}
	w2 := db.BackupWorker(BackupSchedule{Dir: blocker, Every: time.Hour, Keep: 2})
	ctx2, stop2 := context.WithCancel(context.Background())
	go func() { done <- w2.Run(ctx2) }()
	eventually(t, "the partial backup removed", func() bool {
		m, _ := filepath.Glob(filepath.Join(blocker, ".*"))
		return len(m) == 0
	})
	// It reports the newest backup just after removing the partial one: wait for it.
	eventually(t, "the restarted worker reports the newest backup", func() bool { return value(t, w2.last) != 0 })
	stop2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// value reads a gauge's or a counter's value.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
