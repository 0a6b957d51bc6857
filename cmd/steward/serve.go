package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/httpapi"
)

func (e *env) serveCmd() *cobra.Command {
	var f dbFlags
	var addr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.serve(cmd.Context(), f, addr)
		},
	}
	e.addDBFlags(cmd, &f)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	return cmd
}

// serve runs the API until ctx ends, then lets requests in flight finish (up to 30 s)
// before closing the database.
func (e *env) serve(ctx context.Context, f dbFlags, addr string) error {
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	a, err := openApp(ctx, f, log)
	if err != nil {
		return err
	}
	defer a.Close()
	stopSequencer, err := e.startSequencer(ctx, a, f, log)
	if err != nil {
		return err
	}
	defer stopSequencer() // before a.Close: the last entries get their checkpoint
	stopFollowing, err := a.followSanctions(ctx, log)
	if err != nil {
		return err
	}
	defer stopFollowing()
	defer a.runBulk(ctx, log)() // before a.Close: the batch in flight commits
	h := httpapi.NewHandler(httpapi.Deps{
		Enforce: a.enforce, Notices: a.notices, Webhooks: a.webhooks,
		Accounts: a.accounts, Keys: a.keys, Idempotency: a.db.Idempotency(), Tx: a.db,
		Ping: a.db.Ping, Logger: log, Version: version,
		Audit: a.audit,
		Bulk:  a.bulk,
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: countRequests(h, &a.requests), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	log.Info("serving", "addr", ln.Addr().String(), "database", a.db.Dialect(), "version", version)
	fmt.Fprintf(e.stdout, "steward listening on http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// countRequests keeps n at the number of requests h is serving.
func countRequests(h http.Handler, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		defer n.Add(-1)
		h.ServeHTTP(w, r)
	})
}
