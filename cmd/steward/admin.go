package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/principal"
)

func (e *env) migrateCmd() *cobra.Command {
	var f dbFlags
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (serve does this on start too)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
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
	return cmd
}

func (e *env) keysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage API keys"}
	var f dbFlags
	var role, name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API key and print it as the last line of stdout",
		Long:  "Create an API key with one role (" + fmt.Sprint(principal.Roles) + "). The key is shown once; Steward keeps only its hash.",
		Args:  cobra.NoArgs,
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
