package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/client"
)

func (e *env) exportsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "exports", Short: "Start and follow users' data exports, and manage export sources, on a running server"}
	var cf clientFlags
	withClient := func(c *cobra.Command, run func(ctx context.Context, c *client.Client, args []string) error) *cobra.Command {
		return e.withClient(c, &cf, run)
	}
	var idem string
	var wait bool
	var sourceURL, secret string

	start := withClient(&cobra.Command{Use: "start ACCOUNT", Short: "Start an export of ACCOUNT's data on its holder's behalf (an agent's key); --wait follows it to its end",
		Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			key := writeKey(idem)
			x, err := c.StartExport(ctx, args[0], key)
			if err != nil {
				return retryHint(err, key)
			}
			if wait {
				if x, err = e.followExport(ctx, c, x); err != nil {
					return err
				}
			}
			return e.printJSON(x.Raw)
		})
	start.Flags().BoolVar(&wait, "wait", false, "wait until the export is done or failed, showing its progress on stderr")
	start.Flags().StringVar(&idem, "idempotency-key", "", "retry a start whose answer was lost")

	show := withClient(&cobra.Command{Use: "show ACCOUNT ID", Short: "Show one of ACCOUNT's exports: its state, progress and expiry", Args: cobra.ExactArgs(2)},
		func(ctx context.Context, c *client.Client, args []string) error {
			x, err := c.Export(ctx, args[0], args[1])
			if err != nil {
				return err
			}
			return e.printJSON(x.Raw)
		})

	sources := &cobra.Command{Use: "sources", Short: "Export sources: the services asked for their part of every export (an admin's key)"}
	put := withClient(&cobra.Command{Use: "put NAME --source-url URL --secret SECRET", Short: "Create or replace an export source", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			key := writeKey(idem)
			out, err := c.PutExportSource(ctx, args[0], sourceURL, secret, key)
			if err != nil {
				return retryHint(err, key)
			}
			return e.printJSON(out)
		})
	put.Flags().StringVar(&sourceURL, "source-url", "", "where Steward posts its signed requests")
	put.Flags().StringVar(&secret, "secret", "", "the secret that signs them, 16 to 256 bytes")
	put.Flags().StringVar(&idem, "idempotency-key", "", "retry a put whose answer was lost")
	list := withClient(&cobra.Command{Use: "list", Short: "List every export source", Args: cobra.NoArgs},
		func(ctx context.Context, c *client.Client, _ []string) error {
			out, err := c.ExportSources(ctx)
			if err != nil {
				return err
			}
			return e.printJSON(out)
		})
	del := withClient(&cobra.Command{Use: "delete NAME", Short: "Remove an export source", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			out, err := c.DeleteExportSource(ctx, args[0])
			if err != nil {
				return err
			}
			return e.printJSON(out)
		})
	sources.AddCommand(put, list, del)
	cmd.AddCommand(start, show, sources)
	return cmd
}

// followExport polls x until it is done or failed, showing its progress on stderr.
func (e *env) followExport(ctx context.Context, c *client.Client, x *client.Export) (*client.Export, error) {
	last := ""
	for {
		if p := fmt.Sprintf("%s %d/%d", x.State, x.Progress.Done, x.Progress.Total); p != last {
			fmt.Fprintf(e.stderr, "export %s: %s parts\n", x.ID, p)
			last = p
		}
		switch x.State {
		case "done", "failed", "expired":
			return x, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		var err error
		if x, err = c.Export(ctx, x.Account, x.ID); err != nil {
			return nil, err
		}
	}
}
