package main

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/client"
)

// idemHelp is the help of every write command's --idempotency-key.
const idemHelp = "Idempotency-Key of the request: pass the key a failed run printed to retry it without doing it twice (default: a new key, so each run is new work)"

func addIdemFlag(cmd *cobra.Command, key *string) {
	cmd.Flags().StringVar(key, "idempotency-key", "", idemHelp)
}

// writeKey returns the Idempotency-Key a write sends: the user's, or a fresh one. A key
// derived from the input would answer a second, deliberate run with the first run's
// stale result (or refuse it, when only a flag changed).
func writeKey(user string) string {
	if user != "" {
		return user
	}
	return "cli-" + rand.Text()
}

// retryHint adds to an error that may hide an applied request (no answer came) how to
// retry it safely. A problem the server answered changed nothing, so it is returned as is.
func retryHint(err error, key string) error {
	var ce *client.Error
	if err == nil || errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("%w\nthe request may or may not have been applied; to retry it safely, run the same command with --idempotency-key %s", err, key)
}
