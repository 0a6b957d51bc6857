package main

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/sqlstore"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// env is what run takes from the operating system.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run parses args and runs the command they name.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "steward",
		Short:         "Steward: account governance with due process",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(e.serveCmd(), e.migrateCmd(), e.keysCmd(), e.accountsCmd(), e.versionCmd())
	root.AddCommand(e.auditCmd())
	root.AddCommand(e.bulkCmd(), e.genCmd())
	return root.ExecuteContext(ctx)
}

// dbFlags are the flags of every command that opens the database.
type dbFlags struct {
	dataDir string
	url     string
}

func (e *env) addDBFlags(cmd *cobra.Command, f *dbFlags) {
	dataDir := e.getenv("STEWARD_DATA_DIR")
	if dataDir == "" {
		dataDir = "data"
	}
	cmd.Flags().StringVar(&f.dataDir, "data-dir", dataDir, "directory for steward.db (SQLite) and keys ($STEWARD_DATA_DIR)")
	cmd.Flags().StringVar(&f.url, "db", e.getenv("STEWARD_DB"), "postgres:// URL; empty for SQLite in --data-dir ($STEWARD_DB)")
}

// app is Steward wired together over one database.
type app struct {
	db       *sqlstore.DB
	recorder *audit.Recorder
	accounts *accounts.Service
	keys     *auth.Keyring
	audit    *audit.Log
	index    *enforce.Index
	follower *enforce.Follower
	enforce  *enforce.Service
	notices  *notify.Notifier
	webhooks *notify.Webhooks
	bulk     *bulk.Service
	requests atomic.Int64 // API requests in flight (see countRequests)
}

func openApp(ctx context.Context, f dbFlags, log *slog.Logger) (*app, error) {
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: f.url, DataDir: f.dataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	rec := audit.NewRecorder(db.Audit())
	ix := enforce.NewIndex()
	notices := notify.NewNotifier(db.Notices(), db.Webhooks(), db.Accounts(), "en")
	sanctions := enforce.NewService(db.Sanctions(), db, rec, ix, enforce.Config{Announcer: notices})
	a := &app{
		db:       db,
		recorder: rec,
		accounts: accounts.NewService(db.Accounts(), db, rec),
		keys:     auth.NewKeyring(db.Keys(), db, rec),
		audit:    audit.NewLog(db.Audit(), db),
		index:    ix,
		follower: enforce.NewFollower(db.Sanctions(), ix, log),
		enforce:  sanctions,
		notices:  notices,
		webhooks: notify.NewWebhooks(db.Webhooks(), db, rec),
	}
	// While the API serves requests the bulk runner works 40% of the time, and flat out
	// otherwise. On 2 cores under a flood of checks (BenchmarkCheckDuringBulkExecute)
	// that leaves the check API 58-76% of its idle throughput and sanctions 6-7.5k/s;
	// half time left 51-69%, and flat out 37-43% (sanctioning 20k/s).
	a.bulk, err = bulk.NewService(db.BulkActions(), db.Accounts(), sanctions, db, rec,
		bulk.Config{Duty: 0.4, Busy: func() bool { return a.requests.Load() > 0 }})
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) Close() error { return a.db.Close() }

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print Steward's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(e.stdout, "steward "+version+"\n")
			return err
		},
	}
}
