package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/idempotency"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/retention"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// The sweeper deletes idempotency records, delivery history and notices past their
// horizons, in batches, and leaves the young ones.
func TestRetentionSweep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		ages := []time.Duration{time.Hour, 8 * 24 * time.Hour, 100 * 24 * time.Hour, 3 * 365 * 24 * time.Hour}
		err := db.Write(ctx, func(ctx context.Context) error {
			for i, age := range ages {
				at := now.Add(-age)
				if err := db.Idempotency().Save(ctx, &idempotency.Record{Principal: "k1", Key: fmt.Sprint(i), RequestHash: []byte{1}, Status: 200, Body: []byte("{}"), CreatedAt: at}); err != nil {
					return err
				}
				if err := db.Notices().Insert(ctx, &notify.Notice{ID: uuid.Must(uuid.NewV7()).String(), Account: "u-1", Event: enforce.Created,
					Sanction: "s", Locale: "en", Subject: "s", Body: "b", CreatedAt: at}); err != nil {
					return err
				}
				if err := db.Webhooks().Record(ctx, "", &notify.Delivery{ID: uuid.Must(uuid.NewV7()).String(), Webhook: "w", Event: "e", EventType: "t",
					Account: "u-1", Attempt: 1, Status: 200, Outcome: "delivered", At: at}, 0); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sw := retention.NewSweeper(db.Retention(), db, retention.Config{Batch: 1, Now: func() time.Time { return now }})
		counts, err := sw.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Defaults: idempotency 7 days, deliveries 90 days, notices 2 years.
		if counts[retention.Idempotency] != 3 || counts[retention.Deliveries] != 2 || counts[retention.Notices] != 1 {
			t.Fatalf("swept %v, want 3 idempotency records, 2 deliveries, 1 notice", counts)
		}
		for table, want := range map[string]int{"idempotency": 1, "webhook_deliveries": 2, "notices": 3} {
			if n := countRows(t, db, table); n != want {
				t.Errorf("%s: %d rows left, want %d", table, n, want)
			}
		}
		if counts, err := sw.Sweep(ctx); err != nil || counts[retention.Idempotency]+counts[retention.Deliveries]+counts[retention.Notices] != 0 {
			t.Fatalf("a second sweep: %v, %v, want nothing left to delete", counts, err)
		}
	})
}

// An idempotency record past its time is ignored by lookups before it is swept, and a
// new request with its key replaces it.
func TestIdempotencyRecordExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := db.Idempotency().WithTTL(time.Hour)
		old := &idempotency.Record{Principal: "k1", Key: "abc", RequestHash: []byte{1}, Status: 201, Body: []byte(`{"a":1}`), CreatedAt: time.Now().Add(-2 * time.Hour)}
		if err := db.Write(ctx, func(ctx context.Context) error { return s.Save(ctx, old) }); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Lookup(ctx, "k1", "abc"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("an expired record: %+v, %v, want not found", got, err)
		}
		if got, err := db.Idempotency().Lookup(ctx, "k1", "abc"); err != nil || got.Status != 201 {
			t.Fatalf("without a TTL the record stays: %+v, %v", got, err)
		}
		fresh := &idempotency.Record{Principal: "k1", Key: "abc", RequestHash: []byte{2}, Status: 200, Body: []byte(`{"b":2}`), CreatedAt: time.Now()}
		if err := db.Write(ctx, func(ctx context.Context) error { return s.Save(ctx, fresh) }); err != nil {
			t.Fatalf("a new request with an expired key: %v", err)
		}
		if got, err := s.Lookup(ctx, "k1", "abc"); err != nil || got.Status != 200 || string(got.Body) != `{"b":2}` {
			t.Fatalf("after the new request: %+v, %v", got, err)
		}
		err := db.Write(ctx, func(ctx context.Context) error { return s.Save(ctx, fresh) })
		if errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("saving over a record in force: %v, want conflict", err)
		}

		// The app's idempotency store keeps records as long as its retention says.
		twoMinutes := &idempotency.Record{Principal: "k1", Key: "old", RequestHash: []byte{1}, Status: 201, Body: []byte("{}"), CreatedAt: time.Now().Add(-2 * time.Minute)}
		if err := db.Write(ctx, func(ctx context.Context) error { return db.Idempotency().Save(ctx, twoMinutes) }); err != nil {
			t.Fatal(err)
		}
		for ttl, want := range map[time.Duration]errs.Code{0: "", time.Minute: errs.NotFound} {
			wired := storetest.NewApp(t, db, app.Config{Retention: retention.Config{Idempotency: ttl}}).Stores.Idempotency
			if _, err := wired.Lookup(ctx, "k1", "old"); errs.CodeOf(err) != want {
				t.Fatalf("the app's store with idempotency TTL %v (0: 7 days) finds a 2-minute-old record: %v, want %q", ttl, err, want)
			}
		}
	})
}

// Thinning old checkpoints leaves every tree size provable: a witness holding any
// checkpoint, kept or deleted, gets a consistency proof to the newest, and verify
// passes over the checkpoints kept. Its count is on the sweeper's metrics.
func TestRetentionThinsCheckpoints(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db, raw := openRaw(t, kind)
			l := openLog(t, db, storetest.AuditKey(t))
			var notes [][]byte // the checkpoint of size i+1, as a witness would hold it
			for range 60 {
				l.record(t, 1)
				notes = append(notes, l.integrate(t).Note)
			}
			// Sizes 1-20 were signed within one day 40 days ago, 21-40 within one hour two
			// days ago, 41-60 an hour apart until now.
			now := time.Date(2026, 6, 1, 12, 30, 0, 0, time.UTC)
			for size := 1; size <= 60; size++ {
				at := now.Add(-40*24*time.Hour + time.Duration(size)*10*time.Minute)
				if size > 20 {
					at = now.Add(-48*time.Hour - 30*time.Minute + time.Duration(size)*time.Minute)
				}
				if size > 40 {
					at = now.Add(-time.Duration(60-size) * time.Hour)
				}
				if _, err := raw.Exec(fmt.Sprintf("UPDATE audit_checkpoints SET created_at = %d WHERE size = %d", at.UnixNano(), size)); err != nil {
					t.Fatal(err)
				}
			}
			sw := retention.NewSweeper(db.Retention(), db, retention.Config{Batch: 7, Now: func() time.Time { return now }})
			counts, err := sw.Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if counts[retention.Checkpoints] != 38 || countRows(t, db, "audit_checkpoints") != 22 {
				t.Fatalf("thinned %d checkpoints, %d left; want 38 deleted and 22 kept (one of the day, one of the hour, 20 hours)",
					counts[retention.Checkpoints], countRows(t, db, "audit_checkpoints"))
			}
			kept, err := db.Audit().Checkpoints(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if kept[0].Size != 20 || kept[1].Size != 40 || kept[2].Size != 41 || kept[21].Size != 60 {
				t.Errorf("kept sizes %d, %d, %d … %d; want the last of the day (20), of the hour (40), then 41 to 60",
					kept[0].Size, kept[1].Size, kept[2].Size, kept[21].Size)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(sw)
			want := `# HELP steward_retention_deleted_total Expired records deleted, by record.
# TYPE steward_retention_deleted_total counter
steward_retention_deleted_total{record="audit_checkpoints"} 38
steward_retention_deleted_total{record="idempotency"} 0
steward_retention_deleted_total{record="notices"} 0
steward_retention_deleted_total{record="webhook_deliveries"} 0
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "steward_retention_deleted_total"); err != nil {
				t.Error(err)
			}
			for i, held := range notes {
				cp, err := audit.Witness(ctx, logSource{l.log}, l.verifier, held)
				if err != nil || cp.Size != 60 {
					t.Fatalf("a witness holding the checkpoint of size %d: %+v, %v", i+1, cp, err)
				}
			}
			rep, err := audit.Verify(ctx, db.Audit(), l.verifier, nil)
			if err != nil || rep.Checkpoints != 22 || rep.Entries != 60 {
				t.Fatalf("verify after thinning: %+v, %v", rep, err)
			}
			// The log goes on growing after thinning.
			l.record(t, 3)
			l.integrate(t)
			if cp, err := audit.Witness(ctx, logSource{l.log}, l.verifier, notes[4]); err != nil || cp.Size != 63 {
				t.Fatalf("a witness after the log grew: %+v, %v", cp, err)
			}
		})
	}
}

// openRaw opens a new database of kind, and a plain connection to it beside the store
// for a test to change rows behind its back.
func openRaw(t *testing.T, kind string) (*sqlstore.DB, *sql.DB) {
	t.Helper()
	cfg := storetest.Config(t, kind)
	db, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, storetest.OpenRaw(t, cfg)
}
