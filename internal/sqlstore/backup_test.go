package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// backupFixture is a database with accounts, sanctions, transfers and a sequenced audit
// log, and the key files serve would keep beside it.
type backupFixture struct {
	db   *sqlstore.DB
	app  *app.App
	keys map[string]string
}

func newBackupFixture(t *testing.T, db *sqlstore.DB) *backupFixture {
	t.Helper()
	keyDir := t.TempDir()
	key, _, err := audit.LoadOrCreateKey(filepath.Join(keyDir, "audit.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keyDir, "master.key"), []byte("not a real master key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &backupFixture{db: db, app: storetest.NewApp(t, db, app.Config{AuditKey: key}),
		keys: map[string]string{"audit.key": filepath.Join(keyDir, "audit.key"), "master.key": filepath.Join(keyDir, "master.key")}}
	f.load(t, "a", 40)
	return f
}

var backupService = principal.NewContext(context.Background(), principal.Key("platform", principal.Service, "k-svc"))

// load adds n accounts (ids prefixed), a sanction and a deposit each, and sequences the
// audit log.
func (f *backupFixture) load(t *testing.T, prefix string, n int) {
	t.Helper()
	pop := population.Generate(population.Config{N: n, Seed: 3})
	for _, a := range pop {
		a.ID = prefix + "-" + a.ID
	}
	if _, err := f.app.Accounts.Import(backupService, pop, nil); err != nil {
		t.Fatal(err)
	}
	for _, a := range pop {
		end := time.Now().Add(240 * time.Hour)
		if _, err := f.app.Enforce.Impose(backupService, &enforce.Sanction{Account: a.ID, Kind: enforce.Restrict,
			Scope: enforce.Scope{Capabilities: []string{"chat.send"}}, End: &end, ReasonCode: "spam",
			Authority: authority.Authority{Kind: authority.Automated, Rule: "r1"}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.app.Ledger.Transfer(backupService, &ledger.Transfer{ID: "dep-" + a.ID, From: ledger.Deposits, To: ledger.UserName(a.ID),
			Amount: 1000, Currency: "CNY"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.app.Sequencer.Integrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *backupFixture) backup(t *testing.T, dir string) *sqlstore.BackupManifest {
	t.Helper()
	m, err := f.db.Backup(context.Background(), dir, sqlstore.BackupOptions{Version: "test", Keys: f.keys})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// target returns an empty place to restore into, of db's kind.
func target(t *testing.T, db *sqlstore.DB) sqlstore.Config {
	t.Helper()
	cfg := storetest.Config(t, db.Dialect())
	cfg.DataDir = filepath.Join(cfg.DataDir, "new")
	return cfg
}

func verify(t *testing.T, db *sqlstore.DB, dir string) *sqlstore.BackupCheck {
	t.Helper()
	c, err := sqlstore.VerifyBackup(context.Background(), dir, os.Getenv(storetest.EnvPostgres), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBackupRestore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newBackupFixture(t, db)
		dir := filepath.Join(t.TempDir(), "b1")
		m := f.backup(t, dir)
		rows := map[string]int64{}
		for _, tb := range m.Tables {
			rows[tb.Name] = tb.Rows
		}
		cp, err := f.app.Audit.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind != db.Dialect() || m.Audit.Size != cp.Size || m.Audit.Root != cp.Root.String() || rows["accounts"] != 40 || rows["sanctions"] != 40 ||
			m.Schema == 0 || m.Version != "test" || strings.Join(m.Keys, ",") != "audit.key,master.key" {
			t.Fatalf("manifest: %+v, checkpoint %d %s", m, cp.Size, cp.Root)
		}
		if len(m.Ledger) != 1 || m.Ledger[0] != (sqlstore.LedgerTotals{Currency: "CNY", Wallets: 41, UserPosted: 40_000, PlatformPosted: -40_000}) {
			t.Fatalf("ledger totals: %+v", m.Ledger)
		}
		for _, k := range []string{"audit.key", "master.key"} {
			if st, err := os.Stat(filepath.Join(dir, k)); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v %v", k, st, err)
			}
		}
		if _, err := f.db.Backup(ctx, dir, sqlstore.BackupOptions{}); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("a backup over an existing one: %v", err)
		}
		if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".*")); len(leftovers) > 0 {
			t.Fatalf("partial directories left: %v", leftovers)
		}

		// Writes after the snapshot are not in it.
		f.load(t, "late", 5)

		if c := verify(t, db, dir); len(c.Differences) > 0 || c.Recomputed != m.Audit.Size {
			t.Fatalf("verify: %+v", c)
		}

		to := target(t, db)
		if _, err := sqlstore.RestoreBackup(ctx, dir, to); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlstore.RestoreBackup(ctx, dir, to); errs.CodeOf(err) != errs.Conflict || !strings.Contains(err.Error(), "not empty") {
			t.Fatalf("restore into a non-empty target: %v", err)
		}
		for _, k := range []string{"audit.key", "master.key"} {
			if st, err := os.Stat(filepath.Join(to.DataDir, k)); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("restored %s: %v %v", k, st, err)
			}
		}
		rdb, err := sqlstore.Open(ctx, to)
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		for table, want := range map[string]int{"accounts": 40, "sanctions": 40, "ledger_transfers": 40, "audit_entries": int(m.Audit.Entries)} {
			if n, err := rdb.Count(ctx, table); err != nil || n != want {
				t.Fatalf("restored %s: %d rows, want %d (%v)", table, n, want, err)
			}
		}
		// The restored database takes writes: its identities start past the restored rows.
		key, err := audit.LoadKey(filepath.Join(to.DataDir, "audit.key"))
		if err != nil {
			t.Fatal(err)
		}
		rf := &backupFixture{db: rdb, app: storetest.NewApp(t, rdb, app.Config{AuditKey: key})}
		rf.load(t, "after", 3)
		if fault, err := ledger.Verify(ctx, rdb.Ledger()); err != nil || fault != nil {
			t.Fatalf("ledger verify after restore: %v %v", fault, err)
		}
		if _, err := audit.Verify(ctx, rdb.Audit(), mustVerifier(t, key), nil); err != nil {
			t.Fatalf("audit verify after restore: %v", err)
		}
	})
}

func TestRestoreRefuses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newBackupFixture(t, db)
		dir := filepath.Join(t.TempDir(), "b")
		f.backup(t, dir)
		other := storetest.Config(t, "sqlite")
		if db.Dialect() == "sqlite" {
			other = storetest.Config(t, "postgres")
		}
		if _, err := sqlstore.RestoreBackup(ctx, dir, other); errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "its own kind") {
			t.Fatalf("restore into the other kind: %v", err)
		}
		// A target in use already: SQLite's data directory holds steward.db, PostgreSQL's
		// schema Steward's tables.
		used := storetest.Config(t, db.Dialect())
		udb, err := sqlstore.Open(ctx, used)
		if err != nil {
			t.Fatal(err)
		}
		udb.Close()
		want := "steward.db"
		if db.Dialect() == "postgres" {
			want = "it has the table"
		}
		if _, err := sqlstore.RestoreBackup(ctx, dir, used); errs.CodeOf(err) != errs.Conflict || !strings.Contains(err.Error(), want) {
			t.Fatalf("restore into a used target: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stray"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := sqlstore.RestoreBackup(ctx, dir, target(t, db)); errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "file stray: not in the manifest") {
			t.Fatalf("restore of a backup with a stray file: %v", err)
		}
	})
}

// TestVerifyTampered changes a backup behind Steward's back three ways and checks that
// verify names each change.
func TestVerifyTampered(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		f := newBackupFixture(t, db)
		base := t.TempDir()
		fresh := func(name string) (string, *sqlstore.BackupManifest) {
			dir := filepath.Join(base, name)
			return dir, f.backup(t, dir)
		}
		t.Run("a changed byte", func(t *testing.T) {
			dir, m := fresh("byte")
			data := m.Files[len(m.Files)-1] // the last file: the biggest table on PostgreSQL, steward.db on SQLite
			for _, fi := range m.Files {
				if fi.Name == "steward.db" || fi.Name == "tables/accounts.copy" {
					data = fi
				}
			}
			p := filepath.Join(dir, filepath.FromSlash(data.Name))
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			i := len(b) / 2
			if db.Dialect() == "postgres" {
				i = strings.Index(string(b), "\t") - 1 // inside the first account's id
			}
			b[i] ^= 0x01
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			c := verify(t, db, dir)
			if len(c.Differences) == 0 || !strings.HasPrefix(c.Differences[0], "file "+data.Name+": SHA-256") {
				t.Fatalf("differences: %q", c.Differences)
			}
		})
		t.Run("a deleted row", func(t *testing.T) {
			dir, m := fresh("row")
			deleteRow(t, db, dir, m, "sanctions")
			rewriteChecksums(t, dir, m) // as one who rewrote the manifest would
			c := verify(t, db, dir)
			if strings.Join(c.Differences, "\n") != "table sanctions: 39 rows restored, the manifest records 40" {
				t.Fatalf("differences: %q", c.Differences)
			}
		})
		t.Run("a deleted audit entry", func(t *testing.T) {
			dir, m := fresh("audit")
			deleteRow(t, db, dir, m, "audit_entries")
			rewriteChecksums(t, dir, m)
			c := verify(t, db, dir)
			all := strings.Join(c.Differences, "\n")
			for _, want := range []string{"audit: " + fmt.Sprint(m.Audit.Entries-1) + " entries restored", "audit: the entry at tree index 0 is missing", "audit log: entry 0: missing"} {
				if !strings.Contains(all, want) {
					t.Fatalf("differences lack %q: %q", want, c.Differences)
				}
			}
		})
		t.Run("a changed balance", func(t *testing.T) {
			dir, m := fresh("ledger")
			if db.Dialect() != "sqlite" {
				t.Skip("edits the SQLite file; the PostgreSQL rows are covered above")
			}
			raw, err := sql.Open("sqlite", filepath.Join(dir, "steward.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec("UPDATE ledger_wallets SET posted = posted + 5 WHERE account <> '' AND id = (SELECT min(id) FROM ledger_wallets WHERE account <> '')"); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			rewriteChecksums(t, dir, m)
			all := strings.Join(verify(t, db, dir).Differences, "\n")
			if !strings.Contains(all, "ledger totals of CNY: 41 wallets, users posted 40005") || !strings.Contains(all, "ledger verify: rule posted") {
				t.Fatalf("differences: %s", all)
			}
		})
	})
}

// deleteRow removes the first row of table from the backup in dir.
// deleteRow deletes the first row of table in the backup in dir (of manifest m): on
// audit_entries, the entry at tree index 0.
func deleteRow(t *testing.T, db *sqlstore.DB, dir string, m *sqlstore.BackupManifest, table string) {
	t.Helper()
	if db.Dialect() == "sqlite" {
		raw, err := sql.Open("sqlite", filepath.Join(dir, "steward.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, err := raw.Exec("DELETE FROM " + table + " WHERE rowid = (SELECT min(rowid) FROM " + table + ")"); err != nil {
			t.Fatal(err)
		}
		return
	}
	p := filepath.Join(dir, "tables", table+".copy")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// The file holds the rows in storage order, which is not the tree's: a batch's copied
	// entries fill their pages, so the sequencer's update moves an entry elsewhere.
	lines := strings.SplitAfter(string(b), "\n")
	at := 0
	for _, bt := range m.Tables {
		if col := slices.Index(bt.Columns, "tree_index"); bt.Name == table && col >= 0 {
			at = slices.IndexFunc(lines, func(l string) bool { return strings.Split(strings.TrimSuffix(l, "\n"), "\t")[col] == "0" })
		}
	}
	if at < 0 {
		t.Fatalf("no row of %s at tree index 0 in the backup", table)
	}
	rest := strings.Join(slices.Delete(lines, at, at+1), "")
	if err := os.WriteFile(p, []byte(rest), 0o600); err != nil {
		t.Fatal(err)
	}
}

// rewriteChecksums records the files as they are now in the manifest of dir.
func rewriteChecksums(t *testing.T, dir string, m *sqlstore.BackupManifest) {
	t.Helper()
	if err := sqlstore.RewriteManifestFiles(dir, m); err != nil {
		t.Fatal(err)
	}
}

func mustVerifier(t *testing.T, key *audit.Key) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(key.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
