package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/retention"
)

func (e *env) demoCmd() *cobra.Command {
	var f dbFlags
	var addr string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load a realistic scenario into a fresh data directory, then serve it",
		Long: `Create a fresh data directory (a new temporary one unless --data-dir names an empty or
missing one), load a scenario through the API as a platform and its staff would (a
population with a border region; a sweep that caught honest travellers, their appeals,
some released by re-screening; a banned account's wallet frozen under a police order;
personal data read and revealed for a purpose; reports, among them a suspected
brigade), then serve it as steward serve does, printing a console sign-in per role
(password steward-demo-2026), a portal link for the banned account, an API key per
role, a user token for the banned account and curl lines to try. SQLite only; stop with Ctrl-C.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := freshDir(&f); err != nil {
				return err
			}
			e.retention = retention.Config{Idempotency: retention.DefaultIdempotency, Deliveries: retention.DefaultDeliveries, Notices: retention.DefaultNotices}
			// The server's own log goes to a file: the terminal is for the demo.
			logf, err := os.OpenFile(f.dataDir+"/steward.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return err
			}
			defer logf.Close()
			log := slog.New(slog.NewJSONHandler(logf, nil))
			fmt.Fprintf(e.stderr, "steward demo: data directory %s (the server's log is steward.log there)\n", f.dataDir)
			return e.serveThen(cmd.Context(), f, addr, 30*time.Second, notify.Reach{}, log, func(ctx context.Context, a *opened, url string) error {
				keys, err := demoKeys(ctx, a.Keys)
				if err != nil {
					return err
				}
				start := time.Now()
				sc, err := loadDemo(ctx, url, keys, func(step string) { fmt.Fprintf(e.stderr, "  loading %s\n", step) })
				if err != nil {
					return err
				}
				ins, err := demoSignIns(ctx, a.Staff)
				if err != nil {
					return err
				}
				portal, err := demoPortalLink(ctx, sc)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "loaded in %v\n", time.Since(start).Round(100*time.Millisecond))
				printDemo(e.stdout, sc, ins, portal)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "an empty or missing directory to create the demo in (default a new temporary directory)")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	return cmd
}

// freshDir makes f's data directory, a new temporary one when none is named, and
// refuses one that holds anything.
func freshDir(f *dbFlags) error {
	if f.dataDir == "" {
		dir, err := os.MkdirTemp("", "steward-demo-")
		f.dataDir = dir
		return err
	}
	entries, err := os.ReadDir(f.dataDir)
	switch {
	case os.IsNotExist(err):
		return os.MkdirAll(f.dataDir, 0o700)
	case err != nil:
		return err
	case len(entries) > 0:
		return errs.Field("data-dir", "%s is not empty: the demo loads its scenario only into a fresh directory", f.dataDir)
	}
	return nil
}

// printDemo prints what a newcomer needs: the console's sign-ins, the portal link, the
// keys, the token and lines to paste.
func printDemo(w io.Writer, sc *demoScenario, ins []demoSignIn, portal string) {
	fmt.Fprintf(w, "\nSteward demo ready at %s\n", sc.URL)
	printConsole(w, sc.URL, ins, portal)
	fmt.Fprintf(w, "\nAPI keys, one per role (export them to paste the lines below):\n")
	for _, s := range demoStaff {
		fmt.Fprintf(w, "  export %s_KEY=%s   # %s, team %s\n", upper(s.Role), sc.Keys[s.Role], s.Name, s.Team)
	}
	fmt.Fprintf(w, "  export USER_TOKEN=%s   # end user %s: banned, wallet frozen\n", sc.BannedToken, sc.Banned)
	fmt.Fprintf(w, "  export STEWARD=%s\n\nTry:\n", sc.URL)
	lines := []struct{ what, line string }{
		{"the banned user's own view: sanctions, what still works, how to appeal", `curl -s -H "Authorization: Bearer $USER_TOKEN" $STEWARD/v1/me`},
		{"their wallet: the legal order's hold, what is withdrawable", `curl -s -H "Authorization: Bearer $USER_TOKEN" $STEWARD/v1/me/wallets`},
		{"who accessed their personal data (role, team, pseudonym), each entry with a proof", `curl -s -H "Authorization: Bearer $USER_TOKEN" $STEWARD/v1/me/access-log`},
		{"the border sweep: targets, screens, appeals released by re-screening", `curl -s -H "Authorization: Bearer $COMPLIANCE_KEY" $STEWARD/v1/bulk-actions/` + sc.Sweep},
		{"claim appeals waiting for a reviewer", `curl -s -X POST -H "Authorization: Bearer $REVIEWER_KEY" $STEWARD/v1/appeals:claim -d '{"n": 5}'`},
		{"the suspected brigade's case, with its cluster", `curl -s -H "Authorization: Bearer $REVIEWER_KEY" "$STEWARD/v1/cases?flag=suspected_brigade"`},
		{"the hold under the police order", `curl -s -H "Authorization: Bearer $COMPLIANCE_KEY" $STEWARD/v1/holds/` + sc.Hold},
		{"personal data, masked", `curl -s -H "Authorization: Bearer $AGENT_KEY" $STEWARD/v1/accounts/` + sc.Banned + `/pii`},
		{"the audit log's latest signed checkpoint", `curl -s -H "Authorization: Bearer $AUDITOR_KEY" $STEWARD/v1/audit/checkpoint`},
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  # %s\n  %s\n", l.what, l.line)
	}
	fmt.Fprintf(w, "\n%d honest travellers released by re-screening, %d appeals waiting for a reviewer. Ctrl-C stops the demo.\n",
		len(sc.Travellers), sc.OpenAppeals)
}

func upper(r principal.Role) string {
	b := []byte(r)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
