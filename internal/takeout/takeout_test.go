package takeout_test

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/takeout"
	"github.com/stewardhq/steward/internal/vault"
)

func as(p principal.Principal) context.Context {
	return principal.NewContext(audit.WithRequestID(context.Background(), "test"), p)
}

var (
	svc   = as(principal.Key("svc", principal.Service, "k-svc"))
	agent = principal.Key("alice", principal.Agent, "k-alice")
)

// clock is a test's settable time.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) config(dir string) takeout.Config {
	return takeout.Config{Dir: dir, Now: c.now}
}

// banned creates an account in locale and bans it everywhere.
func banned(t testing.TB, a *app.App, id, locale string) *enforce.Sanction {
	t.Helper()
	if _, err := a.Accounts.Put(svc, &accounts.Account{ID: id, Region: "cn", Locale: locale, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	sn, err := a.Enforce.Impose(as(principal.Key("rita", principal.Reviewer, "k-rita")), &enforce.Sanction{Account: id, Kind: enforce.Ban,
		ReasonCode: "fraud", Scope: enforce.Scope{Services: []string{"*"}}, Authority: authority.Authority{Kind: authority.Automated, Rule: "r"}})
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

// TestExportStore is the store's conformance: state, progress, who started it, expiry,
// claims and optimistic updates, on both databases.
func TestExportStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := newClock()
		a := storetest.NewApp(t, db, app.Config{Takeout: c.config(t.TempDir())})
		banned(t, a, "u-1", "en")
		banned(t, a, "u-2", "en")
		user := as(principal.EndUser("u-1", "tok-1"))

		e, err := a.Takeout.Start(user, "u-1")
		if err != nil {
			t.Fatal(err)
		}
		if e.State != takeout.Queued || e.Progress.Done != 0 || e.Progress.Total == 0 || e.CreatedBy.Identity() != "user:u-1" ||
			!e.ExpiresAt.Equal(e.CreatedAt.Add(takeout.DefaultTTL)) {
			t.Fatalf("started %+v", e)
		}
		got, err := a.Takeout.Get(user, "", e.ID)
		if err != nil || got.ID != e.ID || got.Account != "u-1" || got.CreatedBy.Identity() != e.CreatedBy.Identity() || !got.ExpiresAt.Equal(e.ExpiresAt) {
			t.Fatalf("get %+v, %v", got, err)
		}
		// Another account's holder, or staff naming another account, finds nothing.
		if _, err := a.Takeout.Get(as(principal.EndUser("u-2", "tok-2")), "", e.ID); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("another user's get: %v", err)
		}
		if _, err := a.Takeout.Get(as(agent), "u-2", e.ID); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("agent under another account: %v", err)
		}
		if _, err := a.Takeout.Start(as(principal.EndUser("u-2", "tok-2")), "u-1"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("a user starting another's export: %v", err)
		}
		if _, err := a.Takeout.Get(user, "", "../../etc/passwd"); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("a path as ID: %v", err)
		}
		if _, err := a.Takeout.Start(as(agent), "nobody"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("no account: %v", err)
		}

		// An agent's export is recorded as on the user's behalf.
		e2, err := a.Takeout.Start(as(agent), "u-1")
		if err != nil || e2.CreatedBy.Identity() != "staff:alice" {
			t.Fatalf("agent's export %+v, %v", e2, err)
		}
		found := false
		for _, en := range pending(t, db) {
			if en.Action == takeout.ActionStart && en.Actor.Name == "alice" && en.Subject == "u-1" && en.Context["on_behalf_of"] == "u-1" {
				found = true
			}
		}
		if !found {
			t.Fatal("the agent's export is not audited on the user's behalf")
		}
		list, err := a.Takeout.List(user, "", "", 10)
		if err != nil || len(list) != 2 || list[0].ID != e2.ID || list[1].ID != e.ID {
			t.Fatalf("list %v, %v", list, err)
		}

		// Claims take the oldest queued export, then the next; a stale update is refused.
		st := db.Takeout()
		var claimed []*takeout.Export
		for range 3 {
			err := db.Write(context.Background(), func(ctx context.Context) error {
				x, err := st.ClaimExport(ctx, c.now(), c.now().Add(time.Minute))
				if err == nil {
					claimed = append(claimed, x)
				}
				return err
			})
			if len(claimed) < 2 && err != nil || len(claimed) == 2 && err != nil && errs.CodeOf(err) != errs.NotFound {
				t.Fatalf("claim: %v", err)
			}
		}
		if len(claimed) != 2 || claimed[0].ID != e.ID || claimed[1].ID != e2.ID || claimed[0].State != takeout.Collecting {
			t.Fatalf("claimed %+v", claimed)
		}
		stale := *claimed[0] // its version as stored, not bumped
		err = db.Write(context.Background(), func(ctx context.Context) error { return st.UpdateExport(ctx, &stale) })
		if errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("stale update: %v", err)
		}
		// A lease that ended lets another builder take it over.
		err = db.Write(context.Background(), func(ctx context.Context) error {
			x, err := st.ClaimExport(ctx, c.now().Add(2*time.Minute), c.now().Add(3*time.Minute))
			if err == nil && x.ID != e.ID {
				t.Errorf("took over %s, want %s", x.ID, e.ID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// Expiry lists only done or failed exports past their time.
		done := claimed[1]
		done.Version++
		done.State = takeout.Done
		if err := db.Write(context.Background(), func(ctx context.Context) error { return st.UpdateExport(ctx, done) }); err != nil {
			t.Fatal(err)
		}
		if xs, err := st.ExpiredExports(context.Background(), c.now(), 10); err != nil || len(xs) != 0 {
			t.Fatalf("expired now: %v, %v", xs, err)
		}
		if xs, err := st.ExpiredExports(context.Background(), c.now().Add(8*24*time.Hour), 10); err != nil || len(xs) != 1 || xs[0].ID != done.ID {
			t.Fatalf("expired in 8 days: %v, %v", xs, err)
		}
	})
}

// pending returns every audit entry not yet sequenced.
func pending(t *testing.T, db *sqlstore.DB) []audit.Entry {
	t.Helper()
	rows, err := db.Audit().Pending(context.Background(), 100000)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]audit.Entry, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal(r.Leaf, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestBuild builds a banned user's archive: every part, checksums that verify, an index
// in the account's locale, the export in the access log; then it expires.
func TestBuild(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		c := newClock()
		dir := t.TempDir()
		a := storetest.NewApp(t, db, app.Config{AuditKey: storetest.AuditKey(t), Takeout: c.config(dir)})
		sn := banned(t, a, "u-1", "zh-CN")
		if _, err := a.Vault.Put(svc, "u-1", vault.PII{Name: "欧阳明", Phone: "13912345678"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Sequencer.Integrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		user := as(principal.EndUser("u-1", "tok-1"))
		e, err := a.Takeout.Start(user, "u-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Takeout.Archive(user, "", e.ID); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("archive before it is made: %v", err)
		}
		b := a.Takeout.Builder()
		if built, err := b.Step(context.Background()); !built || err != nil {
			t.Fatalf("step: %v, %v", built, err)
		}
		e, err = a.Takeout.Get(user, "", e.ID)
		if err != nil || e.State != takeout.Done || e.Progress.Done != e.Progress.Total || len(e.Missing) != 0 {
			t.Fatalf("built %+v, %v", e, err)
		}
		files, m := openArchive(t, a, user, e)
		for _, want := range []string{"account", "sanctions", "appeals", "reports", "wallet", "personal_data", "access_log"} {
			if _, ok := files[want+".json"]; !ok {
				t.Errorf("no %s.json", want)
			}
		}
		if !strings.Contains(string(files["sanctions.json"]), sn.ID) || !strings.Contains(string(files["sanctions.json"]), `"notices":[{`) {
			t.Errorf("sanctions.json lacks the ban or its notice: %s", files["sanctions.json"])
		}
		if !strings.Contains(string(files["personal_data.json"]), "13912345678") {
			t.Errorf("personal data not in clear for its owner: %s", files["personal_data.json"])
		}
		if !strings.Contains(string(files["index.html"]), "您在 Steward 的数据") || m.Locale != "zh-CN" {
			t.Errorf("index.html not in zh-CN")
		}
		if m.Checkpoint == "" || m.CheckpointSize == 0 {
			t.Errorf("manifest has no checkpoint: %+v", m)
		}
		// The export was an access to the personal data, listed under its commitment.
		subject, _ := a.Vault.Commitment(context.Background(), "u-1")
		found := false
		for _, en := range pending(t, db) {
			if en.Action == vault.ActionExport && en.Subject == subject && en.Actor.Name == "u-1" {
				found = true
			}
		}
		if !found {
			t.Error("the export is not in the access log")
		}

		// After its time the archive is deleted and answers gone.
		c.add(takeout.DefaultTTL + time.Minute)
		if _, _, err := a.Takeout.Archive(user, "", e.ID); errs.CodeOf(err) != errs.Gone {
			t.Fatalf("archive after expiry: %v", err)
		}
		if _, err := b.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, e.ID+".zip")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("expired archive still there: %v", err)
		}
		if e, _ := a.Takeout.Get(user, "", e.ID); e.State != takeout.Expired {
			t.Fatalf("state after expiry %s", e.State)
		}
	})
}

// openArchive downloads e's archive and returns its files, after checking every file
// against the manifest's size and SHA-256.
func openArchive(t *testing.T, a *app.App, ctx context.Context, e *takeout.Export) (map[string][]byte, *takeout.Manifest) {
	t.Helper()
	_, f, err := a.Takeout.Archive(ctx, "", e.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readArchive(t, f)
}

func readArchive(t *testing.T, f *os.File) (map[string][]byte, *takeout.Manifest) {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, zf := range zr.File {
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[zf.Name] = b
	}
	var m takeout.Manifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	if len(m.Files) != len(files)-1 {
		t.Errorf("manifest lists %d files, archive has %d besides it", len(m.Files), len(files)-1)
	}
	for _, mf := range m.Files {
		b, ok := files[mf.Name]
		sum := sha256.Sum256(b)
		if !ok || int64(len(b)) != mf.Size || hex.EncodeToString(sum[:]) != mf.SHA256 {
			t.Errorf("%s: in archive %v, %d bytes, sha256 %x; manifest %+v", mf.Name, ok, len(b), sum, mf)
		}
		if strings.HasSuffix(mf.Name, ".json") && !json.Valid(b) {
			t.Errorf("%s is not JSON: %.200s", mf.Name, b)
		}
	}
	return files, &m
}

// failingNotices cannot read notices.
type failingNotices struct{}

func (failingNotices) EachNotice(context.Context, string, func(string, any) error) error {
	return errs.E(errs.Unavailable, "the notices are not reachable")
}

// A domain that is absent has no part in the archive, and a part that cannot be read is
// listed missing with why, the others still there.
func TestAbsentAndMissingParts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := storetest.NewApp(t, db, app.Config{})
		banned(t, a, "u-1", "en")
		st := a.Stores
		s := takeout.NewService(takeout.Deps{Store: st.Takeout, Accounts: st.Accounts, Tx: st.Tx, Audit: a.Recorder, Log: a.Audit,
			Enforce: a.Enforce, Notices: failingNotices{}}, takeout.Config{Dir: t.TempDir()})
		user := as(principal.EndUser("u-1", "tok-1"))
		e, err := s.Start(user, "u-1")
		if err != nil {
			t.Fatal(err)
		}
		if built, err := s.Builder().Step(context.Background()); !built || err != nil {
			t.Fatalf("step: %v %v", built, err)
		}
		e, err = s.Get(user, "", e.ID)
		if err != nil || e.State != takeout.Done || e.Progress.Total != 2 || len(e.Missing) != 1 || e.Missing[0].Part != "sanctions" {
			t.Fatalf("export %+v, %v", e, err)
		}
		_, f, err := s.Archive(user, "", e.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files, m := readArchive(t, f)
		if len(m.Files) != 2 || m.Files[0].Name != "account.json" || m.Files[1].Name != "index.html" {
			t.Errorf("files %+v, want account.json and index.html alone", m.Files)
		}
		if len(m.Missing) != 1 || m.Missing[0].Reason != "the notices are not reachable" {
			t.Errorf("missing %+v", m.Missing)
		}
		if !strings.Contains(string(files["index.html"]), "the notices are not reachable") {
			t.Error("index.html does not say what is missing")
		}
	})
}
