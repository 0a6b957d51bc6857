package web

import (
	"bytes"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// A user set up by link signs in through the forms (a double-submit token before
// there is a session), gets an HttpOnly SameSite=Strict session cookie, and signs out;
// the ended session is refused. A form without its token is refused.
func TestSignInFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTestWeb(t, db)
		setup, _, err := w.app.Staff.CreateUser(ctx, "rita@example.com", principal.Reviewer)
		if err != nil {
			t.Fatal(err)
		}
		// The set-up form, then the sign-in form, each with its double-submit cookie.
		form := func(target string) (*http.Cookie, string) {
			rec := w.get(t, nil, target)
			body := wantCode(t, rec, http.StatusOK)
			m := csrfField.FindStringSubmatch(body)
			cookies := rec.Result().Cookies()
			if m == nil || len(cookies) != 1 || cookies[0].Name != formCookie || cookies[0].Value != m[1] {
				t.Fatalf("%s: form token %v, cookies %v", target, m, cookies)
			}
			return cookies[0], m[1]
		}
		postWith := func(ck *http.Cookie, target string, v url.Values) *httptest.ResponseRecorder {
			r := httptest.NewRequest("POST", target, strings.NewReader(v.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if ck != nil {
				r.AddCookie(ck)
			}
			return w.do(t, nil, r)
		}
		ck, token := form("/console/setup?token=" + url.QueryEscape(setup))
		rec := postWith(ck, "/console/setup", url.Values{"csrf": {token}, "token": {setup}, "password": {"short"}, "confirm": {"short"}})
		if body := wantCode(t, rec, http.StatusBadRequest); !strings.Contains(body, "password") {
			t.Fatalf("a short password: %s", body)
		}
		rec = postWith(ck, "/console/setup", url.Values{"csrf": {token}, "token": {setup}, "password": {"correct horse battery"}, "confirm": {"correct horse battery"}})
		wantCode(t, rec, http.StatusSeeOther)

		ck, token = form("/console/sign-in")
		signIn := url.Values{"csrf": {token}, "email": {"rita@example.com"}, "password": {"correct horse battery"}}
		wantCode(t, postWith(nil, "/console/sign-in", signIn), http.StatusForbidden) // no cookie: another site's form
		bad := url.Values{"csrf": {token}, "email": {"rita@example.com"}, "password": {"wrong password"}}
		if body := wantCode(t, postWith(ck, "/console/sign-in", bad), http.StatusUnauthorized); !strings.Contains(body, "wrong") {
			t.Fatalf("a wrong password: %s", body)
		}
		rec = postWith(ck, "/console/sign-in", signIn)
		wantCode(t, rec, http.StatusSeeOther)
		var sess *http.Cookie
		for _, c := range rec.Result().Cookies() {
			if c.Name == sessionCookie {
				sess = c
			}
		}
		if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/console/" {
			t.Fatalf("session cookie %+v", sess)
		}
		if sess.Secure {
			t.Fatal("a session cookie over plain HTTP is marked Secure: the browser would never send it")
		}
		tls := httptest.NewRequest("POST", "https://steward.example/console/sign-in", strings.NewReader(signIn.Encode()))
		tls.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		tls.AddCookie(ck)
		if cs := w.do(t, nil, tls).Result().Cookies(); len(cs) != 1 || !cs[0].Secure {
			t.Fatalf("over TLS the session cookie is not Secure: %v", cs)
		}
		s := &session{secret: sess.Value}
		home := wantCode(t, w.get(t, s, "/console/"), http.StatusOK)
		s.csrf = csrfField.FindStringSubmatch(home)[1]
		if !strings.Contains(home, "rita@example.com (reviewer)") {
			t.Fatalf("home does not say who is signed in:\n%s", home)
		}
		wantCode(t, w.post(t, s, "/console/sign-out", url.Values{"csrf": {"stale"}}), http.StatusForbidden)
		wantCode(t, w.post(t, s, "/console/sign-out", nil), http.StatusSeeOther)
		if rec := w.get(t, s, "/console/"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/console/sign-in" {
			t.Fatalf("after sign-out: %d %s", rec.Code, rec.Header().Get("Location"))
		}
	})
}

// Every page carries the strict policy, and no template has inline script, an event
// handler attribute or a style attribute, which the policy would block.
func TestStrictContentSecurityPolicy(t *testing.T) {
	w := newTestWeb(t, storetest.Open(t, "sqlite"))
	for _, target := range []string{"/console/sign-in", "/console/", "/portal/open?link=stp_x", "/console/static/app.css", "/console/nowhere"} {
		rec := w.get(t, w.sessions[principal.Admin], target)
		if got := rec.Header().Get("Content-Security-Policy"); got != csp {
			t.Errorf("%s: CSP %q", target, got)
		}
	}
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|\son[a-z]+=|\sstyle=|javascript:`)
	fs.WalkDir(templateFiles, ".", func(path string, d fs.DirEntry, err error) error {
		if !d.IsDir() {
			b, _ := fs.ReadFile(templateFiles, path)
			if m := inline.Find(b); m != nil {
				t.Errorf("%s: %q is blocked by the policy", path, m)
			}
		}
		return nil
	})
}

// A reviewer claims the next appeal and decides it; the reviewer who imposed a
// sanction is refused its appeal, as the API refuses it.
func TestReviewerDecidesAnAppeal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTestWeb(t, db)
		w.account(t, "u-1", "en")
		sn := w.sanction(t, "u-1", principal.Key("risk-bot", principal.Service, ""))
		user := w.portal(t, "u-1")
		wantCode(t, w.postMultipart(t, user, "/portal/appeals", map[string]string{"sanction": sn.ID, "statement": "I was travelling for work"},
			"ticket.pdf", []byte("%PDF train ticket")), http.StatusSeeOther)

		rev := w.sessions[principal.Reviewer]
		if acct := wantCode(t, w.get(t, rev, "/console/accounts/u-1"), http.StatusOK); !strings.Contains(acct, "1 × ban of *") || !strings.Contains(acct, "fraud_sweep") {
			t.Fatalf("the account page does not show the ban:\n%s", acct)
		}
		queue := wantCode(t, w.get(t, rev, "/console/appeals"), http.StatusOK)
		if !strings.Contains(queue, "u-1") {
			t.Fatalf("the queue does not list the appeal:\n%s", queue)
		}
		rec := w.post(t, rev, "/console/appeals/claim", url.Values{"n": {"1"}})
		wantCode(t, rec, http.StatusSeeOther)
		page := wantCode(t, w.get(t, rev, rec.Header().Get("Location")), http.StatusOK)
		for _, want := range []string{"I was travelling for work", "ticket.pdf", "sha256", "At filing"} {
			if !strings.Contains(page, want) {
				t.Fatalf("the appeal page lacks %q:\n%s", want, page)
			}
		}
		wantCode(t, w.post(t, rev, rec.Header().Get("Location")+"/decision", url.Values{"note": {"x"}}), http.StatusBadRequest)
		wantCode(t, w.post(t, rev, rec.Header().Get("Location")+"/decision", url.Values{"outcome": {"overturn"}, "note": {"the ticket shows it"}}), http.StatusSeeOther)
		list, err := w.app.Appeals.List(principal.NewContext(ctx, principal.Key("a", principal.Auditor, "")), appeals.Filter{Account: "u-1", Limit: 5})
		if err != nil || len(list) != 1 || list[0].Outcome != appeals.Overturn || list[0].DecidedBy.Name != "reviewer@example.com" {
			t.Fatalf("after the decision: %+v %v", list, err)
		}

		// Four eyes: the reviewer's own sanction's appeal never reaches them.
		w.account(t, "u-2", "en")
		own := w.sanction(t, "u-2", principal.Key("reviewer@example.com", principal.Reviewer, ""))
		wantCode(t, w.postMultipart(t, w.portal(t, "u-2"), "/portal/appeals", map[string]string{"sanction": own.ID, "statement": "not me"}, "", nil), http.StatusSeeOther)
		if rec := w.post(t, rev, "/console/appeals/claim", url.Values{"n": {"1"}}); rec.Code != http.StatusNotFound {
			t.Fatalf("claiming one's own sanction's appeal: %d", rec.Code)
		}
	})
}

// sanction bans account, imposed by by: under a legal order when by is compliance,
// else by an automated rule.
func (w *testWeb) sanction(tb testing.TB, account string, by principal.Principal) *enforce.Sanction {
	tb.Helper()
	auth := authority.Authority{Kind: authority.LegalOrder, Issuer: "Border PSB", Reference: "2026-001"}
	if by.Role != principal.Compliance {
		auth = authority.Authority{Kind: authority.Automated, Rule: "fraud-7"}
	}
	sn, err := w.app.Enforce.Impose(principal.NewContext(ctx, by), &enforce.Sanction{Account: account, Kind: enforce.Ban, Scope: enforce.Scope{Services: []string{"*"}},
		ReasonCode: "fraud_sweep", Detail: "fraud reported in your region", Authority: auth})
	if err != nil {
		tb.Fatal(err)
	}
	return sn
}

func (w *testWeb) postMultipart(tb testing.TB, s *session, target string, fields map[string]string, file string, content []byte) *httptest.ResponseRecorder {
	tb.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf", s.csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != "" {
		fw, _ := mw.CreateFormFile("evidence", file)
		fw.Write(content)
	}
	mw.Close()
	r := httptest.NewRequest("POST", target, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return w.do(tb, s, r)
}

// A compliance officer's sweep with a CEL error is shown again with the error under its
// column; the fixed sweep is dry-run into charts, executed with a canary and reverted.
func TestComplianceSweep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTestWeb(t, db)
		for i, region := range []string{"border", "border", "border", "capital"} {
			w.account(t, "acct-"+string(rune('a'+i)), "en")
			a, _ := w.app.Accounts.Get(ctx, "acct-"+string(rune('a'+i)))
			a.Region = region
			if i == 1 {
				a.Attributes = map[string]any{"trip_purpose": "business"}
			}
			if _, err := w.app.Accounts.Put(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		co := w.sessions[principal.Compliance]
		form := url.Values{"name": {"border sweep"}, "criteria": {`account.region == "border" &&`}, "screens": {`business: has(account.attributes.trip_purpose) && account.attributes.trip_purpose == "business"`},
			"kind": {"suspend"}, "services": {"pay"}, "duration": {"72h"}, "reason_code": {"fraud_sweep"},
			"authority": {"legal_order"}, "issuer": {"Border PSB"}, "reference": {"2026-001"}}
		body := wantCode(t, w.post(t, co, "/console/bulk", form), http.StatusBadRequest)
		if !strings.Contains(body, "criteria: CEL error at line 1") || !strings.Contains(body, "<mark>") {
			t.Fatalf("the CEL error is not shown at its place:\n%s", body)
		}
		form.Set("criteria", `account.region == "border"`)
		rec := w.post(t, co, "/console/bulk", form)
		wantCode(t, rec, http.StatusSeeOther)
		page := rec.Header().Get("Location")
		dry := wantCode(t, w.post(t, co, page+"/dry-run", nil), http.StatusOK)
		for _, want := range []string{"<svg", "Spared by screen", "By region", "By account age", "2 to sanction"} {
			if !strings.Contains(dry, want) {
				t.Fatalf("the dry run lacks %q:\n%s", want, dry)
			}
		}
		wantCode(t, w.post(t, co, page+"/execute", url.Values{"canary_percent": {"lots"}}), http.StatusBadRequest)
		wantCode(t, w.post(t, co, page+"/execute", url.Values{"canary_percent": {"50"}}), http.StatusSeeOther)
		id := strings.TrimPrefix(page, "/console/bulk/")
		for more := true; more; {
			var err error
			if more, err = w.app.Bulk.Step(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if a, _ := w.app.Bulk.Get(ctx, id); a.State != bulk.Canary {
			t.Fatalf("after the canary: %s", a.State)
		}
		if got := wantCode(t, w.get(t, co, page+"/progress"), http.StatusOK); !strings.Contains(got, `"state":"canary"`) {
			t.Fatalf("progress: %s", got)
		}
		wantCode(t, w.post(t, co, page+"/revert", nil), http.StatusBadRequest) // a reason is required
		wantCode(t, w.post(t, co, page+"/revert", url.Values{"reason": {"travellers swept up"}}), http.StatusSeeOther)
		for more := true; more; {
			var err error
			if more, err = w.app.Bulk.Step(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if a, _ := w.app.Bulk.Get(ctx, id); a.State != bulk.Reverted {
			t.Fatalf("after the revert: %s", a.State)
		}
		// An auditor reads it but may not act on it.
		wantCode(t, w.get(t, w.sessions[principal.Auditor], page), http.StatusOK)
		wantCode(t, w.post(t, w.sessions[principal.Auditor], page+"/resume", nil), http.StatusForbidden)
	})
}

// A banned user opens a portal link, reads the status in Chinese, appeals, withdraws
// what is not held and is refused what is held; the link works once, and the user
// cannot appeal another account's sanction.
func TestBannedUserPortal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTestWeb(t, db)
		w.account(t, "u-1", "zh-CN")
		w.account(t, "u-2", "en")
		sn := w.sanction(t, "u-1", principal.Key("compliance@example.com", principal.Compliance, ""))
		other := w.sanction(t, "u-2", principal.Key("compliance@example.com", principal.Compliance, ""))
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
		open := wantCode(t, w.get(t, nil, "/portal/open?link="+link), http.StatusOK)
		if !strings.Contains(open, "Continue") && !strings.Contains(open, "继续") {
			t.Fatalf("the open page:\n%s", open)
		}
		s := w.portal(t, "u-1")
		home := wantCode(t, w.get(t, s, "/portal/"), http.StatusOK)
		for _, want := range []string{`lang="zh-CN"`, "您的账号已被封禁", "无截止日期", "提取未被冻结的资金", "Border PSB", "40.00"} {
			if !strings.Contains(home, want) {
				t.Fatalf("the portal lacks %q:\n%s", want, home)
			}
		}
		if en := wantCode(t, w.get(t, s, "/portal/?lang=en"), http.StatusOK); !strings.Contains(en, "Your account is banned") {
			t.Fatalf("the English portal:\n%s", en)
		}

		wantCode(t, w.postMultipart(t, s, "/portal/appeals", map[string]string{"sanction": other.ID, "statement": "not mine"}, "", nil), http.StatusNotFound)
		wantCode(t, w.postMultipart(t, s, "/portal/appeals", map[string]string{"sanction": sn.ID, "statement": "我只是出差"}, "票.pdf", []byte("x")), http.StatusSeeOther)
		if home := wantCode(t, w.get(t, s, "/portal/?lang=zh-CN"), http.StatusOK); !strings.Contains(home, "等待审核") {
			t.Fatalf("the appeal's progress is not shown:\n%s", home)
		}

		wd := url.Values{"id": {"wd-1"}, "amount": {"50.00"}, "currency": {"CNY"}, "destination": {"bank 6222"}}
		if body := wantCode(t, w.post(t, s, "/portal/withdrawals", wd), http.StatusConflict); !strings.Contains(body, "held") {
			t.Fatalf("withdrawing held money: %s", body)
		}
		wd.Set("id", "wd-2")
		wd.Set("amount", "40")
		rec := w.post(t, s, "/portal/withdrawals", wd)
		wantCode(t, rec, http.StatusSeeOther)
		if body := wantCode(t, w.get(t, s, rec.Header().Get("Location")), http.StatusOK); !strings.Contains(body, "正在为您提现 40.00 CNY") {
			t.Fatalf("withdrawing what is not held:\n%s", body)
		}
		// Another account's withdrawal is not shown to this one.
		wantCode(t, w.get(t, w.portal(t, "u-2"), rec.Header().Get("Location")), http.StatusNotFound)
		wd.Set("amount", "4x")
		if body := wantCode(t, w.post(t, s, "/portal/withdrawals", wd), http.StatusBadRequest); !strings.Contains(body, "amount") {
			t.Fatalf("a bad amount: %s", body)
		}
		wantCode(t, w.get(t, s, "/portal/access-log"), http.StatusOK)
		wantCode(t, w.post(t, s, "/portal/sign-out", nil), http.StatusSeeOther)
		wantCode(t, w.get(t, s, "/portal/"), http.StatusSeeOther)
	})
}
