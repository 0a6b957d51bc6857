package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/stewardhq/steward/client"
)

func (e *env) bulkCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bulk", Short: "Create, dry-run, execute, revert and inspect bulk actions on a running server"}
	var cf clientFlags
	withClient := func(c *cobra.Command, run func(ctx context.Context, c *client.Client, args []string) error) *cobra.Command {
		return e.withClient(c, &cf, run)
	}
	var canary float64
	var allowEvalErrors bool
	var wait bool
	var reason, idem string

	create := withClient(&cobra.Command{Use: "create FILE.json", Short: "Create a draft from a JSON file ('-' for stdin): name, criteria, screens, sanction, authority",
		Args: cobra.ExactArgs(1)}, func(ctx context.Context, c *client.Client, args []string) error {
		body, err := e.readFile(args[0])
		if err != nil {
			return err
		}
		key := writeKey(idem)
		a, err := c.CreateBulkAction(ctx, body, key)
		if err != nil {
			return retryHint(err, key)
		}
		return e.printJSON(a)
	})
	dry := withClient(&cobra.Command{Use: "dry-run ID", Short: "Show who the action would hit and who it spares, changing nothing", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			d, err := c.DryRunBulkAction(ctx, args[0])
			if err != nil {
				return err
			}
			return e.printJSON(d)
		})
	status := withClient(&cobra.Command{Use: "status ID", Short: "Show an action's state, progress, rate and time left", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			a, err := c.GetBulkAction(ctx, args[0])
			if err != nil {
				return err
			}
			return e.printJSON(a)
		})
	targets := withClient(&cobra.Command{Use: "targets ID", Short: "List an action's targets as NDJSON: account, sanction, whether sanctioned and reverted", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			for cursor := ""; ; {
				page, next, err := c.BulkTargets(ctx, args[0], cursor, 1000)
				if err != nil {
					return err
				}
				for _, t := range page {
					if err := writeJSON(e.stdout, t, ""); err != nil {
						return err
					}
				}
				if cursor = next; cursor == "" {
					return nil
				}
			}
		})
	execute := withClient(&cobra.Command{Use: "execute ID", Short: "Start executing a draft: the canary share first, then it waits for resume", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			key := writeKey(idem)
			a, err := c.ExecuteBulkAction(ctx, args[0], client.BulkExecute{CanaryPercent: &canary, AllowEvalErrors: allowEvalErrors}, key)
			if err != nil {
				return retryHint(err, key)
			}
			return e.follow(ctx, c, a, wait)
		})
	execute.Flags().Float64Var(&canary, "canary", 1, "percent of targets sanctioned before the action waits for resume (0 for none)")
	execute.Flags().BoolVar(&allowEvalErrors, "allow-eval-errors", false, "execute although the dry run found accounts on which an expression fails (they are left unsanctioned)")
	pause := withClient(&cobra.Command{Use: "pause ID", Short: "Pause an action after its current batch", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			key := writeKey(idem)
			a, err := c.PauseBulkAction(ctx, args[0], key)
			if err != nil {
				return retryHint(err, key)
			}
			return e.printJSON(a)
		})
	resume := withClient(&cobra.Command{Use: "resume ID", Short: "Resume a paused action, or one waiting after its canary", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			key := writeKey(idem)
			a, err := c.ResumeBulkAction(ctx, args[0], key)
			if err != nil {
				return retryHint(err, key)
			}
			return e.follow(ctx, c, a, wait)
		})
	revert := withClient(&cobra.Command{Use: "revert ID --reason R", Short: "Lift every sanction the action made, as wrongful, telling each person", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			if reason == "" {
				return fmt.Errorf("--reason is required")
			}
			key := writeKey(idem)
			a, err := c.RevertBulkAction(ctx, args[0], reason, key)
			if err != nil {
				return retryHint(err, key)
			}
			return e.follow(ctx, c, a, wait)
		})
	revert.Flags().StringVar(&reason, "reason", "", "why the action is reverted (shown in the audit log)")
	for _, c := range []*cobra.Command{execute, resume, revert} {
		c.Flags().BoolVar(&wait, "wait", true, "follow progress until the action waits or ends")
	}
	for _, c := range []*cobra.Command{create, execute, pause, resume, revert} {
		addIdemFlag(c, &idem)
	}
	cmd.AddCommand(create, dry, status, targets, execute, pause, resume, revert)
	return cmd
}

func (e *env) readFile(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(e.stdin)
	}
	return os.ReadFile(path)
}

// follow polls the action until it waits (canary, paused) or ends, showing progress: a
// bar on a terminal, a line every few seconds otherwise. Without wait it prints the
// action once.
func (e *env) follow(ctx context.Context, c *client.Client, a *client.BulkAction, wait bool) error {
	if !wait {
		return e.printJSON(a)
	}
	var bar *progressbar.ProgressBar
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(e.stderr), progressbar.OptionShowCount(),
			progressbar.OptionSetDescription(a.State), progressbar.OptionThrottle(100*time.Millisecond))
	}
	lastLine := time.Time{}
	for {
		done, total := a.Progress.Done, a.Progress.Total
		switch a.State {
		case "preparing": // scanning the accounts for targets
			done, total = a.Progress.Scanned, a.Progress.Accounts
		case "reverting", "reverted":
			done, total = a.Progress.Reverted, a.Progress.Done
		}
		if bar != nil {
			if total > 0 && bar.GetMax() != total {
				bar.ChangeMax(total)
			}
			bar.Describe(a.State)
			bar.Set(done)
		} else if time.Since(lastLine) > 5*time.Second || isResting(a.State) {
			fmt.Fprintf(e.stderr, "%s: %d/%d%s\n", a.State, done, total, rateAndETA(a))
			lastLine = time.Now()
		}
		if isResting(a.State) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		var err error
		if a, err = c.GetBulkAction(ctx, a.ID); err != nil {
			return err
		}
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(e.stderr)
	}
	return e.printJSON(a)
}

// rateAndETA returns ", R/s, about S s left" for an action whose rate is known, and
// "" before there is one (a phase's first batch) or once nothing is left.
func rateAndETA(a *client.BulkAction) string {
	if a.Rate <= 0 {
		return ""
	}
	s := fmt.Sprintf(", %.0f/s", a.Rate)
	if a.ETASeconds > 0 {
		s += fmt.Sprintf(", about %.0f s left", a.ETASeconds)
	}
	return s
}

// isResting reports whether an action in state s waits for a person or has ended.
func isResting(s string) bool {
	switch s {
	case "draft", "canary", "paused", "done", "reverted":
		return true
	}
	return false
}
