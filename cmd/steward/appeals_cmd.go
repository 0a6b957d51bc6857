package main

import (
	"context"
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/client"
)

func (e *env) appealsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "appeals", Short: "List, claim, decide and count appeals on a running server"}
	var cf clientFlags
	withClient := func(c *cobra.Command, run func(ctx context.Context, c *client.Client, args []string) error) *cobra.Command {
		return e.withClient(c, &cf, run)
	}
	var f client.AppealFilter
	var n int
	var lease, idem string
	var d client.AppealDecision

	list := withClient(&cobra.Command{Use: "list", Short: "List appeals as NDJSON, in filing order", Args: cobra.NoArgs},
		func(ctx context.Context, c *client.Client, _ []string) error {
			for cursor := ""; ; {
				page, next, err := c.ListAppeals(ctx, f, cursor, 1000)
				if err != nil {
					return err
				}
				for _, a := range page {
					if err := writeJSON(e.stdout, a.Raw, ""); err != nil {
						return err
					}
				}
				if cursor = next; cursor == "" {
					return nil
				}
			}
		})
	list.Flags().StringVar(&f.State, "state", "", "open, claimed, decided, released, withdrawn or closed")
	list.Flags().StringVar(&f.BulkAction, "bulk-action", "", "only appeals against this bulk action's sanctions")
	list.Flags().StringVar(&f.Policy, "policy", "", "only appeals against sanctions under this policy")

	claim := withClient(&cobra.Command{Use: "claim", Short: "Lease up to --n open appeals, in priority order, and print them", Args: cobra.NoArgs},
		func(ctx context.Context, c *client.Client, _ []string) error {
			key := writeKey(idem)
			as, err := c.ClaimAppeals(ctx, n, lease, key)
			if err != nil {
				return retryHint(err, key)
			}
			raws := make([]json.RawMessage, len(as))
			for i, a := range as {
				raws[i] = a.Raw
			}
			return e.printJSON(raws)
		})
	claim.Flags().IntVar(&n, "n", 10, "how many appeals, 1 to 100")
	claim.Flags().StringVar(&lease, "lease", "15m", "how long you hold them, 1m to 8h")

	decide := withClient(&cobra.Command{Use: "decide ID", Short: "Decide an appeal you hold: --outcome uphold|overturn|reduce --note TEXT [--until RFC3339]", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			key := writeKey(idem)
			a, err := c.DecideAppeal(ctx, args[0], d, key)
			if err != nil {
				return retryHint(err, key)
			}
			return e.printJSON(a.Raw)
		})
	decide.Flags().StringVar(&d.Outcome, "outcome", "", "uphold, overturn or reduce (confirm or reimpose for a quality review)")
	decide.Flags().StringVar(&d.Note, "note", "", "why: the user reads it")
	decide.Flags().StringVar(&d.Until, "until", "", "reduce: the sanction's new end (RFC 3339)")

	stats := withClient(&cobra.Command{Use: "stats", Short: "Open appeals, ages, breaches, overturn and release rates", Args: cobra.NoArgs},
		func(ctx context.Context, c *client.Client, _ []string) error {
			st, err := c.AppealStats(ctx)
			if err != nil {
				return err
			}
			return e.printJSON(st)
		})
	for _, c := range []*cobra.Command{claim, decide} {
		addIdemFlag(c, &idem)
	}
	cmd.AddCommand(list, claim, decide, stats)
	return cmd
}
