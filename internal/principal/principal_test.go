package principal

import (
	"context"
	"encoding/json"
	"testing"
)

func TestPrincipals(t *testing.T) {
	rita := Key("rita", Reviewer, "k1")
	ritaAsCompliance := Key("rita", Compliance, "k2")
	user := EndUser("rita", "t1") // an account that happens to share her name
	tests := []struct {
		name           string
		p              Principal
		staff, usr, sy bool
		account        string
	}{
		{"staff", rita, true, false, false, ""},
		{"user", user, false, true, false, "rita"},
		{"steward", Steward, false, false, true, ""},
	}
	for _, tt := range tests {
		if tt.p.IsStaff() != tt.staff || tt.p.IsUser() != tt.usr || tt.p.IsSystem() != tt.sy || tt.p.Account() != tt.account {
			t.Errorf("%s: staff %v user %v system %v account %q", tt.name, tt.p.IsStaff(), tt.p.IsUser(), tt.p.IsSystem(), tt.p.Account())
		}
	}
	if !rita.Is(ritaAsCompliance) {
		t.Error("one person with two keys is one person to four eyes")
	}
	if rita.Is(user) || user.Is(rita) || rita.Is(Steward) || rita.Is(Key("carl", Reviewer, "k1")) {
		t.Error("different principals compare the same")
	}
	b, err := json.Marshal(rita)
	if err != nil || string(b) != `{"name":"rita","role":"reviewer"}` {
		t.Errorf("JSON %s, %v: the audit log's actor form must not change", b, err)
	}
	if got := FromContext(context.Background()); got != Steward {
		t.Errorf("no principal in the context: %+v, want Steward", got)
	}
	if got := FromContext(NewContext(context.Background(), user)); got != user {
		t.Errorf("FromContext: %+v", got)
	}
}
