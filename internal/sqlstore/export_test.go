package sqlstore

import (
	"os"
	"path/filepath"
	"strconv"
)

// SetMaxPages caps an SQLite database at its current size, as a full disk would: a write
// that needs a new page fails with SQLITE_FULL. 0 lifts the cap.
func (db *DB) SetMaxPages(lift bool) error {
	n := 1 << 30
	if !lift {
		if err := db.w.QueryRow("PRAGMA page_count").Scan(&n); err != nil {
			return err
		}
	}
	_, err := db.w.Exec("PRAGMA max_page_count = " + strconv.Itoa(n))
	return err
}

// RewriteManifestFiles records the files of the backup in dir as they are now in its
// manifest m, as one who tampered with the backup and its manifest would.
func RewriteManifestFiles(dir string, m *BackupManifest) error {
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
		return err
	}
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	m.Files = files
	return writeManifest(dir, m)
}

// SetAuditIndexAtAppend switches how audit entries get their tree index on this
// database: at append (true, SQLite's default) or from the sequencer's UPDATE of each
// row (false, PostgreSQL's way and SQLite's before). Benchmarks compare the two.
func (db *DB) SetAuditIndexAtAppend(on bool) { db.d.indexAtAppend = on }
