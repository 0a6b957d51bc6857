package vault_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// TestRotate re-wraps every key under a new master key while another process (with its
// own copy of the key file in memory) keeps reading and writing, and resumes a rotation
// interrupted after its new key was saved.
func TestRotate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		path := filepath.Join(t.TempDir(), "master.key")
		m1, _, err := vault.LoadOrCreateMaster(path)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := vault.LoadMaster(path) // the other process's
		if err != nil {
			t.Fatal(err)
		}
		a := storetest.NewApp(t, db, app.Config{MasterKey: m1})
		b := storetest.NewApp(t, db, app.Config{MasterKey: m2})
		svc := as(principal.Service, "svc")
		for _, id := range []string{"u-1", "u-2", "u-3"} {
			putAccount(t, a, id, "zj")
			if _, err := a.Vault.Put(svc, id, known); err != nil {
				t.Fatal(err)
			}
		}
		old := m1.Primary()
		stale, _ := os.ReadFile(path)

		// Interrupted: the new key was saved, nothing re-wrapped yet; b wrote under it.
		added, err := m1.AddPrimary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Vault.Put(svc, "u-3", known); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Vault.Masked(svc, "u-3"); err != nil {
			t.Fatalf("the other process reads what the new key wrapped: %v", err)
		}
		var last vault.RotateProgress
		if err := a.Vault.Rotate(context.Background(), func(p vault.RotateProgress) { last = p }); err != nil {
			t.Fatal(err)
		}
		if ids := m1.KeyIDs(); len(ids) != 1 || ids[0] != added || ids[0] == old {
			t.Fatalf("after rotation the keyset holds %v; want only %d (the resumed rotation's), not %d", ids, added, old)
		}
		if last.Total != 6 || last.Done != 6 || last.Key != added { // 3 data keys, the index, commitment and seal keys
			t.Fatalf("last progress %+v", last)
		}
		for _, id := range []string{"u-1", "u-2", "u-3"} {
			if _, err := b.Vault.Masked(svc, id); err != nil {
				t.Fatalf("read of %s after rotation, by the other process: %v", id, err)
			}
		}
		if _, err := b.Vault.Put(svc, "u-1", known); err != nil {
			t.Fatal(err)
		}
		// The old key file opens nothing any more.
		os.WriteFile(path+".old", stale, 0o600)
		oldKey, err := vault.LoadMaster(path + ".old")
		if err != nil {
			t.Fatal(err)
		}
		c, err := app.New(db.Stores(), app.Config{MasterKey: oldKey})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Start(context.Background()); err == nil {
			t.Fatal("the retired master key still opens the vault's keys")
		}
		// A rotation with nothing under an old key adds a key, re-wraps, retires.
		if err := a.Vault.Rotate(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if ids := m1.KeyIDs(); len(ids) != 1 || ids[0] == added {
			t.Fatalf("second rotation: keyset %v", ids)
		}
		if m, err := b.Vault.Masked(svc, "u-2"); err != nil || m.Phone != "139****5678" {
			t.Fatalf("after the second rotation: %+v, %v", m, err)
		}
	})
}
