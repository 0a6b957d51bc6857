package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/idempotency"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

var ctx = context.Background()

func account(id string) *accounts.Account {
	return &accounts.Account{
		ID: id, Region: "yn", Verified: true, Locale: "zh-CN",
		CreatedAt:  time.Date(2011, 3, 4, 5, 6, 7, 8, time.UTC),
		UpdatedAt:  time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Attributes: map[string]any{"risk": 0.25, "tier": "gold", "kyc": true},
		Linked:     []accounts.Link{{Service: "game", Account: "g-" + id}},
	}
}

func countRows(t *testing.T, db *sqlstore.DB, table string) int {
	t.Helper()
	n, err := db.Count(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := db.Accounts()
		var created bool
		err := db.Write(ctx, func(ctx context.Context) (err error) {
			created, err = s.Put(ctx, account("a1"))
			return err
		})
		if err != nil || !created {
			t.Fatalf("first put: created=%v err=%v", created, err)
		}
		got, err := s.Get(ctx, "a1")
		if err != nil {
			t.Fatal(err)
		}
		want := account("a1")
		if fmt.Sprint(got) != fmt.Sprint(want) || !got.CreatedAt.Equal(want.CreatedAt) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}

		changed := account("a1")
		changed.Region, changed.Verified = "gd", false
		err = db.Write(ctx, func(ctx context.Context) (err error) {
			created, err = s.Put(ctx, changed)
			return err
		})
		if err != nil || created {
			t.Fatalf("replace: created=%v err=%v", created, err)
		}
		if got, _ := s.Get(ctx, "a1"); got.Region != "gd" || got.Verified {
			t.Fatalf("replace not stored: %+v", got)
		}

		if _, err := s.Get(ctx, "nobody"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("missing account: got %v, want not_found", err)
		}
	})
}

func TestAccountsPutManyAndList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := db.Accounts()
		var batch []*accounts.Account
		for i := range 1234 { // more than two statements' worth, and a partial one
			a := account(fmt.Sprintf("acct-%05d", i))
			if i%3 == 0 {
				a.Region = "gd"
			}
			batch = append(batch, a)
		}
		put := func(as []*accounts.Account) int {
			var n int
			if err := db.Write(ctx, func(ctx context.Context) (err error) {
				n, err = s.PutMany(ctx, as)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := put(batch[:600]); n != 600 {
			t.Fatalf("created %d, want 600", n)
		}
		if n := put(batch); n != 634 {
			t.Fatalf("created %d, want 634 (600 replaced)", n)
		}

		var seen []string
		after := ""
		for {
			page, err := s.List(ctx, accounts.Filter{Region: "gd", After: after, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, a := range page {
				if a.Region != "gd" {
					t.Fatalf("filter leaked %s in %s", a.ID, a.Region)
				}
				seen = append(seen, a.ID)
			}
			after = page[len(page)-1].ID
		}
		if len(seen) != 412 {
			t.Fatalf("listed %d accounts in gd, want 412", len(seen))
		}

		// Locales answers for the accounts that exist, across statements of 500.
		batch[7].Locale = "zh-CN"
		put(batch[7:8])
		ids := []string{"acct-99999"}
		for _, a := range batch {
			ids = append(ids, a.ID)
		}
		locales, err := s.Locales(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(locales) != len(batch) || locales["acct-00007"] != "zh-CN" || locales["acct-00008"] != batch[8].Locale || locales["acct-01233"] == "" {
			t.Fatalf("%d locales (want %d): acct-00007 %q, acct-00008 %q", len(locales), len(batch), locales["acct-00007"], locales["acct-00008"])
		}
		if _, ok := locales["acct-99999"]; ok {
			t.Fatal("a locale for an account that does not exist")
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] <= seen[i-1] {
				t.Fatalf("not in ID order: %s after %s", seen[i], seen[i-1])
			}
		}
	})
}

// Scan reads every account exactly once, whatever the number of readers and pages, and
// stops at the first error of its callback.
func TestAccountsScan(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := db.Accounts()
		var batch []*accounts.Account
		for i := range 1234 {
			batch = append(batch, account(fmt.Sprintf("acct-%05d", (i*7919)%100000)))
		}
		if err := db.Write(ctx, func(ctx context.Context) error {
			_, err := s.PutMany(ctx, batch)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, parts := range []int{1, 2, 3, 7} {
			var mu sync.Mutex
			seen := map[string]int{}
			byPart := map[int]int{}
			err := s.Scan(ctx, accounts.ScanOptions{Parts: parts, Page: 100}, func(part int, page []*accounts.Account) error {
				mu.Lock()
				defer mu.Unlock()
				if part < 0 || part >= parts || len(page) > 100 {
					t.Errorf("part %d of %d, page of %d", part, parts, len(page))
				}
				byPart[part] += len(page)
				for _, a := range page {
					seen[a.ID]++
					if want := account(a.ID); !reflect.DeepEqual(a, want) {
						t.Errorf("scanned %+v, want %+v", a, want)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != len(batch) {
				t.Fatalf("%d readers saw %d accounts, want %d", parts, len(seen), len(batch))
			}
			for id, n := range seen {
				if n != 1 {
					t.Fatalf("%d readers saw %s %d times", parts, id, n)
				}
			}
			if parts > 1 && len(byPart) < 2 {
				t.Errorf("%d readers asked for, pages came from %v", parts, byPart)
			}
		}
		// List leaves the skipped columns out too.
		list, err := s.List(ctx, accounts.Filter{Limit: 3, Skip: accounts.AllColumns &^ accounts.WithLinked})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			want := account(a.ID)
			want.Locale, want.Attributes, want.UpdatedAt = "", nil, time.Time{}
			if !reflect.DeepEqual(a, want) {
				t.Fatalf("listed %+v, want %+v", a, want)
			}
		}
		stop := errors.New("stop")
		// Only the columns asked for.
		err = s.Scan(ctx, accounts.ScanOptions{Parts: 2, Page: 500, Skip: accounts.AllColumns &^ accounts.WithAttributes, Reuse: true}, func(_ int, page []*accounts.Account) error {
			for _, a := range page {
				want := account(a.ID)
				want.Locale, want.Linked, want.UpdatedAt = "", nil, time.Time{}
				if !reflect.DeepEqual(a, want) {
					return fmt.Errorf("scanned %+v, want %+v", a, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Scan(ctx, accounts.ScanOptions{Parts: 2, Page: 10}, func(int, []*accounts.Account) error { return stop }); !errors.Is(err, stop) {
			t.Fatalf("Scan returned %v, want the callback's error", err)
		}
	})
}

func TestWriteOutsideTransactionFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		if _, err := db.Accounts().Put(ctx, account("a1")); err == nil {
			t.Fatal("a write outside DB.Write succeeded; it must fail so no change escapes its audit entry")
		}
	})
}

// Many concurrent transactions share commits; the ones that fail leave no trace and do
// not undo the others.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := db.Accounts()
		rec := audit.NewRecorder(db.Audit())
		var wg sync.WaitGroup
		errc := make(chan error, 200)
		for i := range 200 {
			wg.Go(func() {
				err := db.Write(ctx, func(ctx context.Context) error {
					a := account(fmt.Sprintf("g-%03d", i))
					if _, err := s.Put(ctx, a); err != nil {
						return err
					}
					if err := rec.Record(ctx, audit.Change{Action: "account.put", Subject: a.ID, Value: a}); err != nil {
						return err
					}
					if i%4 == 0 {
						return errs.E(errs.Invalid, "refused %d", i)
					}
					return nil
				})
				if (err != nil) != (i%4 == 0) {
					errc <- fmt.Errorf("transaction %d: err=%v", i, err)
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		if n := countRows(t, db, "accounts"); n != 150 {
			t.Errorf("accounts: %d rows, want 150", n)
		}
		if n := countRows(t, db, "audit_entries"); n != 150 {
			t.Errorf("audit entries: %d rows, want 150 (one per committed change)", n)
		}
	})
}

func TestWritePanicIsAnError(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		err := db.Write(ctx, func(ctx context.Context) error {
			if _, err := db.Accounts().Put(ctx, account("p1")); err != nil {
				return err
			}
			panic("boom")
		})
		if err == nil {
			t.Fatal("panic was not reported")
		}
		if _, err := db.Accounts().Get(ctx, "p1"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("write before the panic survived: %v", err)
		}
		if err := db.Write(ctx, func(ctx context.Context) error { return nil }); err != nil {
			t.Fatalf("committer is broken after a panic: %v", err)
		}
	})
}

func TestKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ring := storetest.NewApp(t, db, app.Config{}).Keys
		secret, k, err := ring.Create(ctx, principal.Reviewer, "alice", 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ring.Authenticate(ctx, secret)
		if err != nil || got.Credential != k.ID || got.Role != principal.Reviewer || got.Name != "alice" {
			t.Fatalf("authenticate: %+v, %v", got, err)
		}
		if _, _, err := ring.Create(ctx, principal.Admin, "alice", 0); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("duplicate name: %v, want conflict", err)
		}
		if _, err := ring.Authenticate(ctx, secret+"x"); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("wrong secret: %v, want unauthorized", err)
		}
		if n := countRows(t, db, "audit_entries"); n != 1 {
			t.Fatalf("audit entries: %d, want 1 (the refused duplicate leaves none)", n)
		}
	})
}

func TestIdempotency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := db.Idempotency()
		rec := &idempotency.Record{Principal: "k1", Key: "abc", RequestHash: []byte{1, 2}, Status: 201, Body: []byte(`{"a":1}`), CreatedAt: time.Now()}
		if err := db.Write(ctx, func(ctx context.Context) error { return s.Save(ctx, rec) }); err != nil {
			t.Fatal(err)
		}
		got, err := s.Lookup(ctx, "k1", "abc")
		if err != nil || got == nil || got.Status != 201 || string(got.Body) != `{"a":1}` {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		if got, err := s.Lookup(ctx, "k2", "abc"); got != nil || errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("keys must be scoped to their principal: %+v %v", got, err)
		}
		err = db.Write(ctx, func(ctx context.Context) error { return s.Save(ctx, rec) })
		if errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("second save: %v, want conflict", err)
		}
	})
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		st, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Applied) != 0 || st.Version == 0 {
			t.Fatalf("second migrate: %+v, want nothing applied", st)
		}
	})
}

func TestCloseCommitsQueuedWrites(t *testing.T) {
	cfg := storetest.Config(t, "sqlite")
	db, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var committed sync.Map
	for i := range 50 {
		wg.Go(func() {
			err := db.Write(ctx, func(ctx context.Context) error {
				_, err := db.Accounts().Put(ctx, account(fmt.Sprintf("c-%02d", i)))
				return err
			})
			if err == nil {
				committed.Store(i, true)
			} else if !errors.Is(err, sqlstore.ErrClosed) {
				t.Errorf("write %d: %v", i, err)
			}
		})
	}
	time.Sleep(time.Millisecond)
	db.Close()
	wg.Wait()
	n := 0
	committed.Range(func(any, any) bool { n++; return true })
	if err := db.Write(ctx, func(context.Context) error { return nil }); !errors.Is(err, sqlstore.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	// Every write either committed or was told the database closed; none hangs, and
	// every one that was told it committed is there after reopening.
	db, err = sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := countRows(t, db, "accounts"); got != n {
		t.Fatalf("%d accounts after reopening, %d writes reported committed", got, n)
	}
}

// A user token acts as its account until it expires or is ended, and is made only for
// an account that exists; both are audited.
func TestUserTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ring := storetest.NewApp(t, db, app.Config{}).Keys
		if _, err := db.Accounts().Get(ctx, "u-1"); errs.CodeOf(err) != errs.NotFound {
			t.Fatal("fixture: u-1 exists")
		}
		if _, _, err := ring.IssueToken(ctx, "u-1", 0); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("token for an unknown account: %v, want not found", err)
		}
		if err := db.Write(ctx, func(ctx context.Context) error { _, err := db.Accounts().Put(ctx, account("u-1")); return err }); err != nil {
			t.Fatal(err)
		}
		for _, ttl := range []time.Duration{time.Second, 25 * time.Hour, -time.Minute} {
			if _, _, err := ring.IssueToken(ctx, "u-1", ttl); !slices.ContainsFunc(errs.FieldsOf(err), func(f errs.FieldError) bool { return f.Field == "ttl" }) {
				t.Fatalf("ttl %v: %v, want a 400 naming ttl", ttl, err)
			}
		}
		secret, tok, err := ring.IssueToken(ctx, "u-1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "stu_") || tok.ExpiresAt.Sub(tok.CreatedAt) != auth.DefaultTokenTTL {
			t.Fatalf("token %q lasting %v, want stu_… lasting %v", secret, tok.ExpiresAt.Sub(tok.CreatedAt), auth.DefaultTokenTTL)
		}
		p, err := ring.Authenticate(ctx, secret)
		if err != nil || !p.IsUser() || p.Account() != "u-1" || p.Credential != tok.ID {
			t.Fatalf("authenticate: %+v, %v", p, err)
		}
		if _, err := ring.RevokeToken(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := ring.Authenticate(ctx, secret); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("ended token: %v, want unauthorized", err)
		}
		if _, err := ring.RevokeToken(ctx, p); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("ending it again: %v, want not found", err)
		}
		if n := countRows(t, db, "audit_entries"); n != 2 { // the token, its end
			t.Fatalf("audit entries: %d, want 2", n)
		}
	})
}
