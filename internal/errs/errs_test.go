package errs_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/stewardhq/steward/internal/errs"
)

func TestFieldsOf(t *testing.T) {
	one := errs.Field("name", "is required")
	var two errs.Fields
	two.Add("a", "bad")
	two.Add("b", "worse")
	for _, tc := range []struct {
		name string
		err  error
		want []errs.FieldError
	}{
		{"nil", nil, nil},
		{"plain error", errors.New("boom"), nil},
		{"no fields", errs.E(errs.NotFound, "no account"), nil},
		{"one field", one, []errs.FieldError{{Field: "name", Message: "is required"}}},
		{"collected", two.Err(), []errs.FieldError{{Field: "a", Message: "bad"}, {Field: "b", Message: "worse"}}},
		{"wrapped", fmt.Errorf("put account a1: %w", one), []errs.FieldError{{Field: "name", Message: "is required"}}},
		{"first in chain", errors.Join(errors.New("boom"), errs.E(errs.Conflict, "taken"), one), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errs.FieldsOf(tc.err); !slices.Equal(got, tc.want) {
				t.Errorf("FieldsOf(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
