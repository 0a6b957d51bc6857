package sqlstore

import (
	"errors"
	"testing"

	"github.com/stewardhq/steward/internal/errs"
)

func TestWrapErr(t *testing.T) {
	op := func(fail error) (err error) {
		defer wrapErr(&err, "sqlstore.Test.Op", "s-1")
		return fail
	}
	if n := testing.AllocsPerRun(100, func() { op(nil) }); n != 0 {
		t.Errorf("success allocates %v times, want none: stores defer wrapErr on hot paths", n)
	}
	boom := errors.New("boom")
	if err := op(boom); err.Error() != "sqlstore.Test.Op s-1: boom" || !errors.Is(err, boom) {
		t.Errorf("internal error: %q, want it named and wrapped", err)
	}
	gone := errs.E(errs.NotFound, "s-1 not found")
	if err := op(gone); err != gone {
		t.Errorf("coded error: %q, want it unchanged", err)
	}
}
