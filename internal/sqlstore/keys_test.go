package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// Keys are listed, revoked (never the last admin key in use) and rotated, each change
// audited, and a retired key shares its name with its replacement until it expires.
func TestKeyLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ring := storetest.NewApp(t, db, app.Config{}).Keys
		_, a1, err := ring.Create(ctx, principal.Admin, "ops-1", 0)
		if err != nil {
			t.Fatal(err)
		}
		_, a2, err := ring.Create(ctx, principal.Admin, "ops-2", 0)
		if err != nil {
			t.Fatal(err)
		}
		oldSecret, svc, err := ring.Create(ctx, principal.Service, "backend", 90*24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if svc.ExpiresAt == nil || !svc.ExpiresAt.Equal(svc.CreatedAt.Add(90*24*time.Hour)) {
			t.Fatalf("expires_at %v, want 90 days after %v", svc.ExpiresAt, svc.CreatedAt)
		}
		if _, _, err := ring.Create(ctx, principal.Service, "x", -time.Hour); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("a negative lifetime: %v, want invalid", err)
		}

		list, err := ring.List(ctx, "", 10)
		if err != nil || len(list) != 3 || list[0].ID != svc.ID || list[2].ID != a1.ID {
			t.Fatalf("list: %v, %v, want the three keys newest first", list, err)
		}
		if list[0].ExpiresAt == nil || !list[0].ExpiresAt.Equal(*svc.ExpiresAt) {
			t.Fatalf("listed expires_at %v, want %v", list[0].ExpiresAt, svc.ExpiresAt)
		}
		if page, err := ring.List(ctx, list[0].ID, 1); err != nil || len(page) != 1 || page[0].ID != a2.ID {
			t.Fatalf("second page: %v, %v", page, err)
		}
		if _, err := ring.List(ctx, "not-a-key", 1); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("a bad cursor: %v, want invalid", err)
		}

		if _, err := ring.Revoke(ctx, a1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := ring.Revoke(ctx, a1.ID); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("a second revoke: %v, want not found", err)
		}
		if _, err := ring.Revoke(ctx, a2.ID); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("revoking the last admin key in use: %v, want conflict", err)
		}
		if _, err := ring.Revoke(ctx, "0190c7f0-0000-7000-8000-000000000000"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("revoking an unknown key: %v, want not found", err)
		}
		// The name of a revoked key is free again.
		if _, _, err := ring.Create(ctx, principal.Reviewer, "ops-1", 0); err != nil {
			t.Fatalf("reusing a revoked key's name: %v", err)
		}

		newSecret, next, err := ring.Rotate(ctx, "backend", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if next.Name != "backend" || next.Role != principal.Service || next.ID == svc.ID {
			t.Fatalf("rotated key %+v", next)
		}
		for _, s := range []string{oldSecret, newSecret} {
			if _, err := ring.Authenticate(ctx, s); err != nil {
				t.Fatalf("within the grace period both secrets work: %v", err)
			}
		}
		old, err := db.Keys().Get(ctx, svc.ID)
		if err != nil || old.ReplacedBy != next.ID || old.ExpiresAt == nil || old.ExpiresAt.After(next.CreatedAt.Add(time.Hour)) {
			t.Fatalf("retired key %+v, %v: want replaced_by %s, expiring within the hour", old, err, next.ID)
		}
		if _, _, err := ring.Create(ctx, principal.Service, "backend", 0); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("a third key named like the one in use: %v, want conflict", err)
		}
		if _, _, err := ring.Rotate(ctx, "nobody", time.Hour); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("rotating an unknown name: %v, want not found", err)
		}
		if got, err := db.Keys().Get(ctx, next.ID); err != nil || got.LastUsedAt == nil {
			t.Fatalf("last_used_at after a request: %+v, %v", got, err)
		}

		if actions := storetest.PendingActions(t, db); strings.Join(actions, " ") != "key.create key.create key.create key.revoke key.create key.rotate" {
			t.Fatalf("audited %v", actions)
		}
	})
}

// A key may carry its holder's team: stored, listed, carried in the principal it
// authenticates, kept by rotation; a bad team is refused with the other bad fields.
func TestKeyTeam(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ring := storetest.NewApp(t, db, app.Config{}).Keys
		secret, k, err := ring.CreateKey(ctx, auth.KeySpec{Role: principal.Agent, Name: "amy", Team: "cs-hangzhou"})
		if err != nil || k.Team != "cs-hangzhou" {
			t.Fatalf("create: %+v, %v", k, err)
		}
		if _, _, err := ring.CreateKey(ctx, auth.KeySpec{Role: principal.Agent, Name: "bob"}); err != nil {
			t.Fatal(err)
		}
		p, err := ring.Authenticate(ctx, secret)
		if err != nil || p.Team != "cs-hangzhou" || p.Name != "amy" || p.Role != principal.Agent {
			t.Fatalf("principal %+v, %v", p, err)
		}
		list, err := ring.List(ctx, "", 10)
		if err != nil || len(list) != 2 || list[0].Team != "" || list[1].Team != "cs-hangzhou" {
			t.Fatalf("list: %+v, %v", list, err)
		}
		newSecret, next, err := ring.Rotate(ctx, "amy", time.Hour)
		if err != nil || next.Team != "cs-hangzhou" {
			t.Fatalf("rotated: %+v, %v", next, err)
		}
		if p, err := ring.Authenticate(ctx, newSecret); err != nil || p.Team != "cs-hangzhou" {
			t.Fatalf("rotated principal %+v, %v", p, err)
		}
		_, _, err = ring.CreateKey(ctx, auth.KeySpec{Role: "boss", Name: "a b", Team: "no spaces", TTL: -time.Hour})
		var names []string
		for _, f := range errs.FieldsOf(err) {
			names = append(names, f.Field)
		}
		if strings.Join(names, " ") != "role expires name team" {
			t.Fatalf("bad spec: %v, fields %v", err, names)
		}
	})
}

// After a rotation of the only admin key, its successor is the last admin key in use:
// the retiring key (it stops after its grace) may be revoked, the new one may not.
func TestRotatedAdminIsNotCountedTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ring := storetest.NewApp(t, db, app.Config{}).Keys
		_, old, err := ring.Create(ctx, principal.Admin, "root", 0)
		if err != nil {
			t.Fatal(err)
		}
		_, next, err := ring.Rotate(ctx, "root", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ring.Revoke(ctx, next.ID); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("revoking the new admin key while the old one retires: %v, want conflict (nobody would be left after the grace)", err)
		}
		if _, err := ring.Revoke(ctx, old.ID); err != nil {
			t.Fatalf("revoking the retiring key: %v", err)
		}
	})
}

// A key expires on its own: refused, saying so.
func TestKeyExpires(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ring := storetest.NewApp(t, db, app.Config{}).Keys
		secret, _, err := ring.Create(ctx, principal.Service, "brief", time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		pollUntil(t, "the key expires", func() bool {
			_, err := ring.Authenticate(ctx, secret)
			return errs.CodeOf(err) == errs.Unauthorized && strings.Contains(err.Error(), "expired")
		})
	})
}

// Two processes over one database: a key revoked through one is refused by the other,
// which had it in its cache, once its cache entry (cacheTTL, 1 s) lapses.
func TestRevokedKeyRefusedByAnotherProcess(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			open := func() *sqlstore.DB {
				db, err := sqlstore.Open(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
			dbA := open()
			one := storetest.NewApp(t, dbA, app.Config{}).Keys
			two := storetest.NewApp(t, open(), app.Config{}).Keys
			if _, _, err := one.Create(ctx, principal.Admin, "root", 0); err != nil {
				t.Fatal(err)
			}
			secret, k, err := one.Create(ctx, principal.Service, "backend", 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := two.Authenticate(ctx, secret); err != nil {
				t.Fatalf("the other process, before: %v", err)
			}
			if _, err := one.Revoke(ctx, k.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := one.Authenticate(ctx, secret); errs.CodeOf(err) != errs.Unauthorized {
				t.Fatalf("the revoking process: %v, want unauthorized at once", err)
			}
			start := time.Now()
			pollUntil(t, "the other process refuses the revoked key", func() bool {
				_, err := two.Authenticate(ctx, secret)
				return errs.CodeOf(err) == errs.Unauthorized && strings.Contains(err.Error(), "revoked")
			})
			t.Logf("refused by the other process after %v", time.Since(start))
		})
	}
}

// pollUntil calls ok until it returns true, failing the test after a generous deadline.
func pollUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s", what)
		}
	}
}
