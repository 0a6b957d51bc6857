package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
)

func (e *env) migrateCmd() *cobra.Command {
	var f dbFlags
	var create bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (serve does this on start too)",
		Long: `Apply pending database migrations and print the schema version. On SQLite it refuses
a --data-dir without steward.db, which is most often a mistyped path, unless --create is
given. (steward serve and steward keys create create the database when there is none.)
On PostgreSQL it creates the schema in the database --db names, which must exist.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sqliteExists(f, create); err != nil {
				return err
			}
			a, err := openApp(cmd.Context(), f, slog.New(slog.DiscardHandler), app.Config{})
			if err != nil {
				return err
			}
			defer a.Close()
			st, err := a.db.Migrate(cmd.Context()) // Open applied them; this reports the version
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "database (%s) at schema version %d\n", a.db.Dialect(), st.Version)
			return nil
		},
	}
	e.addDBFlags(cmd, &f)
	cmd.Flags().BoolVar(&create, "create", false, "create steward.db in --data-dir if there is none (SQLite)")
	return cmd
}

// sqliteExists returns an error naming the file unless f names PostgreSQL, create is
// set, or --data-dir holds a SQLite database.
func sqliteExists(f dbFlags, create bool) error {
	if f.url != "" || create {
		return nil
	}
	path := filepath.Join(f.dataDir, sqlstore.SQLiteFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no Steward database at %s (%w): check --data-dir, or pass --create to create one", path, errors.Unwrap(err))
	}
	return nil
}

func (e *env) keysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	var f dbFlags
	var role, name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print it as the last line of stdout",
		Long: "Create an API key with one role (" + fmt.Sprint(principal.Roles) + "). The key is shown once; Steward keeps only its hash.\n" +
			"It creates the database (steward.db in --data-dir on SQLite) when there is none, so it can be the first command run.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := principal.ParseRole(role)
			if err != nil {
				return err
			}
			a, err := openApp(cmd.Context(), f, slog.New(slog.DiscardHandler), app.Config{})
			if err != nil {
				return err
			}
			defer a.Close()
			secret, k, err := a.Keys.Create(cmd.Context(), r, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "created key %q (role %s); it is shown once, store it now:\n", k.Name, k.Role)
			fmt.Fprintln(e.stdout, secret)
			return nil
		},
	}
	e.addDBFlags(create, &f)
	create.Flags().StringVar(&role, "role", "", "the key's role (required)")
	create.Flags().StringVar(&name, "name", "", "a name for logs and the audit log (default ROLE-xxxxxxxx)")
	create.MarkFlagRequired("role")
	keys.AddCommand(create)
	return keys
}
