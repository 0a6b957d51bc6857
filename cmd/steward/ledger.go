package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/ledger"
)

func (e *env) ledgerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ledger", Short: "Check the ledger of wallets, transfers, holds and withdrawals"}
	cmd.AddCommand(e.ledgerVerifyCmd())
	return cmd
}

func (e *env) ledgerVerifyCmd() *cobra.Command {
	var f dbFlags
	rules := make([]string, len(ledger.Rules))
	for i, r := range ledger.Rules {
		rules[i] = "  " + r.Name + ": " + r.Means
	}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that the ledger is exact; exits non-zero naming the first row at fault",
		Long: `Check, in this order, that:
` + strings.Join(rules, "\n") + `
and exit non-zero naming the first row at fault. It only reads: it opens the database
read-only, and may run beside a serving steward.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.ledgerVerify(cmd.Context(), f)
		},
	}
	e.addDBFlags(cmd, &f)
	return cmd
}

func (e *env) ledgerVerify(ctx context.Context, f dbFlags) error {
	f.readOnly = true
	a, err := openApp(ctx, f, slog.New(slog.DiscardHandler), app.Config{})
	if err != nil {
		return err
	}
	defer a.Close()
	start := time.Now()
	l := a.db.Ledger()
	fault, err := ledger.Verify(ctx, l)
	if err != nil {
		return err
	}
	if fault != nil {
		return fmt.Errorf("ledger verification FAILED at %s: %s (rule %s)", fault.Row, fault.Detail, fault.Rule)
	}
	transfers, entries, wallets, err := l.LedgerCounts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ledger OK: %d transfers, %d entries, %d wallets; %d rules hold (%v)\n",
		transfers, entries, wallets, len(ledger.Rules), time.Since(start).Round(time.Millisecond))
	return nil
}
