package bearer

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// keyring knows one secret.
type keyring string

func (k keyring) Authenticate(_ context.Context, secret string) (principal.Principal, error) {
	if secret != string(k) {
		return principal.Principal{}, errs.E(errs.Unauthorized, "unknown key")
	}
	return principal.Principal{Name: "k", Role: principal.Service}, nil
}

// The scheme's name is case-insensitive (RFC 9110, section 11.1); the secret is not.
func TestAuthenticate(t *testing.T) {
	for _, tt := range []struct {
		header string
		ok     bool
	}{
		{"Bearer sk_1", true},
		{"bearer sk_1", true},
		{"BEARER sk_1", true},
		{"  Bearer   sk_1  ", true},
		{"Bearer SK_1", false},
		{"Bearer", false},
		{"Bearer ", false},
		{"Bearersk_1", false},
		{"Basic sk_1", false},
		{"sk_1", false},
		{"", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", tt.header)
		p, err := Authenticate(r, keyring("sk_1"))
		switch {
		case tt.ok && (err != nil || p.Name != "k"):
			t.Errorf("%q: %v, %v; want the key's principal", tt.header, p, err)
		case !tt.ok && errs.CodeOf(err) != errs.Unauthorized:
			t.Errorf("%q: %v, %v; want unauthorized", tt.header, p, err)
		}
	}
}
