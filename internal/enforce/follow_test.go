package enforce_test

import (
	"context"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// process is one Steward process's enforcement: its own database handle, index,
// follower and service.
type process struct {
	db  *sqlstore.DB
	ix  *enforce.Index
	svc *enforce.Service
}

func startProcess(t *testing.T, cfg sqlstore.Config) *process {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ix := enforce.NewIndex()
	f := enforce.NewFollower(db.Sanctions(), ix, nil)
	if cfg.URL != "" {
		f.Poll = time.Second // as slow as the bound: on PostgreSQL notifications must meet it
	}
	if _, err := f.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	svc := enforce.NewService(db.Sanctions(), db.Accounts(), db, audit.NewRecorder(db.Audit()), ix, enforce.Config{})
	return &process{db: db, ix: ix, svc: svc}
}

// within reports how long it took the index to decide want, failing past limit.
func within(t *testing.T, ix *enforce.Index, account, capability string, want bool, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		got := len(ix.Decide(nil, account, capability, time.Now().UnixNano())) == 0
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s %s still allowed=%v after %v", account, capability, got, limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A sanction written through one process is enforced by another sharing the database
// within a second; so is its lift. On PostgreSQL the news comes by LISTEN/NOTIFY, on
// SQLite by polling.
func TestTwoProcessesPropagation(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			a := startProcess(t, cfg)
			b := startProcess(t, cfg)
			putAccounts(t, a.db, "u1")
			ctx := principal.NewContext(context.Background(), principal.Principal{Name: "rita", Role: principal.Reviewer})
			limit := time.Second
			if kind == "sqlite" {
				limit = 500 * time.Millisecond // polls only, every enforce.DefaultPoll
			}
			for i := range 3 {
				sn, err := a.svc.Impose(ctx, &enforce.Sanction{Account: "u1", Kind: enforce.Ban, ReasonCode: "fraud",
					Scope: enforce.Scope{Services: []string{"pay"}}, Authority: authority.Authority{Kind: authority.Automated, Rule: "r"}})
				if err != nil {
					t.Fatal(err)
				}
				if len(a.ix.Decide(nil, "u1", "pay.transfer", time.Now().UnixNano())) == 0 {
					t.Fatal("the writing process does not enforce its own sanction once the write returned")
				}
				t.Logf("round %d: sanction seen by the other process in %v", i, within(t, b.ix, "u1", "pay.transfer", false, limit))
				if _, err := a.svc.Lift(ctx, sn.ID, enforce.LiftRequest{Reason: "test"}); err != nil {
					t.Fatal(err)
				}
				t.Logf("round %d: lift seen in %v", i, within(t, b.ix, "u1", "pay.transfer", true, limit))
			}
			// A process started after the writes loads the same state.
			c := startProcess(t, cfg)
			if c.ix.Len() != 0 {
				t.Fatalf("a new process loaded %d accounts, want 0 (every sanction was lifted)", c.ix.Len())
			}
		})
	}
}
