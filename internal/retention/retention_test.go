package retention

import (
	"context"
	"errors"
	"testing"
	"time"
)

type inline struct{}

func (inline) Write(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
func (inline) AfterCommit(_ context.Context, f func())                         { f() }

// sweeps counts sweeps, failing each one when fail is set.
type sweeps struct {
	calls chan string
	fail  bool
}

func (s *sweeps) Expire(_ context.Context, kind string, _ time.Time, _ int) (int, error) {
	s.calls <- kind
	if s.fail {
		return 0, errors.New("disk full")
	}
	return 0, nil
}

func (s *sweeps) CheckpointStamps(context.Context, int64, int) ([]Stamp, error) { return nil, nil }
func (s *sweeps) DeleteCheckpoints(context.Context, []int64) (int, error)       { return 0, nil }

// Run sweeps at once, keeps going after a failure, and returns nil when its context ends.
func TestRunSweepsAndStops(t *testing.T) {
	for _, fail := range []bool{false, true} {
		st := &sweeps{calls: make(chan string, 100), fail: fail}
		sw := NewSweeper(st, inline{}, Config{Every: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- sw.Run(ctx) }()
		select {
		case <-st.calls:
		case <-time.After(20 * time.Second):
			t.Fatal("no sweep within 20 s of starting")
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run returned %v after its context ended (fail=%v), want nil", err, fail)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not stop within 20 s of its context ending")
		}
	}
}
