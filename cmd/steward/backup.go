package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/sqlstore"
)

// backupKeys are the key files a backup carries beside the data, by their name in it.
func (e *env) backupKeys(f dbFlags) map[string]string {
	return map[string]string{"audit.key": e.auditKeyPath(f), "master.key": e.masterKeyPath(f)}
}

func (e *env) backupCmd() *cobra.Command {
	var f dbFlags
	var to string
	cmd := &cobra.Command{
		Use:   "backup --to DIR",
		Short: "Write a consistent snapshot of the database and its keys into a new directory",
		Long: `Write a consistent snapshot of the database into DIR, which must not exist, while
steward serve keeps running: SQLite through VACUUM INTO, PostgreSQL as a COPY of every table
inside one repeatable-read transaction. DIR is written beside itself and renamed into place, so
it is the whole backup or absent. Its manifest.json lists every file with its size and SHA-256,
the schema version, the audit tree's size and root, every table's rows and the ledger's totals,
all read inside the snapshot. The audit log's signing key and the vault's master key are copied
in too (mode 0600): a backup is as secret as those keys.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return errs.Field("to", "is required: the new directory to write the backup into")
			}
			return e.backup(cmd.Context(), f, to)
		},
	}
	e.addDBFlags(cmd, &f)
	cmd.Flags().StringVar(&to, "to", "", "new directory to write the backup into (required)")
	cmd.AddCommand(e.backupVerifyCmd())
	return cmd
}

func (e *env) backup(ctx context.Context, f dbFlags, to string) error {
	db, err := sqlstore.Open(ctx, sqlstore.Config{URL: f.url, DataDir: f.dataDir, ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	m, err := db.Backup(ctx, to, sqlstore.BackupOptions{Version: version, Keys: e.backupKeys(f), Progress: e.progress(start)})
	if err != nil {
		return err
	}
	var rows int64
	for _, t := range m.Tables {
		rows += t.Rows
	}
	fmt.Fprintf(e.stdout, "backup of %s written to %s: %d rows in %d tables, audit tree %d entries (root %s), schema %d (%v)\n",
		m.Kind, to, rows, len(m.Tables), m.Audit.Size, m.Audit.Root, m.Schema, time.Since(start).Round(time.Millisecond))
	for name := range e.backupKeys(f) {
		if !slices.Contains(m.Keys, name) {
			fmt.Fprintf(e.stderr, "warning: no %s was found, so the backup holds none\n", name)
		}
	}
	return nil
}

// progress writes each step of long work to stderr with the time since start.
func (e *env) progress(start time.Time) func(step string) {
	return func(step string) {
		fmt.Fprintf(e.stderr, "%s… (%v)\n", step, time.Since(start).Round(time.Millisecond))
	}
}

func (e *env) backupVerifyCmd() *cobra.Command {
	var url string
	cmd := &cobra.Command{
		Use:   "verify DIR",
		Short: "Restore a backup into a scratch database and check it against its manifest",
		Long: `Check every file's size and SHA-256, restore the backup into a scratch database (a
temporary SQLite file; for a PostgreSQL backup, a scratch schema on the server --db names),
and check there: the schema version, every table's rows, the ledger's totals, the audit tree's
root at the recorded size recomputed from the restored entries, the whole audit log with the
backup's audit.key, and ledger verify's rules. Names every difference, and exits non-zero if
there is any. The scratch database is removed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.backupVerify(cmd.Context(), args[0], url)
		},
	}
	cmd.Flags().StringVar(&url, "db", e.getenv("STEWARD_DB"), "postgres:// URL of a server for the scratch schema (a PostgreSQL backup needs it)")
	return cmd
}

func (e *env) backupVerify(ctx context.Context, dir, url string) error {
	start := time.Now()
	c, err := sqlstore.VerifyBackup(ctx, dir, url, os.TempDir(), e.progress(start))
	if err != nil {
		return err
	}
	if len(c.Differences) > 0 {
		return fmt.Errorf("backup %s FAILED verification, %d differences:\n  %s", dir, len(c.Differences), strings.Join(c.Differences, "\n  "))
	}
	m := c.Manifest
	fmt.Fprintf(e.stdout, "backup %s OK: %d files match, %d tables restored, audit root %s at size %d recomputed from %d entries, ledger verify passes (%v)\n",
		dir, len(m.Files), len(m.Tables), m.Audit.Root, m.Audit.Size, c.Recomputed, time.Since(start).Round(time.Millisecond))
	return nil
}

func (e *env) restoreCmd() *cobra.Command {
	var from, dataDir, url string
	cmd := &cobra.Command{
		Use:   "restore --from DIR --data-dir NEW [--db URL]",
		Short: "Restore a backup into an empty data directory (and, for PostgreSQL, an empty schema)",
		Long: `Restore the backup in --from into --data-dir, which must not exist or be empty: it
receives the backup's keys and, for a SQLite backup, the database. A PostgreSQL backup restores
into the empty schema --db names. A target that is not empty is refused, and so is a backup
whose files do not match its manifest. Then steward serve --data-dir NEW serves it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var bad errs.Fields
			if from == "" {
				bad.Add("from", "is required: the backup's directory")
			}
			if dataDir == "" {
				bad.Add("data-dir", "is required: the new, empty data directory")
			}
			if err := bad.Err(); err != nil {
				return err
			}
			return e.restore(cmd.Context(), from, sqlstore.Config{DataDir: dataDir, URL: url})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the backup's directory (required)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "new, empty data directory (required)")
	cmd.Flags().StringVar(&url, "db", "", "postgres:// URL of an empty schema, for a PostgreSQL backup")
	return cmd
}

func (e *env) restore(ctx context.Context, from string, cfg sqlstore.Config) error {
	start := time.Now()
	cfg.Logger = slog.New(slog.DiscardHandler)
	m, err := sqlstore.RestoreBackup(ctx, from, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored the %s backup of %s (audit tree %d entries, schema %d) into %s (%v)\n",
		m.Kind, m.CreatedAt.Format(time.RFC3339), m.Audit.Size, m.Schema, cfg.DataDir, time.Since(start).Round(time.Millisecond))
	return nil
}

func (e *env) addBackupFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&e.backups.Dir, "backup-dir", "", "take backups on schedule into this directory (steward-<time> each); none when empty")
	cmd.Flags().DurationVar(&e.backups.Every, "backup-every", 6*time.Hour, "how often to take a backup (with --backup-dir)")
	cmd.Flags().IntVar(&e.backups.Keep, "backup-keep", 28, "how many of the newest backups to keep (with --backup-dir)")
}

// checkBackups refuses a schedule that cannot run, naming each bad flag.
func checkBackups(s sqlstore.BackupSchedule) error {
	var bad errs.Fields
	if s.Dir == "" {
		return nil
	}
	if s.Every <= 0 {
		bad.Add("backup-every", "must be a positive duration such as 6h")
	}
	if s.Keep < 1 {
		bad.Add("backup-keep", "must be at least 1")
	}
	return bad.Err()
}
