package sqlstore

import "github.com/stewardhq/steward/internal/app"

// Stores returns every store over db, for app.New.
func (db *DB) Stores() app.Stores {
	return app.Stores{
		Tx:          db,
		Accounts:    db.Accounts(),
		Audit:       db.Audit(),
		Keys:        db.Keys(),
		Idempotency: db.Idempotency(),
		Sanctions:   db.Sanctions(),
		Notices:     db.Notices(),
		Webhooks:    db.Webhooks(),
		BulkActions: db.BulkActions(),
		Review:      db.Review(),
		Appeals:     db.Appeals(),
		Reports:     db.Reports(),
		Ledger:      db.Ledger(),
		Vault:       db.Vault(),
		Retention:   db.Retention(),
		Takeout:     db.Takeout(),
		Leak:        db.Leak(),
		Incidents:   db.Incidents(),
		Evidence:    db.Evidence(),
		Users:       db.Users(),
		Signals:     db,
	}
}
