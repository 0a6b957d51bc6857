package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/stewardhq/steward/internal/errs"
)

// listenAdmin listens on addr for the admin listener (net/http/pprof), which shows the
// process's memory and goroutines to whoever reaches it: it must be a loopback address.
// An empty addr is no listener.
func listenAdmin(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, errs.Field("admin-addr", "is not host:port: %v", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, errs.Field("admin-addr", "%q is not a loopback address (127.0.0.1 or ::1): pprof shows the process's memory to whoever reaches it", host)
	}
	return net.Listen("tcp", addr)
}

// serveAdmin serves pprof on ln until ctx ends.
func serveAdmin(ctx context.Context, ln net.Listener, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("admin listener stopped", "err", err)
	}
}
