package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// An action stored before notify_users existed said it as "notify", and still reads so.
func TestBulkActionStoredWithNotify(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db, raw := openRaw(t, kind)
			for id, stored := range map[string]string{"quiet": `"notify":false`, "told": `"notify":true`} {
				a := &bulk.Action{ID: id, Name: id, State: bulk.Draft, NotifyUsers: !(id == "told"), Version: 1, CreatedAt: time.Now()}
				if err := db.Write(ctx, func(ctx context.Context) error { return db.BulkActions().Insert(ctx, a) }); err != nil {
					t.Fatal(err)
				}
				old := `"notify_users":` + map[bool]string{true: "true", false: "false"}[a.NotifyUsers]
				res, err := raw.Exec("UPDATE bulk_actions SET body = replace(body, '" + old + "', '" + stored + "') WHERE id = '" + id + "'")
				if n, _ := res.RowsAffected(); err != nil || n == 0 {
					t.Fatalf("rewrite as stored before: %v (%d rows)", err, n)
				}
				got, err := db.BulkActions().Get(ctx, id)
				if err != nil || got.NotifyUsers != (id == "told") {
					t.Fatalf("%s stored with %s: notify_users %v, %v", id, stored, got.NotifyUsers, err)
				}
			}
		})
	}
}
