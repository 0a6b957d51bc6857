package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/bulk/population"
)

func (e *env) genCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "gen", Short: "Generate test data"}
	var n int
	var seed uint64
	var prefix string
	acc := &cobra.Command{
		Use:   "accounts",
		Short: "Write a realistic population of accounts as NDJSON for 'steward accounts import'",
		Long: `Write N generated accounts, one JSON object per line, to stdout: regions with
different fraud rates (a border region with many), verified and unverified accounts of
every age, linked accounts on other services, and travel history in the attributes
(days_in_border, trip_purpose, fraud_score, chargebacks). The same seed gives the same
accounts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 0 {
				return fmt.Errorf("--n must not be negative")
			}
			w := bufio.NewWriterSize(e.stdout, 1<<20)
			enc := json.NewEncoder(w)
			enc.SetEscapeHTML(false)
			err := population.Each(population.Config{N: n, Seed: seed, Prefix: prefix, Now: time.Now()}, func(a *accounts.Account) error {
				return enc.Encode(struct {
					*accounts.Account
					UpdatedAt *time.Time `json:"updated_at,omitempty"` // Steward sets it
				}{Account: a})
			})
			if err != nil {
				return err
			}
			return w.Flush()
		},
	}
	acc.Flags().IntVar(&n, "n", 1000, "how many accounts")
	acc.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	acc.Flags().StringVar(&prefix, "prefix", "acct-", "account ID prefix")
	cmd.AddCommand(acc)
	return cmd
}
