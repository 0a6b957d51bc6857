package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// A batch's rows read back as written, whether few (multi-row INSERTs) or many (copied
// on PostgreSQL): every column, NULLs, and the order audit entries and events take.
func TestBatchRowsReadBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		for _, n := range []int{3, 150} {
			t.Run(fmt.Sprint(n), func(t *testing.T) { batchRowsReadBack(t, db, n) })
		}
	})
}

func batchRowsReadBack(t *testing.T, db *sqlstore.DB, n int) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)
	prefix := fmt.Sprintf("n%d-", n)
	sns := make([]*enforce.Sanction, n)
	notices := make([]*notify.Notice, n)
	entries := make([]*audit.Entry, n)
	targets := make([]bulk.Target, n)
	events := make([]*notify.Event, n)
	for i := range n {
		id := fmt.Sprintf("%ss-%03d", prefix, i)
		acc := fmt.Sprintf("%sa-%03d", prefix, i)
		sn := &enforce.Sanction{ID: id, Account: acc, Kind: enforce.Ban, ReasonCode: "fraud", Policy: "p",
			Source: enforce.Source("bulk"), Start: at, Scope: enforce.Scope{Services: []string{"chat", "pay"}}}
		if i%2 == 0 { // every other one ends, bears a strike and was lifted: the nullable columns set
			end := at.Add(time.Hour)
			sn.End = &end
			sn.Source, sn.Strike = enforce.FromStrike, &enforce.Strike{Until: at.Add(24 * time.Hour), Withdrawn: i%4 == 0}
			sn.Lifted = &enforce.Lift{At: at.Add(time.Minute), Reason: "wrong"}
		}
		sns[i] = sn
		notices[i] = &notify.Notice{ID: fmt.Sprintf("%sn-%03d", prefix, i), Account: acc, Event: enforce.Created,
			Sanction: id, Locale: "zh-CN", Subject: "封禁", Body: "正文 " + id, CreatedAt: at}
		entries[i] = &audit.Entry{Time: at, Actor: principal.Principal{Name: prefix + "carla", Role: principal.Compliance},
			Action: "sanction.create", Subject: acc, RequestID: "bulk:" + prefix, Digest: id}
		targets[i] = bulk.Target{Ord: int64(i + 1), Account: acc, Sanction: id}
		events[i] = &notify.Event{ID: fmt.Sprintf("%se-%03d", prefix, i), Type: "sanction.created", Account: acc,
			Time: at, Data: json.RawMessage(`{"n":` + fmt.Sprint(i) + `}`)}
	}
	var first, afterEvent int64
	err := db.Write(ctx, func(ctx context.Context) error {
		var err error
		if first, err = db.Sanctions().NextSeqs(ctx, n); err != nil {
			return err
		}
		if err := db.Sanctions().InsertMany(ctx, sns, first); err != nil {
			return err
		}
		if err := db.Notices().Insert(ctx, notices...); err != nil {
			return err
		}
		if err := db.Audit().Append(ctx, entries); err != nil {
			return err
		}
		if err := db.BulkActions().AddTargets(ctx, prefix+"b", targets); err != nil {
			return err
		}
		return db.Webhooks().Enqueue(ctx, events...)
	})
	if err != nil {
		t.Fatal(err)
	}
	afterEvent = events[0].Seq - 1

	changes, err := db.Sanctions().Changes(ctx, first-1, n+1)
	if err != nil || len(changes) != n {
		t.Fatalf("changes: %d, %v; want %d", len(changes), err, n)
	}
	ids := make([]string, n)
	for i, sn := range sns {
		ids[i] = sn.ID
		c := changes[i]
		end := int64(enforce.NoEnd)
		if sn.Lifted != nil {
			end = sn.Lifted.At.UnixNano()
		}
		if c.Sanction != sn.ID || c.Account != sn.Account || c.Seq != first+int64(i) || c.Start != at.UnixNano() ||
			c.End != end || !reflect.DeepEqual(c.Services, []string{"chat", "pay"}) || c.Policy != "p" {
			t.Fatalf("change %d: %+v", i, c)
		}
		strikes, err := db.Sanctions().CountStrikes(ctx, sn.Account, "p", at)
		if want := map[bool]int{true: 1}[sn.Strike != nil && !sn.Strike.Withdrawn]; err != nil || strikes != want {
			t.Fatalf("strikes of %s: %d, %v; want %d", sn.Account, strikes, err, want)
		}
	}
	got, err := db.Sanctions().GetMany(ctx, ids)
	if err != nil || len(got) != n {
		t.Fatalf("get many: %d, %v", len(got), err)
	}
	for _, sn := range sns {
		if g := got[sn.ID]; g == nil || g.Account != sn.Account || (g.End == nil) != (sn.End == nil) {
			t.Fatalf("sanction %s read back as %+v", sn.ID, g)
		}
	}

	for _, nt := range []*notify.Notice{notices[0], notices[n-1]} {
		ns, err := db.Notices().List(ctx, nt.Account, "", 10)
		if err != nil || len(ns) != 1 || !reflect.DeepEqual(ns[0], nt) {
			t.Fatalf("notices of %s: %+v, %v; want %+v", nt.Account, ns, err, nt)
		}
	}

	pending, err := db.Audit().Pending(ctx, 1000)
	var rows []audit.Row
	for _, r := range pending {
		var e audit.Entry
		if json.Unmarshal(r.Leaf, &e) == nil && e.Actor.Name == prefix+"carla" {
			rows = append(rows, r)
		}
	}
	if err != nil || len(rows) != n {
		t.Fatalf("audit entries: %d, %v; want %d", len(rows), err, n)
	}
	for i, r := range rows {
		if string(r.Leaf) != string(entries[i].Leaf()) || (i > 0 && r.ID <= rows[i-1].ID) {
			t.Fatalf("audit entry %d: %+v, want the leaf %s in append order", i, r, entries[i].Leaf())
		}
	}

	ts, err := db.BulkActions().Targets(ctx, prefix+"b", 0, int64(n), n+1)
	if err != nil || !reflect.DeepEqual(ts, targets) {
		t.Fatalf("targets: %+v, %v", ts, err)
	}

	evs, err := db.Webhooks().Pending(ctx, afterEvent, n+1)
	if err != nil || len(evs) != n {
		t.Fatalf("events: %d, %v; want %d", len(evs), err, n)
	}
	for i, e := range evs {
		if e.ID != events[i].ID || e.Seq != events[i].Seq || string(e.Data) != string(events[i].Data) || !e.Time.Equal(at) {
			t.Fatalf("event %d: %+v, want %+v", i, e, events[i])
		}
	}
}

// Only strikes are in the strikes index (migration 0042), and counting them still goes
// through it on both databases.
func TestStrikeIndexHoldsOnlyStrikes(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			db, err := sqlstore.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			raw := storetest.OpenRaw(t, cfg)
			plan := func(q string) string {
				t.Helper()
				explain, cols := "EXPLAIN QUERY PLAN ", 4
				if kind == "postgres" {
					explain, cols = "EXPLAIN ", 1
				}
				conn, err := raw.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if kind == "postgres" { // the table is empty: make the planner show what it can use
					if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
						t.Fatal(err)
					}
				}
				rows, err := conn.QueryContext(ctx, explain+q)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out strings.Builder
				for rows.Next() {
					vals := make([]any, cols)
					ptrs := make([]any, cols)
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Fatal(err)
					}
					fmt.Fprintln(&out, vals...)
				}
				return out.String()
			}
			if p := plan(`SELECT count(*) FROM sanctions WHERE account = 'a' AND policy = 'p' AND source = 'strike'
				AND strike_withdrawn = false AND strike_until > 0`); !strings.Contains(p, "sanctions_strikes") {
				t.Errorf("counting strikes does not use the strikes index:\n%s", p)
			}
			var def string
			q := "SELECT sql FROM sqlite_master WHERE name = 'sanctions_strikes'"
			if kind == "postgres" {
				q = "SELECT indexdef FROM pg_indexes WHERE indexname = 'sanctions_strikes' AND schemaname = current_schema()"
			}
			if err := raw.QueryRow(q).Scan(&def); err != nil || !strings.Contains(def, "strike_until IS NOT NULL") {
				t.Errorf("strikes index: %q, %v; want it partial, on strike_until IS NOT NULL", def, err)
			}
		})
	}
}
