package sqlstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// /metrics shows the workers' lags and states as the database holds them: audit
// entries waiting for the sequencer, a webhook's undelivered events, bulk actions by
// state, appeal SLA breaches.
func TestSignals(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db, raw := openRaw(t, kind)
			a := storetest.NewApp(t, db, app.Config{})
			err := db.Write(ctx, func(ctx context.Context) error {
				_, err := a.Stores.Webhooks.PutWebhook(ctx, &notify.Webhook{Name: "platform", URL: "https://platform.example/hook",
					Secret: "s3cret-s3cret-s3cret", Events: []string{"account.created"}})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			serviceCtx := principal.NewContext(ctx, principal.Principal{Name: "backend", Role: principal.Service})
			for _, id := range []string{"a1", "a2", "a3"} {
				if _, err := a.Accounts.Put(serviceCtx, account(id)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := raw.Exec("INSERT INTO outbox (seq, id, type, account, time, data) VALUES (1, 'e1', 'account.created', 'a1', " +
				strconv.FormatInt(before.Add(-time.Minute).UnixNano(), 10) + ", '{}'), (2, 'e2', 'account.created', 'a2', " + strconv.FormatInt(before.UnixNano(), 10) + ", '{}')"); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec("UPDATE outbox_seq SET n = 2"); err != nil {
				t.Fatal(err)
			}
			sg, err := db.Signals(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if sg.AuditPending < 3 || sg.AuditOldest.Before(before.Add(-time.Minute)) || len(sg.Outbox) != 1 || sg.Outbox[0].Events != 2 ||
				!sg.Outbox[0].Oldest.Equal(before.Add(-time.Minute).UTC().Truncate(time.Nanosecond)) {
				t.Fatalf("signals: %+v", sg)
			}
			reg := prometheus.NewPedanticRegistry()
			reg.MustRegister(a.Signals)
			want := `# HELP steward_webhook_outbox_lag_events Outbox events after the last one given to the webhook.
# TYPE steward_webhook_outbox_lag_events gauge
steward_webhook_outbox_lag_events{webhook="platform"} 2
# HELP steward_bulk_actions Bulk actions by state.
# TYPE steward_bulk_actions gauge
steward_bulk_actions{state="canary"} 0
steward_bulk_actions{state="done"} 0
steward_bulk_actions{state="draft"} 0
steward_bulk_actions{state="paused"} 0
steward_bulk_actions{state="preparing"} 0
steward_bulk_actions{state="reverted"} 0
steward_bulk_actions{state="reverting"} 0
steward_bulk_actions{state="running"} 0
# HELP steward_appeal_sla_breaches_total Appeals whose SLA deadline passed undecided.
# TYPE steward_appeal_sla_breaches_total counter
steward_appeal_sla_breaches_total 0
# HELP steward_signals_up 1 when the last scrape read the workers' signals from the database, else 0.
# TYPE steward_signals_up gauge
steward_signals_up 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "steward_webhook_outbox_lag_events", "steward_bulk_actions",
				"steward_appeal_sla_breaches_total", "steward_signals_up"); err != nil {
				t.Error(err)
			}
			if n := testutil.CollectAndCount(a.Signals, "steward_audit_sequencer_lag_entries", "steward_audit_sequencer_lag_seconds", "steward_webhook_outbox_lag_seconds"); n != 3 {
				t.Errorf("%d lag series, want entries and seconds for the sequencer and one webhook", n)
			}
			// A webhook that caught up lags by nothing.
			if _, err := raw.Exec("UPDATE webhooks SET cursor = 2"); err != nil {
				t.Fatal(err)
			}
			if sg, err := db.Signals(ctx); err != nil || sg.Outbox[0].Events != 0 || !sg.Outbox[0].Oldest.IsZero() {
				t.Fatalf("after delivery: %+v, %v", sg, err)
			}
		})
	}
}
