package main

import (
	"log/slog"
	"path/filepath"

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
