package sqlstore

import "strconv"

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
