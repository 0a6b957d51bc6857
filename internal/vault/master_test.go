package vault_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

func TestMasterFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "master.key")
	m, created, err := vault.LoadOrCreateMaster(path)
	if err != nil || !created {
		t.Fatalf("create: %v, %v", created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi.Mode(), err)
	}
	w, id, err := m.Wrap([]byte("data key"), []byte("ad"))
	if err != nil || id != m.Primary() || vault.WrappedBy(w) != id {
		t.Fatalf("wrap: %v %d %d", err, id, vault.WrappedBy(w))
	}
	again, created, err := vault.LoadOrCreateMaster(path)
	if err != nil || created {
		t.Fatalf("load: %v, %v", created, err)
	}
	if k, err := again.Unwrap(w, []byte("ad")); err != nil || string(k) != "data key" {
		t.Fatalf("unwrap with the loaded key: %q, %v", k, err)
	}
	if _, err := again.Unwrap(w, []byte("other")); err == nil {
		t.Fatal("unwrapped with the wrong associated data")
	}

	// Another process rotates: this one still opens what the new key wrapped.
	if _, err := again.AddPrimary(); err != nil {
		t.Fatal(err)
	}
	w2, _, _ := again.Wrap([]byte("newer"), nil)
	if k, err := m.Unwrap(w2, nil); err != nil || string(k) != "newer" {
		t.Fatalf("unwrap of a key the file gained since: %q, %v", k, err)
	}
	if k, err := again.Unwrap(w, []byte("ad")); err != nil || string(k) != "data key" {
		t.Fatalf("old key after rotation: %q, %v", k, err)
	}
}

func TestStartRefusesAnotherMasterKey(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	a := storetest.NewApp(t, db, app.Config{})
	putAccount(t, a, "u-1", "zj")
	if _, err := a.Vault.Put(as(principal.Service, "svc"), "u-1", known); err != nil {
		t.Fatal(err)
	}
	other, _ := vault.NewMemoryMaster()
	b, err := app.New(db.Stores(), app.Config{MasterKey: other})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "master key does not open") {
		t.Fatalf("start with another master key: %v", err)
	}
}
