package sqlstore_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// fastStaff keeps argon2id cheap in tests; the default is 19 MiB.
func fastStaff(now *time.Time) auth.StaffConfig {
	return auth.StaffConfig{Argon2Memory: 64, Now: func() time.Time { return *now }}
}

// A staff user is created with a set-up secret used once to set the password, signs in
// to a session that authenticates as their role until signed out or expired, and is
// locked after five failures in a row; every change is audited.
func TestStaffUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		now := time.Now().UTC()
		a := storetest.NewApp(t, db, app.Config{Staff: fastStaff(&now)})
		st := a.Staff
		if _, _, err := st.CreateUser(ctx, "not an email", "boss"); len(errs.FieldsOf(err)) != 2 {
			t.Fatalf("a bad email and role: %v, want both fields named", err)
		}
		setup, u, err := st.CreateUser(ctx, "Rita@Example.com", principal.Reviewer)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "rita@example.com" || !strings.HasPrefix(setup, "sts_") {
			t.Fatalf("user %+v, setup %q", u, setup)
		}
		if _, _, err := st.CreateUser(ctx, "rita@example.com", principal.Agent); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("the same email again: %v, want conflict", err)
		}
		if _, _, err := st.SignIn(ctx, "rita@example.com", ""); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("sign-in before set-up: %v", err)
		}
		if _, err := st.SetPassword(ctx, setup, "short"); len(errs.FieldsOf(err)) != 1 || errs.FieldsOf(err)[0].Field != "password" {
			t.Fatalf("a short password: %v", err)
		}
		if _, err := st.SetPassword(ctx, setup, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SetPassword(ctx, setup, "another good password"); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("the set-up link twice: %v, want unauthorized", err)
		}

		secret, sess, err := st.SignIn(ctx, " RITA@example.com", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		got, p, err := st.Authenticate(ctx, secret)
		if err != nil || got.ID != sess.ID || p.Role != principal.Reviewer || p.Name != "rita@example.com" || !p.IsStaff() || got.CSRF == "" {
			t.Fatalf("authenticate: %+v %v %v", got, p, err)
		}
		if _, _, err := st.Authenticate(ctx, "stc_unknown"); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("an unknown session: %v", err)
		}
		if err := st.SignOut(ctx, got); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Authenticate(ctx, secret); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("a signed-out session: %v", err)
		}
		if err := st.SignOut(ctx, got); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("signing out twice: %v", err)
		}

		secret, _, err = st.SignIn(ctx, "rita@example.com", "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(9 * time.Hour)
		if _, _, err := st.Authenticate(ctx, secret); errs.CodeOf(err) != errs.Unauthorized || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("an expired session: %v", err)
		}

		for i := range 5 {
			if _, _, err := st.SignIn(ctx, "rita@example.com", "wrong password!"); errs.CodeOf(err) != errs.Unauthorized {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		if _, _, err := st.SignIn(ctx, "rita@example.com", "correct horse battery"); errs.CodeOf(err) != errs.Unauthorized || !strings.Contains(err.Error(), "locked") {
			t.Fatalf("the right password while locked: %v, want locked", err)
		}
		now = now.Add(16 * time.Minute)
		if _, _, err := st.SignIn(ctx, "rita@example.com", "correct horse battery"); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
		for _, action := range []string{"user.create", "user.set-password", "session.create", "session.revoke", "user.sign-in-failed", "user.lock"} {
			if n := countAudit(t, db, action); n == 0 {
				t.Errorf("no %s audit entry", action)
			}
		}
	})
}

// A portal link opens one portal session, once, within 15 minutes, for an account that
// exists; two uses at once open one session.
func TestPortalLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		now := time.Now().UTC()
		a := storetest.NewApp(t, db, app.Config{Staff: fastStaff(&now)})
		if _, err := a.Accounts.Put(ctx, &accounts.Account{ID: "u-1", Region: "cn-sh", Locale: "zh-CN", CreatedAt: now.AddDate(-3, 0, 0)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Staff.CreatePortalLink(ctx, "nobody"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("a link for no account: %v", err)
		}
		link, l, err := a.Staff.CreatePortalLink(ctx, "u-1")
		if err != nil || !l.ExpiresAt.Equal(now.Add(15*time.Minute)) {
			t.Fatalf("%v %v", l, err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var opened []string
		for range 4 {
			wg.Go(func() {
				secret, _, err := a.Staff.OpenPortal(ctx, link)
				if err == nil {
					mu.Lock()
					opened = append(opened, secret)
					mu.Unlock()
				} else if errs.CodeOf(err) != errs.Unauthorized {
					t.Errorf("a second use: %v", err)
				}
			})
		}
		wg.Wait()
		if len(opened) != 1 {
			t.Fatalf("%d sessions from one link, want 1", len(opened))
		}
		_, p, err := a.Staff.Authenticate(ctx, opened[0])
		if err != nil || !p.IsUser() || p.Account() != "u-1" {
			t.Fatalf("the portal session: %v %v", p, err)
		}
		late, _, err := a.Staff.CreatePortalLink(ctx, "u-1")
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(15 * time.Minute)
		if _, _, err := a.Staff.OpenPortal(ctx, late); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("an expired link: %v", err)
		}
	})
}

func countAudit(tb testing.TB, db *sqlstore.DB, action string) int {
	tb.Helper()
	n, err := db.AuditCount(ctx, action)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
