package authority_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/errs"
)

// Stored sanctions and bulk actions hold this encoding: it must not change.
func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		a    authority.Authority
		want string
	}{
		{authority.Authority{Kind: authority.Policy}, `{"kind":"policy"}`},
		{authority.Authority{Kind: authority.LegalOrder, Issuer: "court", Reference: "(2026) 1"}, `{"kind":"legal_order","issuer":"court","reference":"(2026) 1"}`},
		{authority.Authority{Kind: authority.Automated, Rule: "r-17"}, `{"kind":"automated","rule":"r-17"}`},
	} {
		b, err := json.Marshal(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%+v encodes as %s, want %s", tc.a, b, tc.want)
		}
		var back authority.Authority
		if err := json.Unmarshal(b, &back); err != nil || back != tc.a {
			t.Errorf("%s decodes as %+v (%v), want %+v", b, back, err, tc.a)
		}
	}
}

func TestValidate(t *testing.T) {
	long := strings.Repeat("x", authority.MaxRef+1)
	for _, tc := range []struct {
		name string
		a    authority.Authority
		want []string // fields at fault
	}{
		{"policy", authority.Authority{Kind: authority.Policy}, nil},
		{"legal order", authority.Authority{Kind: authority.LegalOrder, Issuer: "court", Reference: "1"}, nil},
		{"automated", authority.Authority{Kind: authority.Automated, Rule: "r"}, nil},
		{"no kind", authority.Authority{}, []string{"a.kind"}},
		{"unknown kind", authority.Authority{Kind: "whim"}, []string{"a.kind"}},
		{"legal order bare", authority.Authority{Kind: authority.LegalOrder}, []string{"a.issuer", "a.reference"}},
		{"automated without rule", authority.Authority{Kind: authority.Automated}, []string{"a.rule"}},
		{"too long", authority.Authority{Kind: authority.LegalOrder, Issuer: long, Reference: long}, []string{"a.issuer", "a.reference"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fs errs.Fields
			tc.a.Validate(&fs, "a.")
			var got []string
			for _, f := range fs {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("fields %v, want %v", got, tc.want)
			}
		})
	}
}
