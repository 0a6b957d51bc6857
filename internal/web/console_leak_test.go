package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/vault"
)

// A leak investigation's page shows its suspects with score and evidence, to security
// only; an incident declared over that leak shows its deadline clock to security,
// compliance and auditors, and its standing once users were told.
func TestLeakAndIncidentPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		w := newTestWeb(t, db)
		svc := principal.NewContext(ctx, principal.Key("platform", principal.Service, "k-platform"))
		sec := principal.NewContext(ctx, principal.Key("sam", principal.Security, "k-sam"))
		var ids []string
		for i, phone := range []string{"+8613800000001", "+8613800000002", "+8613800000003"} {
			id := "u-" + string(rune('1'+i))
			w.account(t, id, "zh-CN")
			if _, err := w.app.Vault.Put(svc, id, vault.PII{Name: "用户" + id, Phone: phone, Address: "杭州市西湖区" + id}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if _, err := w.app.Vault.PutPurpose(principal.NewContext(ctx, principal.Key("root", principal.Admin, "k-root")), &vault.Purpose{Name: "partner.delivery",
			Roles: []principal.Role{principal.Service, principal.Security}, Fields: []string{"address", "name", "phone"}, PerActorDaily: 100}); err != nil {
			t.Fatal(err)
		}
		sh, err := w.app.Leak.CreateShare(svc, leak.ShareRequest{Recipient: "logistics:sf-express", Purpose: "partner.delivery",
			Fields: []string{"name", "phone", "address"}, Accounts: ids[:2]})
		if err != nil {
			t.Fatal(err)
		}
		var rows []leak.Row
		for _, r := range sh.Records {
			rows = append(rows, leak.Row{Name: r.Name, Phone: r.Phone, Address: r.Address})
		}
		lk, err := w.app.Leak.Investigate(sec, leak.Investigation{Rows: rows, Note: "posted on a forum"})
		if err != nil {
			t.Fatal(err)
		}
		page := "/console/leaks/" + lk.ID
		body := wantCode(t, w.get(t, w.sessions[principal.Security], page), http.StatusOK)
		for _, want := range []string{"logistics:sf-express", `class="score"`, "posted on a forum", "address, name, phone"} {
			if !strings.Contains(body, want) {
				t.Fatalf("the investigation's page lacks %q:\n%s", want, body)
			}
		}
		for _, role := range []principal.Role{principal.Compliance, principal.Auditor, principal.Agent} {
			wantCode(t, w.get(t, w.sessions[role], page), http.StatusForbidden)
		}
		wantCode(t, w.get(t, w.sessions[principal.Security], "/console/leaks/"+strings.Repeat("0", 8)+"-0000-7000-8000-000000000000"), http.StatusNotFound)

		in, err := w.app.Incidents.Create(sec, leak.IncidentRequest{Title: "Delivery addresses on a forum", DetectedAt: time.Now().Add(-30 * time.Minute),
			DataTypes: []string{"name", "phone", "address"}, Cause: "a partner's export", Harm: "phishing calls", Remedies: "the partner's access is revoked",
			Advice: "do not trust calls about parcels", Contact: "privacy@example.com", Grade: leak.GradeMajor, Affected: leak.IncidentAffected{Leak: lk.ID}})
		if err != nil {
			t.Fatal(err)
		}
		page = "/console/incidents/" + in.ID
		for _, role := range []principal.Role{principal.Security, principal.Compliance, principal.Auditor} {
			body := wantCode(t, w.get(t, w.sessions[role], page), http.StatusOK)
			for _, want := range []string{`id="deadline-state" class="deadline-pending">pending`, `id="time-left" role="timer">3h29m`, `<dd id="accounts">2</dd>`, `href="/console/leaks/` + lk.ID} {
				if !strings.Contains(body, want) {
					t.Fatalf("%s: the incident's page lacks %q:\n%s", role, want, body)
				}
			}
		}
		for _, role := range []principal.Role{principal.Agent, principal.Reviewer, principal.Service, principal.Admin} {
			wantCode(t, w.get(t, w.sessions[role], page), http.StatusForbidden)
		}
		if _, err := w.app.Incidents.Notify(sec, in.ID); err != nil {
			t.Fatal(err)
		}
		body = wantCode(t, w.get(t, w.sessions[principal.Compliance], page), http.StatusOK)
		if !strings.Contains(body, `class="deadline-met">met`) || strings.Contains(body, `id="time-left"`) {
			t.Fatalf("a notified incident's clock:\n%s", body)
		}
		wantCode(t, w.get(t, w.sessions[principal.Security], "/console/incidents/no-such"), http.StatusNotFound)
	})
}
