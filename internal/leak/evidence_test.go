package leak_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

var (
	agentLi  = principal.NewContext(context.Background(), principal.Key("li", principal.Agent, "k-li"))
	agentWu  = principal.NewContext(context.Background(), principal.Key("wu", principal.Agent, "k-wu"))
	auditing = principal.NewContext(context.Background(), principal.Key("cai", principal.Compliance, "k-cai"))
)

func transcript() leak.EvidenceRequest {
	t := time.Date(2026, 5, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	return leak.EvidenceRequest{Kind: leak.EvidenceChat, Account: "u-1", Reference: "complaint-88", EvidenceContent: leak.EvidenceContent{
		Messages: []leak.EvidenceMessage{{At: t, From: "user:u-1", Text: "my order is late"}, {At: t.Add(time.Minute), From: "agent:li", Text: "sorry, checking"}}}}
}

// tamperedEvidence hands out another content, sealed for the same record.
type tamperedEvidence struct {
	leak.EvidenceStore
	seal func(id string) string
}

func (s tamperedEvidence) Evidence(ctx context.Context, id string) (*leak.Evidence, string, error) {
	e, _, err := s.EvidenceStore.Evidence(ctx, id)
	return e, s.seal(id), err
}

func TestEvidenceKeptSealedAndAnchored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := incidentApp(t, db, &clock{t: t0}, nil, 2)
		e, err := a.Evidence.Store(agentLi, transcript())
		if err != nil {
			t.Fatal(err)
		}
		// The hash is of the content's canonical JSON, times in UTC.
		want := transcript()
		for i := range want.Messages {
			want.Messages[i].At = want.Messages[i].At.UTC()
		}
		canon, _ := json.Marshal(want.EvidenceContent)
		if sum := sha256.Sum256(canon); e.SHA256 != hex.EncodeToString(sum[:]) || e.Messages != 2 || e.CreatedBy.Name != "li" {
			t.Fatalf("%+v", e)
		}
		// The audit entry carries the hash; the stored row holds no message in clear.
		if _, _, err := a.Sequencer.Integrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		page, err := a.Audit.Entries(context.Background(), auditFilter(leak.EvidenceSubject(e.ID)))
		if err != nil || len(page.Items) != 1 || page.Items[0].Context["sha256"] != e.SHA256 || page.Items[0].Action != "evidence.store" {
			t.Fatalf("audit %+v %v", page, err)
		}
		_, sealed, err := db.Evidence().Evidence(context.Background(), e.ID)
		if err != nil || strings.Contains(sealed, "order") || !strings.HasPrefix(sealed, "vault:v1:") {
			t.Fatalf("stored %q, %v", sealed, err)
		}
		for _, ctx := range []context.Context{agentLi, auditing} {
			got, c, err := a.Evidence.Get(ctx, e.ID)
			if err != nil || got.SHA256 != e.SHA256 || len(c.Messages) != 2 || c.Messages[1].Text != "sorry, checking" {
				t.Fatalf("get: %+v %+v %v", got, c, err)
			}
		}
		// Another agent reaches nobody else's record.
		if _, _, err := a.Evidence.Get(agentWu, e.ID); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("another agent: %v", err)
		}
		if _, err := a.Evidence.Compare(agentWu, e.ID, transcript().Messages); errs.CodeOf(err) != errs.Forbidden {
			t.Fatalf("another agent compares: %v", err)
		}
		// Content swapped in the database no longer matches its hash.
		other := transcript()
		other.Messages[1].Text = "go away"
		forged, _ := json.Marshal(other.EvidenceContent)
		st := db.Stores()
		st.Evidence = tamperedEvidence{st.Evidence, func(id string) string {
			s, err := a.Vault.SealSecret(context.Background(), "evidence:"+id, string(forged))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}}
		b := storetest.NewAppOver(t, st, app.Config{})
		if _, _, err := b.Evidence.Get(auditing, e.ID); errs.CodeOf(err) != errs.Conflict {
			t.Fatalf("tampered: %v", err)
		}
		// A call is kept by its recording's hash.
		call := leak.EvidenceRequest{Kind: leak.EvidenceCall, Account: "u-1", EvidenceContent: leak.EvidenceContent{
			Recording: &leak.EvidenceRecording{SHA256: strings.Repeat("ab", 32), Duration: "3m"}}}
		ce, err := a.Evidence.Store(auditing, call)
		if err != nil || ce.Kind != leak.EvidenceCall {
			t.Fatalf("call: %+v %v", ce, err)
		}
		if _, err := a.Evidence.Compare(auditing, ce.ID, transcript().Messages); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("compare a call: %v", err)
		}
	})
}

func TestEvidenceRefusesBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		a := incidentApp(t, db, &clock{t: t0}, nil, 1)
		before, _ := db.Count(context.Background(), "audit_entries")
		for _, tc := range []struct {
			name   string
			r      leak.EvidenceRequest
			fields []string
		}{
			{"nothing", leak.EvidenceRequest{}, []string{"account", "kind"}},
			{"chat without messages", leak.EvidenceRequest{Kind: leak.EvidenceChat, Account: "u-0"}, []string{"messages"}},
			{"bad messages", leak.EvidenceRequest{Kind: leak.EvidenceChat, Account: "u-0", EvidenceContent: leak.EvidenceContent{
				Messages: []leak.EvidenceMessage{{Text: strings.Repeat("x", 4001)}}, Recording: &leak.EvidenceRecording{}}},
				[]string{"recording", "messages[0].at", "messages[0].from", "messages[0].text"}},
			{"call", leak.EvidenceRequest{Kind: leak.EvidenceCall, Account: "u-0", EvidenceContent: leak.EvidenceContent{
				Recording: &leak.EvidenceRecording{SHA256: "ABC", Duration: "-1s"}}}, []string{"recording.sha256", "recording.duration"}},
			{"unknown account", leak.EvidenceRequest{Kind: leak.EvidenceCall, Account: "nobody", EvidenceContent: leak.EvidenceContent{
				Recording: &leak.EvidenceRecording{SHA256: strings.Repeat("0", 64)}}}, []string{"account"}},
		} {
			_, err := a.Evidence.Store(auditing, tc.r)
			var got []string
			for _, f := range errs.FieldsOf(err) {
				got = append(got, f.Field)
			}
			if strings.Join(got, " ") != strings.Join(tc.fields, " ") {
				t.Errorf("%s: fields %v, want %v (%v)", tc.name, got, tc.fields, err)
			}
		}
		if after, _ := db.Count(context.Background(), "audit_entries"); after != before {
			t.Fatalf("a refused record wrote %d audit entries", after-before)
		}
		if _, _, err := a.Evidence.Get(auditing, "nope"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("get: %v", err)
		}
	})
}
