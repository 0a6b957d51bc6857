package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/stewardhq/steward/internal/errs"
)

// ManifestFile is the file of a backup directory that describes it.
const ManifestFile = "manifest.json"

// BackupManifest describes a backup directory: every file with its size and SHA-256, and
// what was true of the database inside the snapshot the backup holds.
type BackupManifest struct {
	Format    int       `json:"format"` // 1
	Kind      string    `json:"kind"`   // "sqlite" or "postgres": the database the backup came from
	CreatedAt time.Time `json:"created_at"`
	Version   string    `json:"steward_version"`
	// Schema is the newest migration applied (schema_migrations).
	Schema int `json:"schema_version"`
	// Audit is the audit tree at the snapshot: its latest signed checkpoint.
	Audit  BackupAudit      `json:"audit"`
	Ledger []LedgerTotals   `json:"ledger_totals"`
	Tables []BackupTable    `json:"tables"`
	Keys   []string         `json:"keys"` // the key files copied beside the data, by name
	Files  []BackupFileInfo `json:"files"`
}

// BackupAudit is the audit log at a snapshot.
type BackupAudit struct {
	Size    int64  `json:"tree_size"` // entries in the tree at its latest checkpoint
	Root    string `json:"root_hash"` // that checkpoint's root (base64, as tlog prints it)
	Entries int64  `json:"entries"`   // every entry stored, the tree's and those pending
}

// LedgerTotals sums one currency's wallets at a snapshot.
type LedgerTotals struct {
	Currency       string `json:"currency"`
	Wallets        int64  `json:"wallets"`
	UserPosted     int64  `json:"user_posted"`     // users' wallets, in minor units
	UserPending    int64  `json:"user_pending"`    // reserved by pending withdrawals
	PlatformPosted int64  `json:"platform_posted"` // platform accounts (the negative of UserPosted)
	Holds          int64  `json:"holds"`           // holds not released
}

// BackupTable is one table at a snapshot.
type BackupTable struct {
	Name    string   `json:"name"`
	Rows    int64    `json:"rows"`
	Columns []string `json:"columns,omitempty"` // in the table's file's order (PostgreSQL)
}

// BackupFileInfo is one file of a backup directory.
type BackupFileInfo struct {
	Name   string `json:"name"` // slash-separated, relative to the directory
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// BackupOptions is what a backup records besides the database.
type BackupOptions struct {
	Version string // Steward's version, for the manifest
	// Keys are the key files to copy beside the data, by the name they take in the
	// backup ("audit.key"): a backup restores to a working Steward only with them. A file
	// that does not exist is left out, and the manifest's Keys say which were copied.
	Keys map[string]string
	Now  func() time.Time // time.Now when nil
	// Progress, if not nil, is told of each step as it begins.
	Progress func(step string)
}

// snapshotter is how a dialect copies the database (see dialect.snapshots).
type snapshotter interface {
	// snapshot writes a consistent copy of db into the empty directory dir and returns
	// the facts read inside that same snapshot.
	snapshot(ctx context.Context, db *DB, dir string) (*snapshotFacts, error)
	// restore loads the copy in dir into the empty database cfg names (migrating it as
	// needed), given the backup's manifest m.
	restore(ctx context.Context, dir string, m *BackupManifest, cfg Config) error
	// scratch returns the configuration of an empty throwaway database to restore the
	// backup in dir into, in the temporary directory tmp, and a function that removes it.
	// base is the server the operator named (--db), if any.
	scratch(ctx context.Context, tmp, base string) (cfg Config, drop func(), err error)
}

// snapshotFacts is what a backup's manifest records of its snapshot.
type snapshotFacts struct {
	Schema int
	Audit  BackupAudit
	Ledger []LedgerTotals
	Tables []BackupTable
}

// reader runs a query in a snapshot and calls each with every row's scan.
type reader func(ctx context.Context, q string, each func(scan func(...any) error) error) error

// readFacts reads a snapshot's facts through read. tables lists the tables.
func readFacts(ctx context.Context, read reader, tables []string) (*snapshotFacts, error) {
	f := &snapshotFacts{Ledger: []LedgerTotals{}, Audit: BackupAudit{Root: tlog.Hash{}.String()}}
	one := func(q string, dest ...any) error {
		return read(ctx, q, func(scan func(...any) error) error { return scan(dest...) })
	}
	if err := one("SELECT max(version) FROM schema_migrations", &f.Schema); err != nil {
		return nil, fmt.Errorf("schema version: %w", err)
	}
	err := read(ctx, "SELECT size, root FROM audit_checkpoints ORDER BY size DESC LIMIT 1", func(scan func(...any) error) error {
		var root []byte
		if err := scan(&f.Audit.Size, &root); err != nil {
			return err
		}
		if len(root) != tlog.HashSize {
			return fmt.Errorf("checkpoint of size %d has a root of %d bytes", f.Audit.Size, len(root))
		}
		f.Audit.Root = tlog.Hash(root).String()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	if err := one("SELECT count(*) FROM audit_entries", &f.Audit.Entries); err != nil {
		return nil, fmt.Errorf("audit entries: %w", err)
	}
	err = read(ctx, `SELECT w.currency, count(*),
		CAST(COALESCE(sum(CASE WHEN w.account <> '' THEN w.posted ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(sum(CASE WHEN w.account <> '' THEN w.pending ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(sum(CASE WHEN w.account = '' THEN w.posted ELSE 0 END), 0) AS BIGINT),
		CAST(COALESCE(sum(w.holds), 0) AS BIGINT)
		FROM ledger_wallets w GROUP BY w.currency ORDER BY w.currency`, func(scan func(...any) error) error {
		var t LedgerTotals
		if err := scan(&t.Currency, &t.Wallets, &t.UserPosted, &t.UserPending, &t.PlatformPosted, &t.Holds); err != nil {
			return err
		}
		f.Ledger = append(f.Ledger, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger totals: %w", err)
	}
	for _, t := range tables {
		bt := BackupTable{Name: t}
		if err := one("SELECT count(*) FROM "+t, &bt.Rows); err != nil {
			return nil, fmt.Errorf("rows of %s: %w", t, err)
		}
		f.Tables = append(f.Tables, bt)
	}
	return f, nil
}

// readTables lists the tables through read, with the dialect's tablesSQL.
func readTables(ctx context.Context, read reader, q string) ([]string, error) {
	var names []string
	err := read(ctx, q, func(scan func(...any) error) error {
		var n string
		err := scan(&n)
		names = append(names, n)
		return err
	})
	return names, err
}

// Backup writes a consistent snapshot of the database, while it keeps serving, into the
// directory dir, which must not exist yet: the snapshot is written beside it and renamed
// into place once complete, so dir is either the whole backup or absent. Returns
// errs.Conflict when dir exists.
func (db *DB) Backup(ctx context.Context, dir string, o BackupOptions) (_ *BackupManifest, err error) {
	defer wrapErr(&err, "sqlstore.DB.Backup", dir)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); err == nil {
		return nil, errs.E(errs.Conflict, "%s exists already: a backup goes into a new directory", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".partial-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	m := &BackupManifest{Format: 1, Kind: db.d.name, CreatedAt: o.Now().UTC(), Version: o.Version, Keys: []string{}}
	o.Progress("copying the database in one snapshot")
	facts, err := db.d.snapshots.snapshot(ctx, db, tmp)
	if err != nil {
		return nil, err
	}
	m.Schema, m.Audit, m.Ledger, m.Tables = facts.Schema, facts.Audit, facts.Ledger, facts.Tables
	names := make([]string, 0, len(o.Keys))
	for name := range o.Keys {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch err := copyFile(o.Keys[name], filepath.Join(tmp, name), 0o600); {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("key %s: %w", name, err)
		}
		m.Keys = append(m.Keys, name)
	}
	o.Progress("checksumming the files")
	if m.Files, err = listFiles(tmp); err != nil {
		return nil, err
	}
	if err := writeManifest(tmp, m); err != nil {
		return nil, err
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return m, syncDir(filepath.Dir(dir))
}

// ReadManifest reads the manifest of the backup in dir.
func ReadManifest(dir string) (*BackupManifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.E(errs.NotFound, "%s is not a Steward backup: it has no %s", dir, ManifestFile)
	}
	if err != nil {
		return nil, err
	}
	var m BackupManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errs.E(errs.Invalid, "%s: %v", filepath.Join(dir, ManifestFile), err)
	}
	if m.Format != 1 {
		return nil, errs.E(errs.Invalid, "%s: format %d, this steward reads format 1", filepath.Join(dir, ManifestFile), m.Format)
	}
	return &m, nil
}

func writeManifest(dir string, m *BackupManifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(dir, ManifestFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return errors.Join(err, f.Sync(), f.Close())
}

// listFiles returns every file under dir with its size and SHA-256, by name.
func listFiles(dir string) ([]BackupFileInfo, error) {
	out := []BackupFileInfo{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		fi, err := fileInfo(path)
		if err != nil {
			return err
		}
		fi.Name = filepath.ToSlash(rel)
		out = append(out, fi)
		return nil
	})
	return out, err
}

func fileInfo(path string) (BackupFileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return BackupFileInfo{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return BackupFileInfo{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, err
}

// checkFiles compares the files of the backup in dir with its manifest and returns a
// sentence for each difference: a file missing, changed, or not in the manifest.
func checkFiles(dir string, m *BackupManifest) ([]string, error) {
	found, err := listFiles(dir)
	if err != nil {
		return nil, err
	}
	have := map[string]BackupFileInfo{}
	for _, f := range found {
		have[f.Name] = f
	}
	var diffs []string
	for _, want := range m.Files {
		got, ok := have[want.Name]
		delete(have, want.Name)
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("file %s: missing", want.Name))
		case got.Size != want.Size:
			diffs = append(diffs, fmt.Sprintf("file %s: %d bytes, the manifest records %d", want.Name, got.Size, want.Size))
		case got.SHA256 != want.SHA256:
			diffs = append(diffs, fmt.Sprintf("file %s: SHA-256 %s, the manifest records %s", want.Name, got.SHA256, want.SHA256))
		}
	}
	delete(have, ManifestFile)
	extra := make([]string, 0, len(have))
	for name := range have {
		extra = append(extra, name)
	}
	sort.Strings(extra)
	for _, name := range extra {
		diffs = append(diffs, fmt.Sprintf("file %s: not in the manifest", name))
	}
	return diffs, nil
}

// copyFile copies src to the new file dst with mode perm, synced.
func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Sync(), out.Close())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// emptyDir returns an error unless dir does not exist or is an empty directory.
func emptyDir(dir, what string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case len(ents) > 0:
		names := make([]string, 0, 3)
		for _, e := range ents[:min(3, len(ents))] {
			names = append(names, e.Name())
		}
		return errs.E(errs.Conflict, "%s %s is not empty (it holds %s): a restore goes into an empty target", what, dir, strings.Join(names, ", "))
	}
	return nil
}
