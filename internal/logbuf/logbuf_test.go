package logbuf_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/logbuf"
)

// sink is an io.Writer that counts its writes.
type sink struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *sink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLinesWaitForTheIntervalOrAFullBuffer(t *testing.T) {
	out := &sink{}
	w := logbuf.New(out, time.Hour, 100)
	fmt.Fprintln(w, "one")
	fmt.Fprintln(w, "two")
	if out.String() != "" {
		t.Fatalf("sent before the interval or a full buffer: %q", out.String())
	}
	fmt.Fprintln(w, strings.Repeat("x", 100)) // fills the buffer: all three go out together
	if want := "one\ntwo\n" + strings.Repeat("x", 100) + "\n"; out.String() != want || out.writes != 1 {
		t.Fatalf("got %q in %d writes, want %q in one", out.String(), out.writes, want)
	}
	fmt.Fprintln(w, "last")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out.String(), "x\nlast\n") {
		t.Fatalf("Close did not send what waited: %q", out.String())
	}
}

func TestTheIntervalSends(t *testing.T) {
	out := &sink{}
	w := logbuf.New(out, 5*time.Millisecond, 1<<20)
	defer w.Close()
	fmt.Fprintln(w, "waiting")
	for deadline := time.Now().Add(10 * time.Second); out.String() != "waiting\n"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing sent after 10 s: %q", out.String())
		}
	}
}

func TestWarningsGoOutAtOnceWithWhatCameBefore(t *testing.T) {
	out := &sink{}
	w := logbuf.New(out, time.Hour, 1<<20)
	defer w.Close()
	log := slog.New(w.Handler(slog.NewTextHandler(w, nil))).With("proc", "serve")
	log.Info("request", "n", 1)
	if out.String() != "" {
		t.Fatalf("an info line went out at once: %q", out.String())
	}
	log.Warn("worker failed")
	got := out.String()
	if !strings.Contains(got, "msg=request") || !strings.Contains(got, "msg=\"worker failed\"") || strings.Index(got, "request") > strings.Index(got, "worker") {
		t.Fatalf("after a warning the output is %q, want both lines in order", got)
	}
	if !strings.Contains(got, "proc=serve") {
		t.Fatalf("attributes lost: %q", got)
	}
}

func TestConcurrentLinesStayWholeAndInOrderPerWriter(t *testing.T) {
	out := &sink{}
	w := logbuf.New(out, time.Millisecond, 4096)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				fmt.Fprintf(w, "g%d line %05d %s\n", g, i, strings.Repeat("y", i%50))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 16000 {
		t.Fatalf("%d lines, want 16000", len(lines))
	}
	for _, l := range lines {
		var g string
		var i int
		var pad string
		if _, err := fmt.Sscanf(l, "%s line %d %s", &g, &i, &pad); err != nil && i%50 != 0 {
			t.Fatalf("torn line %q: %v", l, err)
		}
		if i != next[g] || len(pad) != i%50 {
			t.Fatalf("line %q out of order or torn (want %s line %d)", l, g, next[g])
		}
		next[g]++
	}
	if len(next) != 8 {
		t.Fatalf("lines of %d writers, want 8", len(next))
	}
}
