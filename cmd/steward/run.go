package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/retention"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/takeout"
	"github.com/stewardhq/steward/internal/vault"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// env is what run takes from the operating system.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	retention      retention.Config        // serve's record horizons, from its flags
	takeout        takeout.Config          // serve's data export settings, from its flags
	accessLogNames vault.ActorNames        // how serve's vault names staff in access logs
	backups        sqlstore.BackupSchedule // serve's --backup-dir, --backup-every, --backup-keep
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
	root.AddCommand(e.auditCmd(), e.usersCmd(), e.statusCmd())
	root.AddCommand(e.bulkCmd(), e.appealsCmd(), e.casesCmd(), e.ledgerCmd(), e.vaultCmd(), e.genCmd(), e.exportsCmd(), e.leaksCmd())
	root.AddCommand(e.demoCmd())
	root.AddCommand(e.backupCmd(), e.restoreCmd())
	root.AddCommand(e.incidentsCmd(), e.evidenceCmd())
	return readable(root.ExecuteContext(ctx))
}

// dbFlags are the flags of every command that opens the database.
type dbFlags struct {
	dataDir string
	url     string
	// readOnly is set by commands that only read: they open an existing database read-only
	// (see sqlstore.Config); the others create and migrate it as needed.
	readOnly bool
}

func (e *env) addDBFlags(cmd *cobra.Command, f *dbFlags) {
	dataDir := e.getenv("STEWARD_DATA_DIR")
	if dataDir == "" {
		dataDir = "data"
	}
	cmd.Flags().StringVar(&f.dataDir, "data-dir", dataDir, "directory for steward.db (SQLite) and keys ($STEWARD_DATA_DIR)")
	cmd.Flags().StringVar(&f.url, "db", e.getenv("STEWARD_DB"), "postgres:// URL; empty for SQLite in --data-dir ($STEWARD_DB)")
}

// opened is Steward wired over one open database, as a command uses it.
type opened struct {
	*app.App
	db *sqlstore.DB
}

// openApp opens the database f names and wires Steward over it (see package app).
func openApp(ctx context.Context, f dbFlags, log *slog.Logger, cfg app.Config) (*opened, error) {
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: f.url, DataDir: f.dataDir, Logger: log, ReadOnly: f.readOnly})
	if err != nil {
		return nil, err
	}
	cfg.Logger = log
	a, err := app.New(db.Stores(), cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &opened{App: a, db: db}, nil
}

func (a *opened) Close() error { return a.db.Close() }

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
