package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
)

// RestoreBackup restores the backup in from into the empty target cfg names: a data
// directory that does not exist or is empty (it receives the backup's key files, and on
// SQLite the database), and on PostgreSQL a schema without tables. It refuses a backup
// whose files do not match its manifest, and a target of the other kind of database.
// Returns errs.Conflict for a target that is not empty, errs.Invalid for a bad backup.
func RestoreBackup(ctx context.Context, from string, cfg Config) (_ *BackupManifest, err error) {
	defer wrapErr(&err, "sqlstore.RestoreBackup", from)
	m, err := ReadManifest(from)
	if err != nil {
		return nil, err
	}
	diffs, err := checkFiles(from, m)
	if err != nil {
		return nil, err
	}
	if len(diffs) > 0 {
		return nil, errs.E(errs.Invalid, "the backup in %s does not match its manifest (%s): steward backup verify names every difference",
			from, strings.Join(diffs, "; "))
	}
	return m, restoreInto(ctx, from, m, cfg)
}

func restoreInto(ctx context.Context, from string, m *BackupManifest, cfg Config) error {
	d := sqliteDialect
	if cfg.URL != "" {
		d = postgresDialect
	}
	if d.name != m.Kind {
		return errs.E(errs.Invalid, "the backup in %s is of a %s database and the target is %s: a backup restores into a database of its own kind",
			from, m.Kind, d.name)
	}
	if cfg.DataDir == "" {
		return errs.Field("data-dir", "is required: the new data directory, which receives the backup's keys")
	}
	if err := emptyDir(cfg.DataDir, "the data directory"); err != nil {
		return err
	}
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if latest := ms[len(ms)-1].version; m.Schema > latest {
		return errs.E(errs.Invalid, "the backup is at schema version %d, this steward knows only up to %d: restore it with a newer steward", m.Schema, latest)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return err
	}
	if err := d.snapshots.restore(ctx, from, m, cfg); err != nil {
		return err
	}
	for _, k := range m.Keys {
		if err := copyFile(filepath.Join(from, k), filepath.Join(cfg.DataDir, k), 0o600); err != nil {
			return fmt.Errorf("key %s: %w", k, err)
		}
	}
	return syncDir(cfg.DataDir)
}

// BackupCheck is what VerifyBackup found.
type BackupCheck struct {
	Manifest *BackupManifest
	// Differences names, a sentence each, everything in which the backup differs from
	// its manifest or fails a check; empty when it verifies.
	Differences []string
	Recomputed  int64 // audit entries hashed into the recomputed root
}

// VerifyBackup restores the backup in from into a scratch database, made in tmp (or, for
// a PostgreSQL backup, as a schema on the server base names, which is required), and
// checks it: every file's size and SHA-256, the schema version, every table's rows, the
// ledger's totals, the audit tree's root at the recorded size recomputed from the
// restored entries, the whole audit log (audit.Verify, with the backup's audit.key when
// it holds one), and the ledger's rules (ledger.Verify). The scratch database is removed.
// progress, if not nil, is told of each step as it begins.
func VerifyBackup(ctx context.Context, from, base, tmp string, progress func(step string)) (_ *BackupCheck, err error) {
	defer wrapErr(&err, "sqlstore.VerifyBackup", from)
	if progress == nil {
		progress = func(string) {}
	}
	m, err := ReadManifest(from)
	if err != nil {
		return nil, err
	}
	c := &BackupCheck{Manifest: m}
	progress("checking the files' checksums")
	if c.Differences, err = checkFiles(from, m); err != nil {
		return nil, err
	}
	d, ok := map[string]dialect{"sqlite": sqliteDialect, "postgres": postgresDialect}[m.Kind]
	if !ok {
		return nil, errs.E(errs.Invalid, "%s: unknown kind of database %q", filepath.Join(from, ManifestFile), m.Kind)
	}
	cfg, drop, err := d.snapshots.scratch(ctx, tmp, base)
	if err != nil {
		return nil, err
	}
	defer drop()
	progress("restoring into a scratch database")
	if err := restoreInto(ctx, from, m, cfg); err != nil {
		c.differ("restore: %v", err)
		return c, nil
	}
	cfg.ReadOnly = true
	db, err := Open(ctx, cfg)
	if err != nil {
		c.differ("the restored database does not open: %v", err)
		return c, nil
	}
	defer db.Close()
	progress("comparing the schema, the tables' rows and the ledger's totals")
	if err := c.compareFacts(ctx, db); err != nil {
		return nil, err
	}
	progress(fmt.Sprintf("recomputing the audit root at size %d", m.Audit.Size))
	if err := c.recomputeRoot(ctx, db); err != nil {
		return nil, err
	}
	progress("verifying the audit log's entries, tiles and checkpoints")
	if err := c.verifyAudit(ctx, db, from); err != nil {
		return nil, err
	}
	progress("running ledger verify")
	fault, err := ledger.Verify(ctx, db.Ledger())
	if err != nil {
		return nil, err
	}
	if fault != nil {
		c.differ("ledger verify: rule %s: %s: %s", fault.Rule, fault.Row, fault.Detail)
	}
	return c, nil
}

func (c *BackupCheck) differ(format string, args ...any) {
	c.Differences = append(c.Differences, fmt.Sprintf(format, args...))
}

// compareFacts reads the restored database's facts and names each that differs from
// the manifest's.
func (c *BackupCheck) compareFacts(ctx context.Context, db *DB) error {
	read := sqlReader(db.r)
	tables, err := readTables(ctx, read, db.d.tablesSQL)
	if err != nil {
		return err
	}
	got, err := readFacts(ctx, read, tables)
	if err != nil {
		c.differ("the restored database cannot be read: %v", err)
		return nil
	}
	m := c.Manifest
	if got.Schema != m.Schema {
		c.differ("schema version: %d restored, the manifest records %d", got.Schema, m.Schema)
	}
	if got.Audit.Size != m.Audit.Size || got.Audit.Root != m.Audit.Root {
		c.differ("audit: the latest checkpoint restored is of size %d, root %s; the manifest records size %d, root %s",
			got.Audit.Size, got.Audit.Root, m.Audit.Size, m.Audit.Root)
	}
	if got.Audit.Entries != m.Audit.Entries {
		c.differ("audit: %d entries restored, the manifest records %d", got.Audit.Entries, m.Audit.Entries)
	}
	rows := map[string]int64{}
	for _, t := range got.Tables {
		rows[t.Name] = t.Rows
	}
	for _, t := range m.Tables {
		n, ok := rows[t.Name]
		delete(rows, t.Name)
		switch {
		case !ok:
			c.differ("table %s: missing from the restored database", t.Name)
		case n != t.Rows:
			c.differ("table %s: %d rows restored, the manifest records %d", t.Name, n, t.Rows)
		}
	}
	for _, t := range got.Tables {
		if _, extra := rows[t.Name]; extra && t.Rows > 0 {
			c.differ("table %s: %d rows restored, the manifest records none", t.Name, t.Rows)
		}
	}
	totals := map[string]LedgerTotals{}
	for _, t := range got.Ledger {
		totals[t.Currency] = t
	}
	for _, want := range m.Ledger {
		have, ok := totals[want.Currency]
		delete(totals, want.Currency)
		if have != want {
			c.differ("ledger totals of %s: %s restored, the manifest records %s", want.Currency, totalsText(have, ok), totalsText(want, true))
		}
	}
	for cur, have := range totals {
		c.differ("ledger totals of %s: %s restored, the manifest records none", cur, totalsText(have, true))
	}
	return nil
}

func totalsText(t LedgerTotals, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%d wallets, users posted %d pending %d, platform posted %d, %d holds",
		t.Wallets, t.UserPosted, t.UserPending, t.PlatformPosted, t.Holds)
}

// recomputeRoot hashes the restored audit entries of the tree's first Manifest.Audit.Size
// places, in order, and compares the root with the manifest's.
func (c *BackupCheck) recomputeRoot(ctx context.Context, db *DB) error {
	size := c.Manifest.Audit.Size
	rng := (&compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}).NewEmptyRange(0)
	var n, missing int64 = 0, -1
	err := sqlReader(db.r)(ctx, fmt.Sprintf("SELECT tree_index, leaf FROM audit_entries WHERE tree_index IS NOT NULL AND tree_index < %d ORDER BY tree_index", size),
		func(scan func(...any) error) error {
			var i int64
			var leaf []byte
			if err := scan(&i, &leaf); err != nil {
				return err
			}
			if i != n && missing < 0 {
				missing = n
			}
			n++
			return rng.Append(rfc6962.DefaultHasher.HashLeaf(leaf), nil)
		})
	if err != nil {
		return err
	}
	c.Recomputed = n
	root := tlog.Hash{}
	if n > 0 {
		h, err := rng.GetRootHash(nil)
		if err != nil {
			return err
		}
		root = tlog.Hash(h)
	}
	switch {
	case missing >= 0:
		c.differ("audit: the entry at tree index %d is missing from the restored database", missing)
	case n != size:
		c.differ("audit: %d entries are in the restored tree, the manifest records %d", n, size)
	case root.String() != c.Manifest.Audit.Root:
		c.differ("audit: the restored entries hash to root %s at size %d, the manifest records %s", root, size, c.Manifest.Audit.Root)
	}
	return nil
}

// verifyAudit checks the whole restored audit log: every entry, tile and checkpoint.
func (c *BackupCheck) verifyAudit(ctx context.Context, db *DB, from string) error {
	vkey, err := db.Audit().VerifierKey(ctx)
	if errs.CodeOf(err) == errs.NotFound {
		return nil // a log that never had a sequencer has nothing to check
	}
	if err != nil {
		return err
	}
	if k, err := audit.LoadKey(filepath.Join(from, "audit.key")); err == nil {
		if k.VerifierKey != vkey {
			c.differ("audit: the backup's audit.key verifies %s, the restored log records %s", k.VerifierKey, vkey)
		}
		vkey = k.VerifierKey
	} else if !errors.Is(err, fs.ErrNotExist) {
		c.differ("audit: the backup's audit.key: %v", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		c.differ("audit: verifier key %q: %v", vkey, err)
		return nil
	}
	_, err = audit.Verify(ctx, db.Audit(), v, nil)
	var te *audit.TamperError
	if errors.As(err, &te) {
		c.differ("audit log: entry %d: %s", te.Index, te.Reason)
		return nil
	}
	return err
}

// sqlReader reads through a database/sql pool or transaction.
func sqlReader(q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) reader {
	return func(ctx context.Context, query string, each func(scan func(...any) error) error) error {
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		return eachRow(rows, each)
	}
}

// eachRow calls each with the scan of every row of rows.
func eachRow(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}, each func(scan func(...any) error) error) error {
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
