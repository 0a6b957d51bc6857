package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/takeout"
)

var ctx = context.Background()

// testWeb is the pages over a test database, with a signed-in session per staff role.
type testWeb struct {
	db       *sqlstore.DB
	app      *app.App
	handler  http.Handler
	sessions map[principal.Role]*session
}

// session is a browser's cookies for one signed-in principal.
type session struct {
	secret string
	csrf   string
}

// fastStaff keeps argon2id cheap in tests.
var fastStaff = auth.StaffConfig{Argon2Memory: 64}

func newTestWeb(tb testing.TB, db *sqlstore.DB) *testWeb {
	tb.Helper()
	a := storetest.NewApp(tb, db, app.Config{AuditKey: storetest.AuditKey(tb), Staff: fastStaff,
		Takeout: takeout.Config{Dir: tb.TempDir()}})
	w := &testWeb{db: db, app: a, handler: New(Deps{App: a, Logger: slog.New(slog.NewTextHandler(logWriter{tb}, nil))}), sessions: map[principal.Role]*session{}}
	for _, role := range principal.Roles {
		w.sessions[role] = w.staff(tb, string(role)+"@example.com", role)
	}
	return w
}

// staff creates a user with role and signs them in.
func (w *testWeb) staff(tb testing.TB, email string, role principal.Role) *session {
	tb.Helper()
	setup, _, err := w.app.Staff.CreateUser(ctx, email, role)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.app.Staff.SetPassword(ctx, setup, "correct horse battery"); err != nil {
		tb.Fatal(err)
	}
	secret, sess, err := w.app.Staff.SignIn(ctx, email, "correct horse battery")
	if err != nil {
		tb.Fatal(err)
	}
	return &session{secret: secret, csrf: sess.CSRF}
}

// portal opens a portal session for account, creating the account when it is missing.
func (w *testWeb) portal(tb testing.TB, account string) *session {
	tb.Helper()
	if _, err := w.app.Accounts.Get(ctx, account); err != nil {
		w.account(tb, account, "zh-CN")
	}
	link, _, err := w.app.Staff.CreatePortalLink(ctx, account)
	if err != nil {
		tb.Fatal(err)
	}
	secret, sess, err := w.app.Staff.OpenPortal(ctx, link)
	if err != nil {
		tb.Fatal(err)
	}
	return &session{secret: secret, csrf: sess.CSRF}
}

func (w *testWeb) account(tb testing.TB, id, locale string) {
	tb.Helper()
	if _, err := w.app.Accounts.Put(ctx, &accounts.Account{ID: id, Region: "border", Locale: locale, CreatedAt: time.Now().AddDate(-2, 0, 0)}); err != nil {
		tb.Fatal(err)
	}
}

// get and post serve a page as s (nobody when nil); post sends s's CSRF token.
func (w *testWeb) get(tb testing.TB, s *session, target string) *httptest.ResponseRecorder {
	tb.Helper()
	return w.do(tb, s, httptest.NewRequest("GET", target, nil))
}

func (w *testWeb) post(tb testing.TB, s *session, target string, form url.Values) *httptest.ResponseRecorder {
	tb.Helper()
	if form == nil {
		form = url.Values{}
	}
	if s != nil && form.Get("csrf") == "" {
		form.Set("csrf", s.csrf)
	}
	r := httptest.NewRequest("POST", target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return w.do(tb, s, r)
}

func (w *testWeb) do(tb testing.TB, s *session, r *http.Request) *httptest.ResponseRecorder {
	tb.Helper()
	if s != nil {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: s.secret})
	}
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, r)
	return rec
}

// rows counts the rows a page's write would touch.
func (w *testWeb) rows(tb testing.TB) [3]int {
	tb.Helper()
	var out [3]int
	for i, table := range []string{"audit_entries", "sanctions", "bulk_actions"} {
		n, err := w.db.Count(ctx, table)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = n
	}
	return out
}

func wantCode(tb testing.TB, rec *httptest.ResponseRecorder, code int) string {
	tb.Helper()
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != code {
		tb.Fatalf("status %d, want %d; body:\n%s", rec.Code, code, body)
	}
	return string(body)
}

var wildcard = regexp.MustCompile(`\{[a-z$]*\}`)

func fill(path string) string {
	return wildcard.ReplaceAllStringFunc(path, func(w string) string {
		if w == "{$}" {
			return ""
		}
		return "acct-1"
	})
}

// logWriter writes the pages' log to the test's.
type logWriter struct{ tb testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
