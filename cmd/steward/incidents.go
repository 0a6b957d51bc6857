package main

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/client"
)

// incidentsCmd is `steward incidents …`: personal-data incidents on a running server.
func (e *env) incidentsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "incidents", Short: "Declare incidents, follow their regulator deadline, notify their users and render their reports on a running server"}
	var cf clientFlags
	var idem string
	var html bool
	call := e.caller(&cf)
	create := call(&cobra.Command{Use: "create FILE.json", Short: "Declare an incident from a JSON file ('-' for stdin): title, detected_at, data_types, cause, harm, remedies, advice, contact, grade, affected",
		Args: cobra.ExactArgs(1)}, func(args []string) (client.Request, error) {
		body, err := e.readFile(args[0])
		return client.Request{Method: "POST", Path: "/v1/incidents", Body: body, IdempotencyKey: writeKey(idem)}, err
	})
	show := call(&cobra.Command{Use: "show ID", Short: "Show an incident: its deadline, the time left and how it stands against it", Args: cobra.ExactArgs(1)},
		func(args []string) (client.Request, error) {
			return client.Request{Method: "GET", Path: "/v1/incidents/" + url.PathEscape(args[0])}, nil
		})
	notify := call(&cobra.Command{Use: "notify ID", Short: "Send every affected user the incident's notice in their language (once)", Args: cobra.ExactArgs(1)},
		func(args []string) (client.Request, error) {
			return client.Request{Method: "POST", Path: "/v1/incidents/" + url.PathEscape(args[0]) + "/notify", IdempotencyKey: writeKey(idem)}, nil
		})
	report := e.withClient(&cobra.Command{Use: "report ID", Short: "Print the regulator's report as JSON, or as a page with --html", Args: cobra.ExactArgs(1)}, &cf,
		func(ctx context.Context, c *client.Client, args []string) error {
			req := client.Request{Method: "GET", Path: "/v1/incidents/" + url.PathEscape(args[0]) + "/report"}
			if !html {
				return e.callJSON(ctx, c, req)
			}
			req.Query = url.Values{"format": {"html"}}
			b, _, err := c.Raw(ctx, req)
			if err == nil {
				_, err = e.stdout.Write(b)
			}
			return err
		})
	report.Flags().BoolVar(&html, "html", false, "the readable page instead of JSON")
	for _, c := range []*cobra.Command{create, notify} {
		addIdemFlag(c, &idem)
	}
	cmd.AddCommand(create, show, notify, report)
	return cmd
}

// evidenceCmd is `steward evidence …`: evidence records on a running server.
func (e *env) evidenceCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "evidence", Short: "Store chat transcripts and call hashes as sealed evidence, show them with their audit proof, compare what a party presents"}
	var cf clientFlags
	var idem string
	call := e.caller(&cf)
	store := call(&cobra.Command{Use: "store FILE.json", Short: `Store a record from a JSON file ('-' for stdin): {"kind": "chat", "account", "messages": [{"at", "from", "text"}]} or {"kind": "call", "account", "recording": {"sha256"}}`,
		Args: cobra.ExactArgs(1)}, func(args []string) (client.Request, error) {
		body, err := e.readFile(args[0])
		return client.Request{Method: "POST", Path: "/v1/evidence", Body: body, IdempotencyKey: writeKey(idem)}, err
	})
	show := call(&cobra.Command{Use: "show ID", Short: "Show a record, its content and its audit entry with the inclusion proof", Args: cobra.ExactArgs(1)},
		func(args []string) (client.Request, error) {
			return client.Request{Method: "GET", Path: "/v1/evidence/" + url.PathEscape(args[0])}, nil
		})
	compare := call(&cobra.Command{Use: "compare ID FILE.json", Short: `Compare presented messages ({"messages": [...]} or a bare array, '-' for stdin) with a chat record`,
		Args: cobra.ExactArgs(2)}, func(args []string) (client.Request, error) {
		body, err := e.readFile(args[1])
		if err != nil {
			return client.Request{}, err
		}
		var list []json.RawMessage
		if json.Unmarshal(body, &list) == nil {
			body, _ = json.Marshal(map[string]any{"messages": list})
		}
		return client.Request{Method: "POST", Path: "/v1/evidence/" + url.PathEscape(args[0]) + "/compare", Body: body, IdempotencyKey: writeKey(idem)}, nil
	})
	for _, c := range []*cobra.Command{store, compare} {
		addIdemFlag(c, &idem)
	}
	cmd.AddCommand(store, show, compare)
	return cmd
}

// caller returns a maker of commands that send the one request req builds and print the
// answer as the server sent it.
func (e *env) caller(cf *clientFlags) func(c *cobra.Command, req func(args []string) (client.Request, error)) *cobra.Command {
	return func(c *cobra.Command, req func(args []string) (client.Request, error)) *cobra.Command {
		return e.withClient(c, cf, func(ctx context.Context, cl *client.Client, args []string) error {
			r, err := req(args)
			if err != nil {
				return err
			}
			return e.callJSON(ctx, cl, r)
		})
	}
}

// callJSON sends req and prints its JSON answer.
func (e *env) callJSON(ctx context.Context, c *client.Client, req client.Request) error {
	var out json.RawMessage
	if _, err := c.Do(ctx, req, &out); err != nil {
		return retryHint(err, req.IdempotencyKey)
	}
	return e.printJSON(out)
}
