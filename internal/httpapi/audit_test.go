package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/problem"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// auditAPI is the API over a database with an audit log and its sequencer.
type auditAPI struct {
	h        http.Handler
	seq      *audit.Sequencer
	accounts *accounts.Service
	keys     map[principal.Role]string
}

func newAuditAPI(t *testing.T, db *sqlstore.DB) *auditAPI {
	t.Helper()
	api := newTestAPI(t, db)
	return &auditAPI{h: api.handler, seq: api.seq, accounts: api.app.Accounts, keys: api.keys}
}

// put writes n audited accounts, a-<from> on, and sequences them.
func (a *auditAPI) put(t *testing.T, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		acct := &accounts.Account{ID: fmt.Sprintf("a-%d", i), Region: "yn", Locale: "zh-CN", CreatedAt: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)}
		if _, err := a.accounts.Put(principal.NewContext(audit.WithRequestID(context.Background(), "r"), principal.Principal{Name: "svc", Role: principal.Service}), acct); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := a.seq.Integrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// get calls the API with role's key ("" for none) and returns the response.
func (a *auditAPI) get(t *testing.T, role principal.Role, target string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	if role != "" {
		r.Header.Set("Authorization", "Bearer "+a.keys[role])
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

// getJSON calls the API as an auditor, wants 200 and decodes the body into out.
func (a *auditAPI) getJSON(t *testing.T, target string, out any) {
	t.Helper()
	w := a.get(t, principal.Auditor, target)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
}

func decodeHashes(t *testing.T, hs []string) [][]byte {
	t.Helper()
	out := make([][]byte, len(hs))
	for i, h := range hs {
		b, err := base64.StdEncoding.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// checkpoint fetches the verifier key and the latest checkpoint, as an outside verifier
// would, and checks the checkpoint's signature.
func (a *auditAPI) checkpoint(t *testing.T) (note.Verifier, *audit.Checkpoint) {
	t.Helper()
	w := a.get(t, "", "/v1/audit/verifier-key")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("verifier key: %d %s %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	v, err := note.NewVerifier(strings.TrimSpace(w.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	w = a.get(t, principal.Auditor, "/v1/audit/checkpoint")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("checkpoint: %d %s", w.Code, w.Body)
	}
	n, err := note.Open(w.Body.Bytes(), note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint: %v\n%s", err, w.Body)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[0] != v.Name() || lines[3] != "" {
		t.Fatalf("checkpoint body %q: want origin, size and root lines", n.Text)
	}
	cp, err := audit.OpenCheckpoint(w.Body.Bytes(), v)
	if err != nil {
		t.Fatal(err)
	}
	return v, cp
}

func TestAuditAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := newAuditAPI(t, db)
		if w := a.get(t, principal.Auditor, "/v1/audit/checkpoint"); w.Code != http.StatusNotFound {
			t.Fatalf("checkpoint of an empty log: %d %s", w.Code, w.Body)
		}
		a.put(t, 0, 45)
		v, cp := a.checkpoint(t)
		if want := int64(45 + len(principal.Roles)); cp.Size != want { // and the keys' creation
			t.Fatalf("size %d, want %d", cp.Size, want)
		}

		// Every entry, page by page, each proven with the inclusion proof route.
		var all []auditEntry
		for target := "/v1/audit/entries?start=0&limit=10"; ; {
			var page auditPage
			a.getJSON(t, target, &page)
			all = append(all, page.Entries...)
			if page.Next == "" {
				break
			}
			target = "/v1/audit/entries?limit=10&cursor=" + page.Next
		}
		if len(all) != int(cp.Size) {
			t.Fatalf("listed %d entries, want %d", len(all), cp.Size)
		}
		for i, e := range all {
			leaf, err := base64.StdEncoding.DecodeString(e.Leaf)
			if err != nil || e.Index != int64(i) {
				t.Fatalf("entry %d: index %d, %v", i, e.Index, err)
			}
			var decoded audit.Entry
			if err := json.Unmarshal(leaf, &decoded); err != nil || decoded.Action != e.Action || decoded.Subject != e.Subject {
				t.Fatalf("entry %d: leaf %s does not encode %+v", i, leaf, e)
			}
			var p inclusion
			a.getJSON(t, fmt.Sprintf("/v1/audit/proof/inclusion?index=%d&size=%d", i, cp.Size), &p)
			err = proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(i), uint64(cp.Size), rfc6962.DefaultHasher.HashLeaf(leaf), decodeHashes(t, p.Hashes), cp.Root[:])
			if err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
		}

		// A person's view: everything about a-7, each with its proof against the page's checkpoint.
		var page auditPage
		a.getJSON(t, "/v1/audit/entries?subject=a-7", &page)
		pcp, err := audit.OpenCheckpoint([]byte(page.Checkpoint), v)
		if err != nil || len(page.Entries) != 1 {
			t.Fatalf("subject search: %d entries, checkpoint %v", len(page.Entries), err)
		}
		for _, e := range page.Entries {
			leaf, _ := base64.StdEncoding.DecodeString(e.Leaf)
			err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(e.Index), uint64(pcp.Size), rfc6962.DefaultHasher.HashLeaf(leaf), decodeHashes(t, e.Proof.Hashes), pcp.Root[:])
			if e.Subject != "a-7" || e.Action != "account.put" || err != nil {
				t.Fatalf("subject search: %+v: %v", e, err)
			}
		}
		var byActor auditPage
		a.getJSON(t, "/v1/audit/entries?actor=svc&limit=100", &byActor)
		if len(byActor.Entries) != 45 || byActor.Next != "" {
			t.Fatalf("actor search: %d entries, next %q", len(byActor.Entries), byActor.Next)
		}

		// The log grows; the old checkpoint is a prefix of the new one.
		a.put(t, 45, 30)
		_, cp2 := a.checkpoint(t)
		var c consistency
		a.getJSON(t, fmt.Sprintf("/v1/audit/proof/consistency?from=%d&to=%d", cp.Size, cp2.Size), &c)
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(cp.Size), uint64(cp2.Size), decodeHashes(t, c.Hashes), cp.Root[:], cp2.Root[:]); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAuditAPIRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := newAuditAPI(t, db)
		a.put(t, 0, 10) // a tree of 17, with the seven keys
		for _, c := range []struct{ target, field string }{
			{"/v1/audit/proof/inclusion?index=x&size=5", "index"},
			{"/v1/audit/proof/inclusion?size=5", "index"},
			{"/v1/audit/proof/inclusion?index=5&size=5", "index"},
			{"/v1/audit/proof/inclusion?index=1&size=18", "size"},
			{"/v1/audit/proof/inclusion?index=1&size=0", "size"},
			{"/v1/audit/proof/consistency?from=0&to=5", "from"},
			{"/v1/audit/proof/consistency?to=5", "from"},
			{"/v1/audit/proof/consistency?from=6&to=5", "from"},
			{"/v1/audit/proof/consistency?from=2&to=99", "to"},
			{"/v1/audit/entries?start=18", "start"},
			{"/v1/audit/entries?start=-1", "start"},
			{"/v1/audit/entries?limit=0", "limit"},
			{"/v1/audit/entries?limit=1001", "limit"},
			{"/v1/audit/entries?subject=a-1&limit=101", "limit"},
			{"/v1/audit/entries?subject=a-1&start=3", "start"},
			{"/v1/audit/entries?cursor=zzz", "cursor"},
			{"/v1/audit/entries?start=1&cursor=aTM", "cursor"},
		} {
			w := a.get(t, principal.Auditor, c.target)
			var p problem.Problem
			json.Unmarshal(w.Body.Bytes(), &p)
			if w.Code != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != c.field {
				t.Errorf("GET %s: %d %s; want 400 naming %s", c.target, w.Code, w.Body, c.field)
			}
		}
		for _, c := range []struct {
			role   principal.Role
			target string
			status int
		}{
			{"", "/v1/audit/checkpoint", http.StatusUnauthorized},
			{principal.Service, "/v1/audit/checkpoint", http.StatusForbidden},
			{principal.Service, "/v1/audit/entries", http.StatusForbidden},
			{principal.Service, "/v1/audit/proof/inclusion?index=0", http.StatusForbidden},
			{"", "/v1/audit/proof/consistency?from=1", http.StatusUnauthorized},
			{principal.Admin, "/v1/audit/checkpoint", http.StatusOK},
			{principal.Admin, "/v1/audit/proof/inclusion?index=0", http.StatusOK},
			{principal.Auditor, "/v1/audit/proof/consistency?from=1", http.StatusOK},
			{"", "/v1/audit/verifier-key", http.StatusOK},
		} {
			if w := a.get(t, c.role, c.target); w.Code != c.status {
				t.Errorf("GET %s as %q: %d, want %d", c.target, c.role, w.Code, c.status)
			}
		}
	})
}
