package sqlstore

import "context"

// AuditCount counts the audit entries with this action, for tests.
func (db *DB) AuditCount(ctx context.Context, action string) (n int, err error) {
	err = db.queryRow(ctx, "SELECT count(*) FROM audit_entries WHERE action = ?", action).Scan(&n)
	return n, err
}
