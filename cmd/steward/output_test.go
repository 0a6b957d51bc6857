package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/errs"
)

// What the CLI prints shows <, > and & as themselves, also inside what the server sent
// as is and escaped; an escaped backslash followed by "u003e" stays as it was.
func TestWriteJSONUnescapesHTML(t *testing.T) {
	v := struct {
		Criteria string          `json:"criteria"`
		Screens  json.RawMessage `json:"screens"`
		Path     string          `json:"path"`
	}{`a >= 1 && b < 2`, json.RawMessage(`[{"expr":"x \u003e= 1 \u0026\u0026 y \u003C 2"}]`), `C:\u003e`}
	var b strings.Builder
	if err := writeJSON(&b, v, ""); err != nil {
		t.Fatal(err)
	}
	want := `{"criteria":"a >= 1 && b < 2","screens":[{"expr":"x >= 1 && y < 2"}],"path":"C:\\u003e"}` + "\n"
	if b.String() != want {
		t.Fatalf("writeJSON printed\n%s\nwant\n%s", b.String(), want)
	}
	var back struct{ Path string }
	if err := json.Unmarshal([]byte(b.String()), &back); err != nil || back.Path != `C:\u003e` {
		t.Fatalf("the output does not decode to the input: %q, %v", back.Path, err)
	}
}

// An error names each field at fault once.
func TestErrorsSayEachFieldOnce(t *testing.T) {
	one := errs.Field("role", "must be one of [admin]")
	var two errs.Fields
	two.Add("a", "is required")
	two.Add("b", "is too long")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"one field", one, "invalid role: must be one of [admin]"},
		{"wrapped", fmt.Errorf("keys create: %w", one), "keys create: invalid role: must be one of [admin]"},
		{"two fields", two.Err(), "invalid a: is required (and 1 more)\n  b: is too long"},
		{"no fields", errs.E(errs.NotFound, "no key"), "no key"},
		{"server, one field", &client.Error{Status: 400, Title: "Bad Request", Detail: "invalid id: must be a UUID",
			Errors: []client.FieldError{{Field: "id", Message: "must be a UUID"}}}, "400 Bad Request: invalid id: must be a UUID"},
		{"server, two fields", &client.Error{Status: 400, Title: "Bad Request", Detail: "invalid a: is required (and 1 more)",
			Errors: []client.FieldError{{Field: "a", Message: "is required"}, {Field: "b", Message: "is too long"}}},
			"400 Bad Request: invalid a: is required (and 1 more)\n  b: is too long"},
		{"server, another detail", &client.Error{Status: 400, Title: "Bad Request", Detail: "bad request",
			Errors: []client.FieldError{{Field: "a", Message: "is required"}}}, "400 Bad Request: bad request\n  a: is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readable(tc.err).Error(); got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if _, err := stewardErr(t, "keys", "create", "--role", "king", "--data-dir", t.TempDir()); err == nil || strings.Count(err.Error(), "must be one of") != 1 {
		t.Errorf("keys create --role king: %v; want the roles named once", err)
	}
}

// Progress shows a rate and the time left only once the server has them.
func TestRateAndETA(t *testing.T) {
	for _, tc := range []struct {
		rate, eta float64
		want      string
	}{
		{0, 0, ""},
		{0, 12, ""},
		{250, 0, ", 250/s"},
		{250, 12, ", 250/s, about 12 s left"},
	} {
		if got := rateAndETA(&client.BulkAction{Rate: tc.rate, ETASeconds: tc.eta}); got != tc.want {
			t.Errorf("rate %v, eta %v: %q, want %q", tc.rate, tc.eta, got, tc.want)
		}
	}
}
