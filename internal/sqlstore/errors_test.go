package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

func sanction(id string) *enforce.Sanction {
	return &enforce.Sanction{ID: id, Account: "a1", Kind: enforce.Ban, ReasonCode: "spam",
		Start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestInternalErrorsSayWhere(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		// A write outside DB.Write fails in the store, which says which method and what on.
		err := db.Sanctions().Update(ctx, sanction("s-1"), 1)
		if errs.CodeOf(err) != errs.Internal || !strings.HasPrefix(err.Error(), "sqlstore.Sanctions.Update s-1: ") {
			t.Errorf("write outside a transaction: %q, want an internal error naming sqlstore.Sanctions.Update s-1", err)
		}
		// An error with a code is the store's word to the client: it is left as it was.
		_, err = db.Sanctions().Get(ctx, "nobody")
		if errs.CodeOf(err) != errs.NotFound || err.Error() != "sanction nobody not found" {
			t.Errorf("missing sanction: %q, want not_found as it was", err)
		}
		// The driver's own errors are wrapped too.
		db.Close()
		_, err = db.BulkActions().Get(ctx, "b-1")
		if errs.CodeOf(err) != errs.Internal || !strings.HasPrefix(err.Error(), "sqlstore.BulkActions.Get b-1: ") {
			t.Errorf("closed database: %q, want an internal error naming sqlstore.BulkActions.Get b-1", err)
		}
	})
}

func TestDuplicateIsConflict(t *testing.T) {
	target := []bulk.Target{{Ord: 1, Account: "a1", Sanction: "s-9"}}
	// Batches this size are copied on PostgreSQL (DB.insertRows): a clash says the same.
	var batch []*enforce.Sanction
	var targets []bulk.Target
	for i := range 100 {
		batch = append(batch, sanction(fmt.Sprintf("c-%03d", i)))
		targets = append(targets, bulk.Target{Ord: int64(i + 1), Account: "a1", Sanction: fmt.Sprintf("c-%03d", i)})
	}
	delivery := &notify.Delivery{ID: "d-1", Webhook: "w", Event: "e", EventType: "t", Account: "a1", Outcome: "delivered", At: time.Now()}
	tests := []struct {
		name  string
		write func(ctx context.Context, db *sqlstore.DB) error
		want  string // the message a client sees
	}{
		{"bulk action", func(ctx context.Context, db *sqlstore.DB) error {
			return db.BulkActions().Insert(ctx, &bulk.Action{ID: "b-1", State: "draft", Version: 1})
		}, "bulk action b-1 exists already"},
		{"sanction", func(ctx context.Context, db *sqlstore.DB) error {
			return db.Sanctions().Insert(ctx, sanction("s-1"), 1)
		}, "sanction s-1 exists already"},
		{"sanction batch", func(ctx context.Context, db *sqlstore.DB) error {
			return db.Sanctions().InsertMany(ctx, []*enforce.Sanction{sanction("s-2"), sanction("s-3")}, 2)
		}, "a sanction of the batch exists already"},
		{"bulk target", func(ctx context.Context, db *sqlstore.DB) error {
			return db.BulkActions().AddTargets(ctx, "b-1", target)
		}, "a row of bulk_targets with the same (action, ord) exists already"},
		{"copied sanction batch", func(ctx context.Context, db *sqlstore.DB) error {
			return db.Sanctions().InsertMany(ctx, batch, 10)
		}, "a sanction of the batch exists already"},
		{"copied bulk targets", func(ctx context.Context, db *sqlstore.DB) error {
			return db.BulkActions().AddTargets(ctx, "b-2", targets)
		}, "a row of bulk_targets with the same (action, ord) exists already"},
		{"webhook delivery", func(ctx context.Context, db *sqlstore.DB) error {
			return db.Webhooks().Record(ctx, "me", delivery, 0)
		}, "a row of webhook_deliveries with the same (id) exists already"},
	}
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		for _, tt := range tests {
			write := func(ctx context.Context) error { return tt.write(ctx, db) }
			if err := db.Write(ctx, write); err != nil {
				t.Fatalf("%s: first write: %v", tt.name, err)
			}
			err := db.Write(ctx, write)
			if errs.CodeOf(err) != errs.Conflict || err.Error() != tt.want {
				t.Errorf("%s: second write: %v (%s), want conflict %q", tt.name, err, errs.CodeOf(err), tt.want)
			}
		}
	})
}

// A full disk refuses writes with errs.StorageFull and leaves nothing half written;
// Ready reports it until there is room again, and then writes work as before.
func TestStorageFull(t *testing.T) {
	db := storetest.Open(t, "sqlite")
	put := func(id string) error {
		a := account(id)
		a.Attributes = map[string]any{"bio": strings.Repeat("x", 20000)} // spans new pages
		return db.Write(ctx, func(ctx context.Context) error { _, err := db.Accounts().Put(ctx, a); return err })
	}
	if err := put("before"); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("ready: %v", err)
	}
	if err := db.SetMaxPages(false); err != nil {
		t.Fatal(err)
	}
	err := put("during")
	if errs.CodeOf(err) != errs.StorageFull || !strings.Contains(err.Error(), "storage is full") {
		t.Fatalf("write on a full disk: %v (code %s), want storage_full", err, errs.CodeOf(err))
	}
	if _, err := db.Accounts().Get(ctx, "during"); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("the refused write left its account: %v", err)
	}
	if err := db.Ready(ctx); errs.CodeOf(err) != errs.StorageFull {
		t.Fatalf("ready on a full disk: %v, want storage_full", err)
	}
	if err := db.Ready(ctx); errs.CodeOf(err) != errs.StorageFull { // still, and no probe row left behind
		t.Fatalf("ready asked again: %v", err)
	}
	if err := db.SetMaxPages(true); err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(ctx); err != nil {
		t.Fatalf("ready once there is room: %v", err)
	}
	if err := put("after"); err != nil {
		t.Fatalf("write once there is room: %v", err)
	}
}
