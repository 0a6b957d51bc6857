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
	"golang.org/x/sync/errgroup"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/httpapi"
	"github.com/stewardhq/steward/internal/logbuf"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/problem"
	"github.com/stewardhq/steward/internal/retention"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/vault"
	"github.com/stewardhq/steward/internal/web"
)

func (e *env) serveCmd() *cobra.Command {
	var f dbFlags
	var addr string
	var grace time.Duration
	var reach notify.Reach
	var keep retention.Config
	var tk takeoutFlags
	var names string
	var adminAddr string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API until SIGINT or SIGTERM",
		Long: `Serve the API and run the workers (audit sequencer, sanction feed, webhook delivery,
bulk runner, retention sweeper, takeout, and with --backup-dir the backups) until SIGINT or SIGTERM. Then requests in flight may finish for up to --grace;
a request still running after it (a long dry run, say) is cancelled, and can be made again.
The bulk batch in flight commits, and the sequencer signs a last checkpoint.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grace <= 0 {
				return errs.Field("grace", "must be a positive duration such as 30s or 5m")
			}
			err := checkRetention(keep)
			if err != nil {
				return err
			}
			if err := checkBackups(e.backups); err != nil {
				return err
			}
			e.retention = keep
			if e.takeout, err = tk.config(f.dataDir, addr); err != nil {
				return err
			}
			if e.accessLogNames, err = vault.ParseActorNames(names); err != nil {
				return err
			}
			admin, err := listenAdmin(adminAddr)
			if err != nil {
				return err
			}
			if admin != nil {
				defer admin.Close()
				ctx, stop := context.WithCancel(cmd.Context())
				defer stop()
				log := slog.New(slog.NewJSONHandler(e.stderr, nil))
				log.Info("admin listener (pprof)", "addr", admin.Addr().String())
				go serveAdmin(ctx, admin, log)
			}
			return e.serve(cmd.Context(), f, addr, grace, reach)
		},
	}
	e.addDBFlags(cmd, &f)
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().DurationVar(&grace, "grace", 30*time.Second, "how long requests in flight may finish after SIGINT or SIGTERM")
	cmd.Flags().BoolVar(&reach.AllowPrivate, "webhook-allow-private", false, "let webhooks reach loopback, link-local, private and unspecified addresses")
	cmd.Flags().DurationVar(&keep.Idempotency, "idempotency-ttl", retention.DefaultIdempotency, "how long a write's Idempotency-Key answers retries; after it a retry is a new request")
	cmd.Flags().DurationVar(&keep.Deliveries, "delivery-history", retention.DefaultDeliveries, "how long webhook delivery attempts are kept")
	cmd.Flags().StringVar(&names, "access-log-names", string(vault.NamesPseudonym),
		"how users' access logs name the staff who reached their data: pseudonym (stable, only Steward can tell who), name, or none (role and team only)")
	cmd.Flags().DurationVar(&keep.Notices, "notice-history", retention.DefaultNotices, "how long notices to users are kept")
	addTakeoutFlags(cmd, &tk)
	e.addBackupFlags(cmd)
	cmd.Flags().StringVar(&adminAddr, "admin-addr", "", "serve net/http/pprof on this loopback address (127.0.0.1:PORT); none by default")
	return cmd
}

// checkRetention refuses horizons that are not positive, naming each such flag.
func checkRetention(c retention.Config) error {
	var bad errs.Fields
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"idempotency-ttl", c.Idempotency}, {"delivery-history", c.Deliveries}, {"notice-history", c.Notices}} {
		if f.d <= 0 {
			bad.Add(f.name, "must be a positive duration such as 168h")
		}
	}
	return bad.Err()
}

// serve runs the API and the workers until ctx ends (or a worker fails), then lets
// requests in flight finish (up to grace), stops the workers (the bulk batch in flight
// commits, the sequencer signs a last checkpoint) and closes the database.
func (e *env) serve(ctx context.Context, f dbFlags, addr string, grace time.Duration, reach notify.Reach) error {
	// The log, a line per request among others, goes out in batches (see package logbuf);
	// warnings and errors at once.
	out := logbuf.New(e.stderr, 100*time.Millisecond, 64<<10)
	defer out.Close()
	return e.serveThen(ctx, f, addr, grace, reach, slog.New(out.Handler(slog.NewJSONHandler(out, nil))), nil)
}

// serveThen is serve, calling then (when not nil) once the API is listening, while the
// workers run; an error from then stops the server and is returned (steward demo loads
// its scenario this way).
func (e *env) serveThen(ctx context.Context, f dbFlags, addr string, grace time.Duration, reach notify.Reach, log *slog.Logger,
	then func(ctx context.Context, a *opened, url string) error) error {
	key, err := e.auditKey(f, log)
	if err != nil {
		return err
	}
	master, err := e.masterKey(f, log)
	if err != nil {
		return err
	}
	var inFlight atomic.Int64 // API requests being served
	a, err := openApp(ctx, f, log, app.Config{AuditKey: key, MasterKey: master, Retention: e.retention, Webhooks: reach, Takeout: e.takeout, Vault: vault.Config{Names: e.accessLogNames}, Bulk: bulk.Config{
		// While the API serves requests the bulk runner works 40% of the time, and flat
		// out otherwise. On 2 cores under a flood of checks (BenchmarkCheckDuringBulkExecute)
		// that leaves the check API 58-76% of its idle throughput and sanctions 6-7.5k/s;
		// half time left 51-69%, and flat out 37-43% (sanctioning 20k/s).
		Duty: 0.4, Busy: func() bool { return inFlight.Load() > 0 },
	}})
	if err != nil {
		return err
	}
	defer a.Close()
	if e.backups.Dir != "" {
		s := e.backups
		s.Options, s.Logger = sqlstore.BackupOptions{Version: version, Keys: e.backupKeys(f)}, log
		a.App.Backups = a.db.BackupWorker(s)
	}
	start := time.Now()
	n, err := a.Start(ctx)
	if err != nil {
		return err
	}
	log.Info("sanctions loaded", "active", n, "accounts", a.Index.Len(), "duration_ms", time.Since(start).Milliseconds())

	api := httpapi.NewHandler(httpapi.Deps{App: a.App, Ready: a.db.Ready, Logger: log, Version: version})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	pages := web.New(web.Deps{App: a.App, Logger: log})
	// Each API route gives its request body a deadline of its own, proportional to the
	// body it takes (see package httpapi); ReadTimeout bounds every other request.
	srv := &http.Server{Handler: countRequests(topMux(api, pages), &inFlight),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}

	log.Info("serving", "addr", ln.Addr().String(), "database", a.db.Dialect(), "version", version)
	fmt.Fprintf(e.stdout, "steward listening on http://%s\n", ln.Addr())
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if then != nil {
		go func() {
			if err := then(ctx, a, "http://"+ln.Addr().String()); err != nil {
				stop(err)
			}
		}()
	}
	if err := serveUntil(ctx, srv, ln, a.Workers(), grace, log); err != nil {
		return err
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

// serveUntil serves srv on ln and runs the workers under one group until ctx ends or a
// worker fails; then it lets the requests in flight finish (up to grace) before it stops
// the workers, and waits for them. It returns the first failure.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, workers map[string]app.Worker, grace time.Duration, log *slog.Logger) error {
	// The workers outlive ctx: they stop once the requests in flight have finished.
	wctx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWorkers()
	g, gctx := errgroup.WithContext(wctx)
	for name, w := range workers {
		g.Go(func() error {
			if err := w.Run(gctx); err != nil {
				log.Error("worker failed: stopping", "worker", name, "err", err)
				return fmt.Errorf("%s: %w", name, err)
			}
			return nil
		})
	}
	// Requests run under base, which ends once the grace is over.
	base, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRequests()
	srv.BaseContext = func(net.Listener) context.Context { return base }
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc: // the listener failed
		stopWorkers()
		return errors.Join(err, g.Wait())
	case <-ctx.Done():
	case <-gctx.Done(): // a worker failed
	}
	log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("requests still running after the grace are cancelled", "grace", grace.String())
		cancelRequests()
		err = srv.Close()
	}
	if err != nil {
		err = fmt.Errorf("shutdown: %w", err)
	} else if err = <-errc; errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	stopWorkers()
	return errors.Join(err, g.Wait())
}

// topMux is the server's whole URL space: the API under /v1/ and its operational
// routes, the console under /console/ and the portal under /portal/.
func topMux(api *httpapi.Handler, pages *web.Handler) http.Handler {
	mux := http.NewServeMux()
	for _, p := range api.Patterns() {
		mux.Handle(p, api)
	}
	for _, p := range pages.Patterns() {
		mux.Handle(p, pages)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, problem.For(errs.E(errs.NotFound, "no route for %s %s", r.Method, r.URL.Path), "", nil))
	})
	return httpapi.Canonical(mux)
}

// countRequests keeps n at the number of requests h is serving.
func countRequests(h http.Handler, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		defer n.Add(-1)
		h.ServeHTTP(w, r)
	})
}
