package bulk_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// notify_users: false spares the targets their notices, and only that: a webhook that
// subscribes still gets every sanction's event. notify, its old name, still works.
func TestNotifyUsersApartFromEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := storetest.NewApp(t, db, app.Config{Bulk: bulk.Config{Page: 50, Batch: 7, Poll: 10 * time.Millisecond}})
		p := &process{accounts: a.Accounts, enforce: a.Enforce, ix: a.Index, bulk: a.Bulk}
		ex := seed(t, db, p, 500)
		err := db.Write(context.Background(), func(ctx context.Context) error {
			_, err := a.Stores.Webhooks.PutWebhook(ctx, &notify.Webhook{Name: "platform", URL: "https://platform.example/hook", Secret: "s3cret-s3cret-s3cret",
				Events: []string{"sanction.created", notify.NoticeCreated}})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		notices0, outbox0 := count(t, db, "notices"), count(t, db, "outbox")
		no, yes := false, true
		cases := []struct {
			name              string
			notifyUsers, old  *bool
			notices, perEvent int // notices per target; outbox events per target
		}{
			{"notify_users false", &no, nil, 0, 1},
			{"notify false (the old name)", nil, &no, 0, 1},
			{"default", nil, nil, 1, 2},
			{"both true", &yes, &yes, 1, 2},
		}
		for i, c := range cases {
			r := sweep()
			r.Sanction.Scope.Services = []string{fmt.Sprintf("game-%d", i)} // not alike the last sweep's
			r.NotifyUsers, r.Notify = c.notifyUsers, c.old
			act, err := p.bulk.Create(compliance, r)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if want := c.notices == 1; act.NotifyUsers != want {
				t.Fatalf("%s: the action's notify_users is %v, want %v", c.name, act.NotifyUsers, want)
			}
			zero := 0.0
			if _, err := p.bulk.Execute(compliance, act.ID, bulk.ExecuteRequest{CanaryPercent: &zero}); err != nil {
				t.Fatal(err)
			}
			runUntil(t, p, act.ID, bulk.Done)
			notices, outbox := count(t, db, "notices")-notices0, count(t, db, "outbox")-outbox0
			if notices != c.notices*ex.toSanction || outbox != c.perEvent*ex.toSanction {
				t.Fatalf("%s: %d notices and %d webhook events for %d targets, want %d and %d",
					c.name, notices, outbox, ex.toSanction, c.notices*ex.toSanction, c.perEvent*ex.toSanction)
			}
			notices0, outbox0 = notices0+notices, outbox0+outbox
		}

		// The two names saying opposite things are refused, naming the old one.
		r := sweep()
		r.NotifyUsers, r.Notify = &yes, &no
		_, err = p.bulk.Create(compliance, r)
		if f := errs.FieldsOf(err); len(f) != 1 || f[0].Field != "notify" {
			t.Fatalf("notify_users true with notify false: %v, want a field error on notify", err)
		}
	})
}
