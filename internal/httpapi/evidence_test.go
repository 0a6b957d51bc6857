package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

const chatBody = `{"kind": "chat", "account": "yn-1", "reference": "complaint-88", "messages": [
	{"at": "2026-05-01T09:00:00+08:00", "from": "user:yn-1", "text": "my order is late"},
	{"at": "2026-05-01T09:01:00+08:00", "from": "agent:li", "text": "sorry, checking"},
	{"at": "2026-05-01T09:02:00+08:00", "from": "user:yn-1", "text": "I will complain"},
	{"at": "2026-05-01T09:03:00+08:00", "from": "agent:li", "text": "a refund is issued"}]}`

// verifyAnchor checks, as an outside verifier holding only the log's verifier key, that
// the record's audit entry is in the signed checkpoint and carries the content's hash.
func verifyAnchor(t *testing.T, vkey string, got evidenceReply) {
	t.Helper()
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open([]byte(got.Anchor.Checkpoint), note.VerifierList(verifier))
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	size, _ := strconv.ParseUint(lines[1], 10, 64)
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(got.Anchor.Entries) != 1 {
		t.Fatalf("checkpoint %q, %d entries", n.Text, len(got.Anchor.Entries))
	}
	e := got.Anchor.Entries[0]
	leaf, _ := base64.StdEncoding.DecodeString(e.Leaf)
	var hashes [][]byte
	for _, h := range e.Proof.Hashes {
		b, _ := base64.StdEncoding.DecodeString(h)
		hashes = append(hashes, b)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(e.Index), size, rfc6962.DefaultHasher.HashLeaf(leaf), hashes, root); err != nil {
		t.Fatalf("inclusion: %v", err)
	}
	var decoded struct {
		Action  string            `json:"action"`
		Subject string            `json:"subject"`
		Context map[string]string `json:"context"`
	}
	sum := sha256.Sum256(got.Content)
	if err := json.Unmarshal(leaf, &decoded); err != nil || decoded.Action != "evidence.store" || decoded.Subject != "evidence:"+got.Evidence.ID ||
		decoded.Context["sha256"] != hex.EncodeToString(sum[:]) || got.Evidence.SHA256 != decoded.Context["sha256"] {
		t.Fatalf("leaf %s does not anchor content %s: %v", leaf, got.Content, err)
	}
}

// TestEvidenceOverHTTP: an agent stores a chat; its hash is anchored in the audit log
// and the proof verifies with transparency-dev/merkle alone; a reordered, partly forged
// presentation is told apart from the record; another agent reaches none of it.
func TestEvidenceOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := incidentAPI(t, db, nil)
		agent := api.keys[principal.Agent]
		w := api.do(t, request{method: "POST", target: "/v1/evidence", key: agent, body: chatBody, header: http.Header{"Idempotency-Key": {"ev-1"}}})
		wantStatus(t, w, http.StatusCreated)
		e := decode[leak.Evidence](t, w)
		again := api.do(t, request{method: "POST", target: "/v1/evidence", key: agent, body: chatBody, header: http.Header{"Idempotency-Key": {"ev-1"}}})
		if decode[leak.Evidence](t, again).ID != e.ID || e.Messages != 4 || e.Account != "yn-1" {
			t.Fatalf("stored %+v; retry %s", e, again.Body)
		}
		w = api.do(t, request{method: "GET", target: "/v1/evidence/" + e.ID, key: agent})
		if got := decode[evidenceReply](t, w); !got.Pending || len(got.Anchor.Entries) != 0 {
			t.Fatalf("before sequencing: %+v", got)
		}
		if _, _, err := api.seq.Integrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		vkey := strings.TrimSpace(api.do(t, request{method: "GET", target: "/v1/audit/verifier-key"}).Body.String())
		for _, key := range []string{agent, api.keys[principal.Compliance], api.keys[principal.Security]} {
			got := decode[evidenceReply](t, api.do(t, request{method: "GET", target: "/v1/evidence/" + e.ID, key: key}))
			if got.Pending || !strings.Contains(string(got.Content), "a refund is issued") {
				t.Fatalf("evidence %+v", got)
			}
			verifyAnchor(t, vkey, got)
		}
		// The screenshots: the refund moved before the complaint, and a line never said.
		presented := `{"messages": [{"from": "user:yn-1", "text": "my order is late"}, {"from": "agent:li", "text": "a refund is issued"},
			{"from": "user:yn-1", "text": "I will complain"}, {"from": "agent:li", "text": "go away"}]}`
		w = api.do(t, request{method: "POST", target: "/v1/evidence/" + e.ID + "/compare", key: api.keys[principal.Compliance], body: presented})
		wantStatus(t, w, http.StatusOK)
		cmp := decode[leak.EvidenceComparison](t, w)
		if !slices.Equal(cmp.Found, []int{0, 1, 2}) || !slices.Equal(cmp.NotFound, []int{3}) || len(cmp.Reordered) != 1 ||
			!slices.Equal(cmp.Omitted, []int{1}) || cmp.Consistent || cmp.SameOrder {
			t.Fatalf("comparison %+v", cmp)
		}
		// Per object: another agent, and any end user, reach nothing of it.
		other := api.newKey(t, api.app.Keys, principal.Agent)
		for _, key := range []string{other, api.userToken(t, "yn-1")} {
			wantProblem(t, api.do(t, request{method: "GET", target: "/v1/evidence/" + e.ID, key: key}), http.StatusForbidden, "")
			wantProblem(t, api.do(t, request{method: "POST", target: "/v1/evidence/" + e.ID + "/compare", key: key, body: presented}), http.StatusForbidden, "")
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/evidence", key: api.keys[principal.Auditor], body: chatBody}), http.StatusForbidden, "")
	})
}

func TestEvidenceHostileInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := incidentAPI(t, db, nil)
		key := api.keys[principal.Security]
		before := api.rows(t)
		p := wantProblem(t, api.do(t, request{method: "POST", target: "/v1/evidence", key: key,
			body: `{"kind": "chat", "account": "", "messages": [{"at": "noon", "from": "", "text": "x"}, {"at": "2026-05-01T09:00:00Z", "from": "a", "text": "y"}]}`}),
			http.StatusBadRequest, "messages[0].at")
		var fields []string
		for _, f := range p.Errors {
			fields = append(fields, f.Field)
		}
		if want := []string{"messages[0].at", "account", "messages[0].from"}; !slices.Equal(fields, want) {
			t.Fatalf("fields %v, want %v", fields, want)
		}
		for _, tc := range []struct {
			body   string
			status int
			field  string
		}{
			{`{"kind": "chat"`, 400, "body"},
			{`{"kind": "chat", "account": "yn-1", "messages": {}}`, 400, "messages"},
			{`{"kind": "video", "account": "yn-1"}`, 400, "kind"},
			{`{"kind": "call", "account": "yn-1", "recording": {"sha256": "zz"}}`, 400, "recording.sha256"},
			{`{"kind": "call", "account": "yn-1", "recording": {"sha256": "` + strings.Repeat("a", 64) + `"}, "extra": 1}`, 400, "extra"},
			{`{"kind": "call", "account": "ghost", "recording": {"sha256": "` + strings.Repeat("a", 64) + `"}}`, 400, "account"},
			{`{"kind": "chat", "account": "yn-1", "messages": [{"at": "2026-05-01T09:00:00Z", "from": "a", "text": "` + strings.Repeat("字", 4001) + `"}]}`, 400, "messages[0].text"},
		} {
			wantProblem(t, api.do(t, request{method: "POST", target: "/v1/evidence", key: key, body: tc.body}), tc.status, tc.field)
		}
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/evidence", key: key, body: `{"kind": "chat", "account": "yn-1", "messages": [` +
			strings.Repeat(`{"at": "2026-05-01T09:00:00Z", "from": "a", "text": "`+strings.Repeat("x", 1000)+`"},`, 9000) + `{}]}`}), http.StatusRequestEntityTooLarge, "")
		api.wantRows(t, before)
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/evidence/nope", key: key}), http.StatusNotFound, "")
		wantProblem(t, api.do(t, request{method: "POST", target: "/v1/evidence/nope/compare", key: key, body: `{"messages": [{"from": "a", "text": "b"}]}`}), http.StatusNotFound, "")
		w := api.do(t, request{method: "POST", target: "/v1/evidence", key: key, body: chatBody})
		id := decode[leak.Evidence](t, w).ID
		for _, tc := range []struct{ body, field string }{
			{`{"messages": []}`, "messages"},
			{`{"messages": [{"at": "later", "from": "a", "text": "b"}]}`, "messages[0].at"},
			{`{"messages": [` + strings.Repeat(`{"from": "a", "text": "b"},`, 1000) + `{"from": "a", "text": "b"}]}`, "messages"},
		} {
			wantProblem(t, api.do(t, request{method: "POST", target: "/v1/evidence/" + id + "/compare", key: key, body: tc.body}), http.StatusBadRequest, tc.field)
		}
	})
}
