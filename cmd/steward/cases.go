package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/client"
)

// casesCmd is `steward cases …`: the report-case queue on a running server.
func (e *env) casesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "cases", Short: "List, show, claim and decide report cases on a running server"}
	var cf clientFlags
	withClient := func(c *cobra.Command, run func(ctx context.Context, c *client.Client, args []string) error) *cobra.Command {
		return e.withClient(c, &cf, run)
	}
	call := e.callPrint
	var state, category, flag, cursor, lease, outcome, policy, note, sanction, idem string
	var limit, n int
	var strike bool

	list := withClient(&cobra.Command{Use: "list", Short: "List cases by score, highest first (--state, --category, --flag suspected_brigade)", Args: cobra.NoArgs},
		func(ctx context.Context, c *client.Client, _ []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"state": state, "category": category, "flag": flag, "cursor": cursor} {
				if v != "" {
					q.Set(k, v)
				}
			}
			return call(ctx, c, client.Request{Method: "GET", Path: "/v1/cases", Query: q})
		})
	list.Flags().StringVar(&state, "state", "", "open (default) or decided")
	list.Flags().StringVar(&category, "category", "", "only this category")
	list.Flags().StringVar(&flag, "flag", "", "only cases with this flag (suspected_brigade)")
	list.Flags().StringVar(&cursor, "cursor", "", "the next of the previous page")
	list.Flags().IntVar(&limit, "limit", 100, "cases per page, 1 to 500")
	show := withClient(&cobra.Command{Use: "show ID", Short: "Show a case with its reports, signals, score and cluster", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			return call(ctx, c, client.Request{Method: "GET", Path: "/v1/cases/" + url.PathEscape(args[0])})
		})
	reporter := withClient(&cobra.Command{Use: "reporter ACCOUNT", Short: "Show an account's accuracy as a reporter, per category", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			return call(ctx, c, client.Request{Method: "GET", Path: "/v1/accounts/" + url.PathEscape(args[0]) + "/reporter"})
		})
	claim := withClient(&cobra.Command{Use: "claim", Short: "Lease up to --n open cases, highest score first", Args: cobra.NoArgs},
		func(ctx context.Context, c *client.Client, _ []string) error {
			body, _ := json.Marshal(map[string]any{"n": n, "lease": lease})
			return call(ctx, c, client.Request{Method: "POST", Path: "/v1/cases:claim", Body: body, IdempotencyKey: writeKey(idem)})
		})
	claim.Flags().IntVar(&n, "n", 10, "how many cases, 1 to 100")
	claim.Flags().StringVar(&lease, "lease", "15m", "how long you hold them, 1m to 8h")
	decide := withClient(&cobra.Command{Use: "decide ID --outcome action|dismiss --note N", Short: "Decide a case you hold: action (--policy with --strike or --sanction JSON) or dismiss",
		Args: cobra.ExactArgs(1)}, func(ctx context.Context, c *client.Client, args []string) error {
		d := map[string]any{"outcome": outcome, "note": note}
		if policy != "" {
			d["policy"] = policy
		}
		if strike {
			d["strike"] = true
		}
		if sanction != "" {
			if !json.Valid([]byte(sanction)) {
				return fmt.Errorf("--sanction must be JSON such as {\"kind\": \"restrict\", \"capabilities\": [\"chat.send\"], \"duration\": \"72h\"}")
			}
			d["sanction"] = json.RawMessage(sanction)
		}
		body, _ := json.Marshal(d)
		return call(ctx, c, client.Request{Method: "POST", Path: "/v1/cases/" + url.PathEscape(args[0]) + "/decision", Body: body, IdempotencyKey: writeKey(idem)})
	})
	decide.Flags().StringVar(&outcome, "outcome", "", "action or dismiss")
	decide.Flags().StringVar(&policy, "policy", "", "the policy the target broke (action)")
	decide.Flags().BoolVar(&strike, "strike", false, "impose the policy ladder's next step (action)")
	decide.Flags().StringVar(&sanction, "sanction", "", `the sanction as JSON: {"kind", "services", "capabilities", "duration", "reason_code"} (action)`)
	decide.Flags().StringVar(&note, "note", "", "why (required)")
	badFaith := withClient(&cobra.Command{Use: "bad-faith ID REPORTER…", Short: "Mark reporters of a case as acting in bad faith", Args: cobra.MinimumNArgs(2)},
		func(ctx context.Context, c *client.Client, args []string) error {
			body, _ := json.Marshal(map[string]any{"reporters": args[1:]})
			return call(ctx, c, client.Request{Method: "POST", Path: "/v1/cases/" + url.PathEscape(args[0]) + "/bad-faith", Body: body, IdempotencyKey: writeKey(idem)})
		})
	for _, c := range []*cobra.Command{claim, decide, badFaith} {
		addIdemFlag(c, &idem)
	}
	cmd.AddCommand(list, show, reporter, claim, decide, badFaith)
	return cmd
}
