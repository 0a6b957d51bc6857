package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/httpapi"
	"github.com/stewardhq/steward/internal/web"
)

// worker is a test worker: it runs until its context ends, or fails when told to.
type worker struct {
	fail    chan error
	stopped atomic.Bool
	// during reports whether the request in flight was still being served when the
	// worker was stopped.
	during func() bool
	inside atomic.Bool
}

func (w *worker) Run(ctx context.Context) error {
	select {
	case err := <-w.fail:
		return err
	case <-ctx.Done():
		if w.during != nil {
			w.inside.Store(w.during())
		}
		w.stopped.Store(true)
		return nil
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// One worker's failure stops the server and every other worker, and is the error.
func TestServeStopsWhenAWorkerFails(t *testing.T) {
	failing, other := &worker{fail: make(chan error, 1)}, &worker{}
	srv := &http.Server{Handler: http.NotFoundHandler()}
	done := make(chan error, 1)
	go func() {
		done <- serveUntil(context.Background(), srv, listen(t), map[string]app.Worker{"failing": failing, "other": other}, time.Minute, slog.New(slog.DiscardHandler))
	}()
	failing.fail <- errors.New("disk on fire")
	select {
	case err := <-done:
		if err == nil || err.Error() != "failing: disk on fire" {
			t.Fatalf("serve returned %v, want the worker's failure", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve went on after a worker failed")
	}
	if !other.stopped.Load() {
		t.Fatal("the other worker was not stopped")
	}
}

// On shutdown the workers stop only after the requests in flight have finished.
func TestServeStopsWorkersAfterRequests(t *testing.T) {
	var serving atomic.Bool
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serving.Store(true)
		<-release
		serving.Store(false)
	})}
	w := &worker{during: serving.Load}
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serveUntil(ctx, srv, ln, map[string]app.Worker{"w": w}, time.Minute, slog.New(slog.DiscardHandler))
	}()
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	for !serving.Load() {
		time.Sleep(time.Millisecond)
	}
	cancel() // SIGTERM
	time.Sleep(50 * time.Millisecond)
	if w.stopped.Load() {
		t.Fatal("the worker stopped while a request was in flight")
	}
	close(release)
	if err := <-answered; err != nil {
		t.Fatalf("the request in flight: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !w.stopped.Load() || w.inside.Load() {
		t.Fatalf("worker stopped %v, during the request %v", w.stopped.Load(), w.inside.Load())
	}
}

// The top-level mux answers a path with . or .. segments with a problem, as the API
// does, rather than a bare redirect to the cleaned path.
func TestTopMuxRefusesDotSegments(t *testing.T) {
	h := topMux(httpapi.NewHandler(httpapi.Deps{}), web.New(web.Deps{}))
	for _, path := range []string{"/console/../v1/check", "/v1/accounts/../check", "/a//b"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", path, nil))
		if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s, want 400 problem details", path, w.Code, w.Header().Get("Content-Type"))
		}
	}
}

// A request still running when the grace is over (a long dry run, say) is cancelled:
// its context ends, and serve stops rather than wait for it.
func TestServeCancelsRequestsAfterTheGrace(t *testing.T) {
	started, cancelled := make(chan struct{}), make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // works until told to stop, as an evaluation does
		close(cancelled)
	})}
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveUntil(ctx, srv, ln, nil, 50*time.Millisecond, slog.New(slog.DiscardHandler)) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String()); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve still waits for a request after its grace")
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the request's context did not end after the grace")
	}
}
