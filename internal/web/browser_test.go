package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// The browser journeys drive Debian's chromium through the pages as people use them,
// keeping a screenshot of each page in STEWARD_SCREENSHOTS (or a directory the test
// logs). Without chromium they skip, except under CI=true, where they fail.

// browser returns a tab of a headless chromium and the directory for screenshots.
func browser(t *testing.T) (context.Context, string) {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; scripts/test installs it (apt-get install -y chromium)")
		}
		t.Skip("chromium is not installed: browser journeys skipped")
	}
	dir := os.Getenv("STEWARD_SCREENSHOTS")
	if dir == "" {
		if dir, err = os.MkdirTemp("", "steward-screenshots-"); err != nil {
			t.Fatal(err)
		}
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.WindowSize(1280, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tctx, cancelTab := chromedp.NewContext(actx)
	tctx, cancelTime := context.WithTimeout(tctx, 2*time.Minute)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return tctx, dir
}

// journey is one browser walking the pages of a server.
type journey struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	base string
	n    int
}

func newJourney(t *testing.T, w *testWeb) *journey {
	ctx, dir := browser(t)
	srv := httptest.NewServer(w.handler)
	t.Cleanup(srv.Close)
	return &journey{t: t, ctx: ctx, dir: dir, base: srv.URL}
}

func (j *journey) do(steps ...chromedp.Action[chromedp.Void]) {
	j.t.Helper()
	if err := chromedp.Do(j.ctx, steps...); err != nil {
		j.t.Fatal(err)
	}
}

// waitFor evaluates a JavaScript condition until it holds, through the navigations a
// form's post makes (the journey's deadline bounds it).
func (j *journey) waitFor(cond string) {
	j.t.Helper()
	var err error
	for j.ctx.Err() == nil {
		var ok bool
		if ok, err = chromedp.Run(j.ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	loc, _ := chromedp.Run(context.WithoutCancel(j.ctx), chromedp.Location())
	j.t.Fatalf("waiting for %s on %s: %v", cond, loc, err)
}

// shot keeps a screenshot of the page as name.png.
func (j *journey) shot(name string) {
	j.t.Helper()
	j.n++
	j.waitFor(`document.readyState == "complete"`)
	var buf []byte
	var err error
	for range 20 { // a page still laying out has no size yet
		if buf, err = chromedp.Run(j.ctx, chromedp.FullScreenshot(100)); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		j.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(j.dir, strings.Replace(name, " ", "-", -1)+".png"), buf, 0o644); err != nil {
		j.t.Fatal(err)
	}
}

func (j *journey) text(sel string) string {
	j.t.Helper()
	s, err := chromedp.Run(j.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		j.t.Fatal(err)
	}
	return s
}

func (j *journey) signIn(email string) {
	j.do(chromedp.Navigate(j.base+"/console/sign-in"), chromedp.WaitVisible(chromedp.CSS("#email")))
	j.shot("sign-in")
	j.do(chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#sign-in")))
	j.waitFor(`location.pathname == "/console/" && document.querySelector("h1").textContent == "Home"`)
	j.shot("home")
}

// A reviewer signs in, claims the next appeal and decides it.
func TestBrowserReviewerDecidesAnAppeal(t *testing.T) {
	w := newTestWeb(t, storetest.Open(t, "sqlite"))
	w.account(t, "u-1", "en")
	sn := w.sanction(t, "u-1", principal.Key("risk-bot", principal.Service, ""))
	if _, err := w.app.Appeals.File(principal.NewContext(ctx, principal.EndUser("u-1", "")), appeals.Filing{Sanction: sn.ID, Statement: "I was travelling for work"}); err != nil {
		t.Fatal(err)
	}
	j := newJourney(t, w)
	j.signIn("reviewer@example.com")
	j.do(chromedp.Click(chromedp.CSS(`a[href="/console/appeals"]`)))
	j.waitFor(`document.querySelector("#claim") != null`)
	j.shot("appeals")
	j.do(chromedp.Click(chromedp.CSS("#claim")))
	j.waitFor(`document.querySelector("#appeal-id") != null`)
	j.shot("appeal")
	j.do(chromedp.Click(chromedp.CSS("#overturn")), chromedp.SendKeys(chromedp.CSS("#note"), "The ticket shows a business trip."),
		chromedp.Click(chromedp.CSS("#decide")))
	j.waitFor(`(document.querySelector("#appeal-state")||{}).textContent == "decided (overturn)"`)
	j.shot("decided")
}

// A compliance officer writes a sweep (a CEL error first), sees the dry-run chart,
// runs the canary, watches its progress live and reverts.
func TestBrowserComplianceSweep(t *testing.T) {
	w := newTestWeb(t, storetest.Open(t, "sqlite"))
	for i, region := range []string{"border", "border", "border", "capital", "border"} {
		id := "acct-" + string(rune('a'+i))
		w.account(t, id, "en")
		a, _ := w.app.Accounts.Get(ctx, id)
		a.Region = region
		if i == 1 {
			a.Attributes = map[string]any{"trip_purpose": "business"}
		}
		if _, err := w.app.Accounts.Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.app.Bulk.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	j := newJourney(t, w)
	j.signIn("compliance@example.com")
	j.do(chromedp.Click(chromedp.CSS(`a[href="/console/bulk/new"]`)), chromedp.WaitVisible(chromedp.CSS("#criteria")))
	fill := func(criteria string) {
		j.do(chromedp.SetValue(chromedp.CSS("#name"), "border sweep"), chromedp.SetValue(chromedp.CSS("#criteria"), criteria),
			chromedp.SetValue(chromedp.CSS("#screens"), `business: has(account.attributes.trip_purpose) && account.attributes.trip_purpose == "business"`),
			chromedp.SetValue(chromedp.CSS("#services"), "pay"), chromedp.SetValue(chromedp.CSS("#reason_code"), "fraud_sweep"),
			chromedp.SetValue(chromedp.CSS("#issuer"), "Border PSB"), chromedp.SetValue(chromedp.CSS("#reference"), "2026-001"),
			chromedp.Click(chromedp.CSS("#create")))
	}
	fill(`account.region == "border" &&`)
	j.waitFor(`document.querySelector(".exprerr mark") != null`)
	j.shot("planner CEL error")
	fill(`account.region == "border"`)
	j.waitFor(`document.querySelector("#dry-run") != null`)
	j.shot("draft")
	j.do(chromedp.Click(chromedp.CSS("#dry-run")))
	j.waitFor(`document.querySelectorAll("figure.chart svg").length == 5`)
	if s := j.text("#dry-summary"); !strings.Contains(s, "3 to sanction") {
		t.Fatalf("dry run: %q", s)
	}
	j.shot("dry run charts")
	j.do(chromedp.SetValue(chromedp.CSS("#canary"), "34"), chromedp.Click(chromedp.CSS("#execute")))
	// The page's script polls the progress: the state changes without a reload.
	j.waitFor(`document.querySelector("#state").textContent == "canary"`)
	j.shot("canary")
	j.do(chromedp.SendKeys(chromedp.CSS("#reason"), "honest travellers swept up"), chromedp.Click(chromedp.CSS("#revert")))
	j.waitFor(`document.querySelector("#state").textContent == "reverted"`)
	j.shot("reverted")
}

// A banned user opens a portal link, reads the status in Chinese, appeals with a
// document, withdraws what is not held, reads who accessed their data and asks for an
// export of it, which is queued, then ready to download.
func TestBrowserBannedUserPortal(t *testing.T) {
	w := newTestWeb(t, storetest.Open(t, "sqlite"))
	w.account(t, "u-1", "zh-CN")
	w.sanction(t, "u-1", principal.Key("compliance@example.com", principal.Compliance, ""))
	svc := principal.NewContext(ctx, principal.Key("platform", principal.Service, ""))
	if _, _, err := w.app.Ledger.Transfer(svc, &ledger.Transfer{ID: "dep-1", From: "platform:deposits", To: ledger.UserName("u-1"), Amount: 10_000, Currency: "CNY", Kind: "deposit"}); err != nil {
		t.Fatal(err)
	}
	co := principal.NewContext(ctx, principal.Key("compliance@example.com", principal.Compliance, ""))
	if _, err := w.app.Ledger.PlaceHold(co, ledger.HoldRequest{Account: "u-1", Currency: "CNY", Amount: 6_000, Reason: "court order",
		Authority: ledger.HoldAuthority{Authority: authority.Authority{Kind: authority.LegalOrder, Issuer: "Court", Reference: "A-1"}, DocumentSHA256: strings.Repeat("ab", 32)}}); err != nil {
		t.Fatal(err)
	}
	link, _, err := w.app.Staff.CreatePortalLink(ctx, "u-1")
	if err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(t.TempDir(), "train-ticket.pdf")
	os.WriteFile(doc, []byte("%PDF-1.4 a train ticket"), 0o644)

	j := newJourney(t, w)
	j.do(chromedp.Navigate(j.base+"/portal/open?link="+link+"&lang=zh-CN"), chromedp.WaitVisible(chromedp.CSS("#open")))
	j.shot("open link")
	j.do(chromedp.Click(chromedp.CSS("#open")))
	j.waitFor(`document.querySelector("#h-status") != null`)
	if s := j.text(".sanction h3"); s != "您的账号已被封禁" {
		t.Fatalf("the status in Chinese: %q", s)
	}
	j.shot("status zh-CN")
	j.do(chromedp.SendKeys(chromedp.CSS(".sanction textarea"), "我只是去出差。"),
		chromedp.SetUploadFiles(chromedp.CSS(`.sanction input[type="file"]`), []string{doc}),
		chromedp.Click(chromedp.CSS(".appeal-submit")))
	j.waitFor(`(document.querySelector(".my-appeal")||{textContent: ""}).textContent.includes("等待审核")`)
	j.shot("appealed")
	if s := j.text("td.available"); s != "40.00" {
		t.Fatalf("available: %q, want 40.00 (100 less 60 held)", s)
	}
	j.do(chromedp.SendKeys(chromedp.CSS("#amount"), "40"), chromedp.SendKeys(chromedp.CSS("#destination"), "ICBC 6222 0000"),
		chromedp.Click(chromedp.CSS("#withdraw")))
	j.waitFor(`document.querySelector("#withdrawal-done") != null`)
	j.shot("withdrawn")
	j.do(chromedp.Click(chromedp.CSS(`a[href="/portal/?lang=en"]`)))
	j.waitFor(`document.documentElement.lang == "en"`)
	j.shot("status en")
	j.do(chromedp.Click(chromedp.CSS(`a[href="/portal/access-log"]`)))
	j.waitFor(`location.pathname == "/portal/access-log"`)
	j.shot("access log")
	j.do(chromedp.Click(chromedp.CSS(`a[href="/portal/exports"]`)))
	j.waitFor(`document.querySelector("#export") != null`)
	j.shot("exports")
	j.do(chromedp.Click(chromedp.CSS("#export")))
	j.waitFor(`(document.querySelector(".export-state")||{dataset: {}}).dataset.state == "queued"`)
	j.shot("export queued")
	if built, err := w.app.Takeout.Builder().Step(ctx); !built || err != nil {
		t.Fatal(built, err)
	}
	j.do(chromedp.Reload())
	j.waitFor(`(document.querySelector(".export-state")||{dataset: {}}).dataset.state == "done" && document.querySelector("a.download") != null`)
	j.shot("export done")
}

var _ = http.StatusOK
