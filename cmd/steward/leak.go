package main

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/client"
)

// leaksCmd is `steward leaks …`: leak investigations, shares and canary hits on a
// running server.
func (e *env) leaksCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "leaks", Short: "Investigate a leaked sample, show investigations and shares, report canary hits on a running server"}
	var cf clientFlags
	withClient := func(c *cobra.Command, run func(ctx context.Context, c *client.Client, args []string) error) *cobra.Command {
		return e.withClient(c, &cf, run)
	}
	call := e.callPrint
	var seenAt, note, idem, at, channel, detail string
	investigate := withClient(&cobra.Command{Use: "investigate FILE.ndjson",
		Short: "Investigate a leaked sample: NDJSON rows of name, phone, email, address, id_number, bank_card, card_last4, plate, order ('-' for stdin); prints the ranked suspects",
		Args:  cobra.ExactArgs(1)}, func(ctx context.Context, c *client.Client, args []string) error {
		body, err := e.readFile(args[0])
		if err != nil {
			return err
		}
		q := url.Values{}
		if seenAt != "" {
			q.Set("seen_at", seenAt)
		}
		if note != "" {
			q.Set("note", note)
		}
		return call(ctx, c, client.Request{Method: "POST", Path: "/v1/leaks", Query: q, Body: body,
			ContentType: "application/x-ndjson", IdempotencyKey: writeKey(idem)})
	})
	investigate.Flags().StringVar(&seenAt, "seen-at", "", "when the sample was seen (RFC 3339): copies made later are no suspects")
	investigate.Flags().StringVar(&note, "note", "", "a note kept with the investigation")
	addIdemFlag(investigate, &idem)
	show := withClient(&cobra.Command{Use: "show ID", Short: "Show an investigation with its suspects and their evidence", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			return call(ctx, c, client.Request{Method: "GET", Path: "/v1/leaks/" + url.PathEscape(args[0])})
		})
	share := withClient(&cobra.Command{Use: "share ID", Short: "Show a share: recipient, purpose, fields, counts and commitment (no values)", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			return call(ctx, c, client.Request{Method: "GET", Path: "/v1/shares/" + url.PathEscape(args[0])})
		})
	hit := withClient(&cobra.Command{Use: "hit CANARY --at T --channel C", Short: "Report that a call or message reached a canary; prints the shares that carried it", Args: cobra.ExactArgs(1)},
		func(ctx context.Context, c *client.Client, args []string) error {
			body, _ := json.Marshal(map[string]string{"at": at, "channel": channel, "detail": detail})
			return call(ctx, c, client.Request{Method: "POST", Path: "/v1/canaries/" + url.PathEscape(args[0]) + "/hits", Body: body, IdempotencyKey: writeKey(idem)})
		})
	hit.Flags().StringVar(&at, "at", "", "when (RFC 3339)")
	hit.Flags().StringVar(&channel, "channel", "phone", "phone, sms, email, …")
	hit.Flags().StringVar(&detail, "detail", "", "what was seen")
	addIdemFlag(hit, &idem)
	cmd.AddCommand(investigate, show, share, hit)
	return cmd
}

// callPrint sends one request and prints its answer as the server sent it.
func (e *env) callPrint(ctx context.Context, c *client.Client, req client.Request) error {
	var out json.RawMessage
	if _, err := c.Do(ctx, req, &out); err != nil {
		return retryHint(err, req.IdempotencyKey)
	}
	return e.printJSON(out)
}
