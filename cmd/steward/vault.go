package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/vault"
)

// masterKeyPath returns where the vault's master key lives: $STEWARD_MASTER_KEY_FILE, or
// master.key in the data directory.
func (e *env) masterKeyPath(f dbFlags) string {
	if p := e.getenv("STEWARD_MASTER_KEY_FILE"); p != "" {
		return p
	}
	return filepath.Join(f.dataDir, "master.key")
}

// masterKey loads the vault's master key, creating it on first start.
func (e *env) masterKey(f dbFlags, log *slog.Logger) (*vault.Master, error) {
	path := e.masterKeyPath(f)
	m, created, err := vault.LoadOrCreateMaster(path)
	if err != nil {
		return nil, err
	}
	if created {
		log.Info("created the vault's master key: keep a copy apart from the database's backups", "file", path)
	}
	return m, nil
}

func (e *env) vaultCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "vault", Short: "Manage the vault's keys"}
	cmd.AddCommand(e.vaultRotateCmd())
	return cmd
}

func (e *env) vaultRotateCmd() *cobra.Command {
	var f dbFlags
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Re-wrap every data key under a new master key, then retire the old one",
		Long: `Add a new key to the master key file ($STEWARD_MASTER_KEY_FILE or master.key in
--data-dir), make it the one that wraps new data keys, re-wrap every account's data key (and
the index and commitment keys) under it in batches, and then remove the old key from the file.
The values themselves are not re-encrypted.

Run it beside steward serve: every serve process opens keys wrapped by either key meanwhile
and wraps new ones under the new key within a second. Progress goes to stderr. Interrupted,
run it again: a file holding two keys is a rotation under way, and it finishes that one.
Keep a copy of the key file from before until the rotation is done and backed up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.vaultRotate(cmd.Context(), f)
		},
	}
	e.addDBFlags(cmd, &f)
	return cmd
}

func (e *env) vaultRotate(ctx context.Context, f dbFlags) error {
	path := e.masterKeyPath(f)
	master, err := vault.LoadMaster(path)
	if err != nil {
		return err
	}
	a, err := openApp(ctx, f, slog.New(slog.DiscardHandler), app.Config{MasterKey: master})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Vault.Start(ctx); err != nil {
		return err
	}
	if ids := master.KeyIDs(); len(ids) > 1 {
		fmt.Fprintf(e.stderr, "resuming the rotation to key %d in %s\n", master.Primary(), path)
	}
	start, last := time.Now(), time.Time{}
	var final vault.RotateProgress
	err = a.Vault.Rotate(ctx, func(p vault.RotateProgress) {
		final = p
		if time.Since(last) >= time.Second {
			fmt.Fprintf(e.stderr, "re-wrapped %d of %d keys under key %d (%.0f%%)\n", p.Done, p.Total, p.Key, 100*float64(p.Done)/float64(max(p.Total, 1)))
			last = time.Now()
		}
	})
	if err != nil {
		return fmt.Errorf("vault rotate: %w (run it again to finish)", err)
	}
	fmt.Fprintf(e.stdout, "rotated: %d keys wrapped by master key %d, the old key retired from %s (%v)\n",
		final.Done, master.Primary(), path, time.Since(start).Round(time.Millisecond))
	return nil
}
