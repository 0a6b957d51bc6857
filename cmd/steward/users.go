package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/principal"
)

func (e *env) usersCmd() *cobra.Command {
	users := &cobra.Command{Use: "users", Short: "Manage the console's staff users"}
	var f dbFlags
	var email, role, base string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a staff user and print their one-time set-up link as the last line of stdout",
		Long: "Create a console user with one role (" + fmt.Sprint(principal.Roles) + "), the same roles API keys have.\n" +
			"The set-up link lets them choose a password once, within 72 hours; Steward keeps only its hash.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := url.Parse(base); err != nil || !strings.HasPrefix(base, "http") {
				return fmt.Errorf("--url: %q is not an http(s) URL", base)
			}
			a, err := openApp(cmd.Context(), f, slog.New(slog.DiscardHandler), app.Config{})
			if err != nil {
				return err
			}
			defer a.Close()
			setup, u, err := a.Staff.CreateUser(cmd.Context(), email, principal.Role(role))
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "created user %s (role %s); the link is shown once and works once:\n", u.Email, u.Role)
			fmt.Fprintln(e.stdout, strings.TrimSuffix(base, "/")+"/console/setup?token="+url.QueryEscape(setup))
			return nil
		},
	}
	e.addDBFlags(create, &f)
	create.Flags().StringVar(&email, "email", "", "the user's email, which they sign in with (required)")
	create.Flags().StringVar(&role, "role", "", "the user's role (required)")
	create.Flags().StringVar(&base, "url", "http://127.0.0.1:8080", "the address the console is served at, for the link")
	create.MarkFlagRequired("email")
	create.MarkFlagRequired("role")
	users.AddCommand(create)
	return users
}
