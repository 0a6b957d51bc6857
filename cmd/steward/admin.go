package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/auth"
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
	var role, name, team, expires string
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
			var ttl time.Duration
			if expires != "" {
				if ttl, err = auth.ParseTTL(expires); err != nil {
					return fmt.Errorf("--expires: %w", err)
				}
			}
			a, err := openApp(cmd.Context(), f, slog.New(slog.DiscardHandler), app.Config{})
			if err != nil {
				return err
			}
			defer a.Close()
			secret, k, err := a.Keys.CreateKey(cmd.Context(), auth.KeySpec{Role: r, Name: name, Team: team, TTL: ttl})
			if err != nil {
				return err
			}
			inTeam := ""
			if k.Team != "" {
				inTeam = ", team " + k.Team
			}
			fmt.Fprintf(e.stderr, "created key %q (role %s%s); it is shown once, store it now:\n", k.Name, k.Role, inTeam)
			fmt.Fprintln(e.stdout, secret)
			return nil
		},
	}
	e.addDBFlags(create, &f)
	create.Flags().StringVar(&role, "role", "", "the key's role (required)")
	create.Flags().StringVar(&name, "name", "", "a name for logs and the audit log (default ROLE-xxxxxxxx)")
	create.Flags().StringVar(&team, "team", "", "the team of the staff member holding it, shown with their role in users' access logs (default none)")
	create.Flags().StringVar(&expires, "expires", "", "refuse the key after this long: a Go duration or days, as 90d (default never)")
	create.MarkFlagRequired("role")
	keys.AddCommand(create, e.keysListCmd(), e.keysRevokeCmd(), e.keysRotateCmd())
	return keys
}

// withKeys opens the existing database of f and calls fn with its keyring.
func (e *env) withKeys(cmd *cobra.Command, f dbFlags, fn func(*auth.Keyring) error) error {
	if err := sqliteExists(f, false); err != nil {
		return err
	}
	a, err := openApp(cmd.Context(), f, slog.New(slog.DiscardHandler), app.Config{})
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a.Keys)
}

func (e *env) keysListCmd() *cobra.Command {
	var f dbFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List API keys, newest first: id, name, role, team, created, last used, expires, revoked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withKeys(cmd, f, func(ring *auth.Keyring) error {
				w := tabwriter.NewWriter(e.stdout, 2, 8, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tNAME\tROLE\tTEAM\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
				for after := ""; ; {
					list, err := ring.List(cmd.Context(), after, 500)
					if err != nil {
						return err
					}
					for _, k := range list {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Role, cmp.Or(k.Team, "-"), k.CreatedAt.Format(time.RFC3339),
							optTime(k.LastUsedAt), optTime(k.ExpiresAt), optTime(k.RevokedAt))
					}
					if len(list) < 500 {
						return w.Flush()
					}
					after = list[len(list)-1].ID
				}
			})
		},
	}
	e.addDBFlags(cmd, &f)
	return cmd
}

// optTime formats an optional time for a table: "-" when absent.
func optTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func (e *env) keysRevokeCmd() *cobra.Command {
	var f dbFlags
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key: every serve over the database refuses it within a second",
		Long:  "Revoke the API key with this ID (see steward keys list). The last admin key in use cannot be revoked: create another first.",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withKeys(cmd, f, func(ring *auth.Keyring) error {
				k, err := ring.Revoke(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "revoked key %s (%q, role %s)\n", k.ID, k.Name, k.Role)
				return nil
			})
		},
	}
	e.addDBFlags(cmd, &f)
	return cmd
}

func (e *env) keysRotateCmd() *cobra.Command {
	var f dbFlags
	var grace time.Duration
	cmd := &cobra.Command{
		Use:   "rotate NAME",
		Short: "Make a new secret for the key NAME, same role, and retire the old one after --grace; prints the new secret last",
		Long: "Make a new key with the name and role of the key NAME in use, and print its secret as the last line of stdout.\n" +
			"The old secret keeps working for --grace (or until it expires, if sooner), then is refused.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return e.withKeys(cmd, f, func(ring *auth.Keyring) error {
				secret, k, err := ring.Rotate(cmd.Context(), args[0], grace)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "rotated key %q (role %s): the old secret works for %v more; the new one is shown once, store it now:\n", k.Name, k.Role, grace)
				fmt.Fprintln(e.stdout, secret)
				return nil
			})
		},
	}
	e.addDBFlags(cmd, &f)
	cmd.Flags().DurationVar(&grace, "grace", 24*time.Hour, "how long the old secret keeps working")
	return cmd
}
