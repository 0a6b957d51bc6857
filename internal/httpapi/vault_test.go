package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

const piiBody = `{"name": "张三", "phone": "138 1234 5678", "email": "zhang.san@example.com", "id_number": "11010519491231002X",
	"address": "浙江省杭州市西湖区文三路100号", "bank_card": "6222021234567890128", "plate": "浙B12312", "extra": {"wechat": "zs_1990"}}`

// vaultAPI sets up accounts u-1 and u-2 with personal data and a "delivery" purpose.
func vaultAPI(t *testing.T, db *sqlstore.DB) *testAPI {
	t.Helper()
	api := newTestAPI(t, db)
	for _, id := range []string{"u-1", "u-2"} {
		wantStatus(t, api.put(t, id, validBody), http.StatusCreated)
		wantStatus(t, api.do(t, request{method: "PUT", target: "/v1/accounts/" + id + "/pii", key: api.keys[principal.Service], body: piiBody}), http.StatusOK)
	}
	w := api.do(t, request{method: "PUT", target: "/v1/pii/purposes/delivery", key: api.keys[principal.Admin],
		body: `{"roles": ["agent", "security"], "fields": ["phone", "address"], "requires_ticket": true, "per_actor_daily": 3}`})
	wantStatus(t, w, http.StatusCreated)
	return api
}

func TestPIIPutAndMaskedRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := vaultAPI(t, db)
		w := api.do(t, request{method: "GET", target: "/v1/accounts/u-1/pii", key: api.keys[principal.Reviewer]})
		wantStatus(t, w, http.StatusOK)
		got := decode[piiReply](t, w)
		want := `{"name":"张*","phone":"138****5678","email":"z***@example.com","id_number":"1101**********002X","address":"浙江省杭州市西湖区****","bank_card":"****0128","plate":"浙B***12","extra":{"wechat":"****"}}`
		if b, _ := json.Marshal(got.PII); string(b) != want || len(got.Fields) != 8 {
			t.Fatalf("masked read = %s %v\nwant %s", b, got.Fields, want)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/accounts/u-9/pii", key: api.keys[principal.Agent]}), http.StatusNotFound, "")

		// Replaced whole: a field left out is gone.
		w = api.do(t, request{method: "PUT", target: "/v1/accounts/u-2/pii", key: api.keys[principal.Service], body: `{"plate": "粤BD12345"}`})
		wantStatus(t, w, http.StatusOK)
		if r := decode[piiReply](t, w); !slices.Equal(r.Fields, []string{"plate"}) || r.PII.Plate != "粤B****45" {
			t.Fatalf("replaced: %+v", r)
		}
	})
}

func TestPIIHostileInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := vaultAPI(t, db)
		svc := api.keys[principal.Service]
		put := func(target, body string) *http.Response {
			return api.do(t, request{method: "PUT", target: target, key: svc, body: body}).Result()
		}
		before := api.rows(t)
		// Every bad field at once.
		w := api.do(t, request{method: "PUT", target: "/v1/accounts/u-1/pii", key: svc,
			body: `{"phone": "12", "email": "x@", "id_number": "110105194912310021", "bank_card": "4111111111111112", "plate": "ZZ123", "name": "a\u0000b", "extra": {"Bad": "v"}}`})
		p := wantProblem(t, w, http.StatusBadRequest, "")
		var fields []string
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
		}
		if want := []string{"name", "phone", "email", "id_number", "bank_card", "plate", "extra.Bad"}; !slices.Equal(fields, want) {
			t.Fatalf("fields at fault %v, want %v", fields, want)
		}
		for _, c := range []struct {
			target, body string
			status       int
			field        string
		}{
			{"/v1/accounts/u-1/pii", `{"ssn": "1"}`, 400, "ssn"},
			{"/v1/accounts/u-1/pii", `{"phone": 13812345678}`, 400, "phone"},
			{"/v1/accounts/u-1/pii", `{"phone": "13812345678", "phone": "13812345679"}`, 400, "phone"},
			{"/v1/accounts/u-1/pii", `[]`, 400, ""},
			{"/v1/accounts/u-1/pii", `{"name": "` + strings.Repeat("长", 101) + `"}`, 400, "name"},
			{"/v1/accounts/-bad/pii", `{}`, 400, "id"},
			{"/v1/accounts/nobody/pii", `{"name": "x"}`, 404, ""},
			{"/v1/accounts/u-1/pii", `{"name": "` + strings.Repeat("a", 1<<20) + `"}`, 413, ""},
		} {
			if r := put(c.target, c.body); r.StatusCode != c.status {
				t.Errorf("PUT %s %.40s: %d, want %d", c.target, c.body, r.StatusCode, c.status)
			}
		}
		api.wantRows(t, before)
		// Nothing was replaced: the first values stand.
		w = api.do(t, request{method: "GET", target: "/v1/accounts/u-1/pii", key: api.keys[principal.Agent]})
		if r := decode[piiReply](t, w); r.PII.Phone != "138****5678" {
			t.Fatalf("after refused writes: %+v", r.PII)
		}

		// Purposes and reveals.
		admin := api.keys[principal.Admin]
		w = api.do(t, request{method: "PUT", target: "/v1/pii/purposes/Bad!", key: admin, body: `{"roles": ["auditor"], "fields": ["soul"], "per_actor_daily": 0}`})
		wantProblem(t, w, http.StatusBadRequest, "name")
		for _, f := range []string{"roles", "fields", "per_actor_daily"} {
			wantProblem(t, w, http.StatusBadRequest, f)
		}
		agent := api.keys[principal.Agent]
		reveal := func(key, account, body string, h http.Header) *http.Response {
			return api.do(t, request{method: "POST", target: "/v1/accounts/" + account + "/pii/reveal", key: key, body: body, header: h}).Result()
		}
		for _, c := range []struct {
			body   string
			status int
		}{
			{`{"fields": ["soul"], "purpose": "none"}`, 400},
			{`{"fields": ["phone"], "purpose": "delivery"}`, 400}, // no ticket
			{`{"fields": ["phone"], "purpose": "delivery", "ticket": "T\n1"}`, 400},
			{`{"fields": ["id_number"], "purpose": "delivery", "ticket": "T-1"}`, 403},
			{`{"fields": ["phone"], "purpose": "delivery", "ticket": "T-1", "why": "x"}`, 400},
		} {
			if r := reveal(agent, "u-1", c.body, nil); r.StatusCode != c.status {
				t.Errorf("reveal %s: %d, want %d", c.body, r.StatusCode, c.status)
			}
		}
		if r := reveal(api.keys[principal.Compliance], "u-1", `{"fields": ["phone"], "purpose": "delivery", "ticket": "T-1"}`, nil); r.StatusCode != 403 {
			t.Errorf("reveal by a role the purpose does not name: %d", r.StatusCode)
		}
		w = api.do(t, request{method: "POST", target: "/v1/accounts/u-1/pii/reveal", key: agent, body: `{"fields": ["phone"], "purpose": "delivery", "ticket": "T-1"}`,
			header: http.Header{"Idempotency-Key": {"k1"}}})
		wantProblem(t, w, http.StatusBadRequest, "Idempotency-Key")
		w = api.do(t, request{method: "POST", target: "/v1/pii/lookup", key: svc, body: `{"field": "name", "value": "张三"}`})
		wantProblem(t, w, http.StatusBadRequest, "field")
		w = api.do(t, request{method: "POST", target: "/v1/pii/lookup", key: svc, body: `{"field": "phone", "value": "abc"}`})
		wantProblem(t, w, http.StatusBadRequest, "value")
	})
}

func TestPIIRevealLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := vaultAPI(t, db)
		body := `{"fields": ["phone", "address"], "purpose": "delivery", "ticket": "CS-1001"}`
		for i := range 3 {
			w := api.do(t, request{method: "POST", target: "/v1/accounts/u-1/pii/reveal", key: api.keys[principal.Agent], body: body})
			wantStatus(t, w, http.StatusOK)
			if r := decode[piiReply](t, w); r.PII.Phone != "+8613812345678" || r.PII.Address != "浙江省杭州市西湖区文三路100号" || r.PII.Name != "" {
				t.Fatalf("reveal %d = %+v", i, r.PII)
			}
		}
		w := api.do(t, request{method: "POST", target: "/v1/accounts/u-2/pii/reveal", key: api.keys[principal.Agent], body: body})
		p := wantProblem(t, w, http.StatusTooManyRequests, "")
		if !strings.Contains(p.Detail, "security alerted") {
			t.Fatalf("429 detail: %s", p.Detail)
		}
		// The limit is the actor's: security's own reveals still go through.
		w = api.do(t, request{method: "POST", target: "/v1/accounts/u-2/pii/reveal", key: api.keys[principal.Security], body: body})
		wantStatus(t, w, http.StatusOK)
	})
}

func TestPIIErasure(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := vaultAPI(t, db)
		svc := api.keys[principal.Service]
		w := api.do(t, request{method: "DELETE", target: "/v1/accounts/u-1/pii", key: svc, header: http.Header{"Idempotency-Key": {"erase-1"}}})
		wantStatus(t, w, http.StatusOK)
		again := api.do(t, request{method: "DELETE", target: "/v1/accounts/u-1/pii", key: svc, header: http.Header{"Idempotency-Key": {"erase-1"}}})
		if again.Code != http.StatusOK || again.Body.String() != w.Body.String() {
			t.Fatalf("replay: %d %s, want the first answer %s", again.Code, again.Body, w.Body)
		}
		wantProblem(t, api.do(t, request{method: "DELETE", target: "/v1/accounts/u-1/pii", key: svc}), http.StatusNotFound, "")
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/accounts/u-1/pii", key: api.keys[principal.Agent]}), http.StatusNotFound, "")
		w = api.do(t, request{method: "POST", target: "/v1/pii/lookup", key: svc, body: `{"field": "plate", "value": "浙B12312"}`})
		if r := decode[lookupReply](t, w); !slices.Equal(r.Accounts, []string{"u-2"}) {
			t.Fatalf("lookup after erasure: %+v", r)
		}
		if _, _, err := api.seq.Integrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		a := &auditAPI{h: api.handler, seq: api.seq, keys: api.keys}
		v, _ := a.checkpoint(t)
		if _, err := audit.Verify(context.Background(), db.Audit(), v, nil); err != nil {
			t.Fatalf("the audit log after erasure: %v", err)
		}
	})
}

// TestAccessLog is the scenario: staff read, reveal and look up two accounts'
// data; each holder's access log lists exactly the accesses to their own, with the
// role, team and pseudonym of who made them, and each entry's proof verifies against
// the signed checkpoint with transparency-dev/merkle and the note format alone. No
// staff name, key ID or secret reaches the user.
func TestAccessLog(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := vaultAPI(t, db)
		ctx := context.Background()
		amySecret, amy, err := api.app.Keys.CreateKey(ctx, auth.KeySpec{Role: principal.Agent, Name: "amy", Team: "cs-hangzhou"})
		if err != nil {
			t.Fatal(err)
		}
		samSecret, sam, err := api.app.Keys.CreateKey(ctx, auth.KeySpec{Role: principal.Security, Name: "sam", Team: "fraud"})
		if err != nil {
			t.Fatal(err)
		}
		do := func(key, method, target, body string, status int) {
			t.Helper()
			wantStatus(t, api.do(t, request{method: method, target: target, key: key, body: body}), status)
		}
		do(amySecret, "GET", "/v1/accounts/u-1/pii", "", 200)
		do(amySecret, "POST", "/v1/accounts/u-1/pii/reveal", `{"fields": ["phone"], "purpose": "delivery", "ticket": "CS-7"}`, 200)
		do(samSecret, "GET", "/v1/accounts/u-2/pii", "", 200)
		do(samSecret, "POST", "/v1/pii/lookup", `{"field": "phone", "value": "+8613812345678"}`, 200)       // both
		do(samSecret, "POST", "/v1/pii/lookup", `{"field": "bank_card", "value": "4111111111111111"}`, 200) // none

		u1 := api.userToken(t, "u-1")
		// Until the sequencer integrates them, the entries are not in a checkpoint.
		if _, _, err := api.seq.Integrate(ctx); err != nil {
			t.Fatal(err)
		}
		who := func(name string) string {
			p, err := api.app.Vault.Pseudonym(ctx, principal.Key(name, principal.Agent, ""))
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		var svc string // the service key's name, made by newTestAPI
		if keys, err := api.app.Keys.List(ctx, "", 100); err == nil {
			for _, k := range keys {
				if k.Role == principal.Service {
					svc = k.Name
				}
			}
		}
		vkey := strings.TrimSpace(api.do(t, request{method: "GET", target: "/v1/audit/verifier-key"}).Body.String())
		got := accessLog(t, api, u1, vkey, 2)
		want := []string{
			"pii.put service//" + who(svc) + " address,bank_card,email,extra,id_number,name,phone,plate",
			"pii.read agent/cs-hangzhou/" + who("amy") + " address,bank_card,email,extra,id_number,name,phone,plate",
			"pii.reveal agent/cs-hangzhou/" + who("amy") + " phone purpose=delivery ticket=CS-7",
			"pii.lookup security/fraud/" + who("sam") + " phone",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("u-1's access log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		u2 := api.userToken(t, "u-2")
		got = accessLog(t, api, u2, vkey, 100)
		want = []string{
			"pii.put service//" + who(svc) + " address,bank_card,email,extra,id_number,name,phone,plate",
			"pii.read security/fraud/" + who("sam") + " address,bank_card,email,extra,id_number,name,phone,plate",
			"pii.lookup security/fraud/" + who("sam") + " phone",
		}
		if !slices.Equal(got, want) {
			t.Fatalf("u-2's access log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// Neither the answer nor its leaf bytes name the staff or their keys.
		for _, token := range []string{u1, u2} {
			body := api.do(t, request{method: "GET", target: "/v1/me/access-log?limit=100", key: token}).Body.String()
			var page accessLogPage
			json.Unmarshal([]byte(body), &page)
			for _, e := range page.Entries {
				leaf, _ := base64.StdEncoding.DecodeString(e.Leaf)
				body += string(leaf)
			}
			for _, secret := range []string{`"amy"`, `"sam"`, `"` + svc + `"`, amy.ID, sam.ID, amySecret, samSecret} {
				if strings.Contains(body, secret) {
					t.Fatalf("the access log holds %s:\n%s", secret, body)
				}
			}
		}
		// Nobody else's entries name the account in clear.
		var all auditPage
		w := api.do(t, request{method: "GET", target: "/v1/audit/entries?limit=1000", key: api.keys[principal.Auditor]})
		json.Unmarshal(w.Body.Bytes(), &all)
		for _, e := range all.Entries {
			if strings.HasPrefix(e.Action, "pii.") && strings.Contains(e.Leaf, base64.StdEncoding.EncodeToString([]byte("u-1"))) || strings.HasPrefix(e.Action, "pii.") && e.Subject == "u-1" {
				t.Fatalf("entry names the account: %+v", e)
			}
		}
		// A user may not page through another's log with a cursor: the cursor moves
		// within the token's own subject only.
		w = api.do(t, request{method: "GET", target: "/v1/me/access-log?cursor=bad", key: u1})
		wantProblem(t, w, http.StatusBadRequest, "cursor")
	})
}

// accessLog reads the token's access log page by page (limit a page), checks every entry
// as an outside verifier would, and returns "action role/team/name fields [context]" per
// entry.
func accessLog(t *testing.T, api *testAPI, token, vkey string, limit int) []string {
	t.Helper()
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for target := "/v1/me/access-log?limit=" + strconv.Itoa(limit); ; {
		w := api.do(t, request{method: "GET", target: target, key: token})
		wantStatus(t, w, http.StatusOK)
		page := decode[accessLogPage](t, w)
		n, err := note.Open([]byte(page.Checkpoint), note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		lines := strings.Split(n.Text, "\n")
		size, _ := strconv.ParseUint(lines[1], 10, 64)
		root, err := base64.StdEncoding.DecodeString(lines[2])
		if err != nil || size != uint64(page.Size) {
			t.Fatalf("checkpoint body %q", n.Text)
		}
		for _, e := range page.Entries {
			leaf, err := base64.StdEncoding.DecodeString(e.Leaf)
			if err != nil {
				t.Fatal(err)
			}
			var hashes [][]byte
			for _, h := range e.Proof.Hashes {
				b, _ := base64.StdEncoding.DecodeString(h)
				hashes = append(hashes, b)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(e.Index), size, rfc6962.DefaultHasher.HashLeaf(leaf), hashes, root); err != nil {
				t.Fatalf("entry %d: %v", e.Index, err)
			}
			var decoded struct {
				Action  string              `json:"action"`
				Actor   principal.Principal `json:"actor"`
				Subject string              `json:"subject"`
				Fields  []string            `json:"fields"`
				Context map[string]string   `json:"context"`
			}
			if err := json.Unmarshal(leaf, &decoded); err != nil || decoded.Subject != page.Subject || decoded.Action != e.Action {
				t.Fatalf("leaf %s is not about %s: %v", leaf, page.Subject, err)
			}
			s := decoded.Action + " " + string(decoded.Actor.Role) + "/" + decoded.Actor.Team + "/" + decoded.Actor.Name + " " + strings.Join(decoded.Fields, ",")
			for _, k := range []string{"purpose", "ticket"} {
				if v, ok := decoded.Context[k]; ok {
					s += fmt.Sprintf(" %s=%s", k, v)
				}
			}
			// Whole values: a short piece such as "138" turns up in hex digests by chance.
			if bytes.Contains(leaf, []byte("13812345678")) || bytes.Contains(leaf, []byte("138****")) || bytes.Contains(leaf, []byte("张三")) || bytes.Contains(leaf, []byte("zhang.san")) {
				t.Fatalf("leaf holds a value: %s", leaf)
			}
			out = append(out, s)
		}
		if page.Next == "" {
			return out
		}
		target = "/v1/me/access-log?limit=" + strconv.Itoa(limit) + "&cursor=" + page.Next
	}
}

// TestImportCarriesPII: an import line may carry the account's personal data, validated
// and sealed as it is read, written with the accounts all or nothing.
func TestImportCarriesPII(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		line := func(id, pii string) string {
			l := `{"id": "` + id + `", "region": "zj", "locale": "zh-CN", "created_at": "2020-01-02T03:04:05Z"`
			if pii != "" {
				l += `, "pii": ` + pii
			}
			return l + "}\n"
		}
		bad := line("i-1", `{"phone": "13812345678"}`) + line("i-2", "") + line("i-3", `{"phone": "12", "plate": "x"}`) + line("i-4", `{"ssn": "1"}`)
		p := wantProblem(t, api.importBody(t, bad), http.StatusBadRequest, "line 3: pii.phone")
		for _, f := range []string{"line 3: pii.plate", "line 4: ssn"} {
			if !slices.ContainsFunc(p.Errors, func(e errs.FieldError) bool { return e.Field == f }) {
				t.Errorf("problem does not name %q: %+v", f, p.Errors)
			}
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/accounts/i-1/pii", key: api.keys[principal.Agent]}), http.StatusNotFound, "")

		good := line("i-1", `{"phone": "13812345678"}`) + line("i-2", "") + line("i-3", `{"name": "李四", "plate": "浙B12312"}`)
		w := api.importBody(t, good)
		wantStatus(t, w, http.StatusOK)
		w = api.do(t, request{method: "GET", target: "/v1/accounts/i-3/pii", key: api.keys[principal.Agent]})
		if r := decode[piiReply](t, w); r.PII.Name != "李*" || r.PII.Plate != "浙B***12" {
			t.Fatalf("imported pii: %s", w.Body)
		}
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/accounts/i-2/pii", key: api.keys[principal.Agent]}), http.StatusNotFound, "")
		w = api.do(t, request{method: "POST", target: "/v1/pii/lookup", key: api.keys[principal.Security], body: `{"field": "phone", "value": "13812345678"}`})
		if r := decode[lookupReply](t, w); !slices.Equal(r.Accounts, []string{"i-1"}) {
			t.Fatalf("lookup of imported data: %+v", r)
		}
	})
}
