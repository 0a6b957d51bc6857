package sqlstore

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

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

// Each database's way of saying its storage is full is recognised (PostgreSQL's cannot be
// provoked in a test without a tiny file system: its error is made here).
func TestStorageFullIsRecognised(t *testing.T) {
	pgFull := &pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"}
	if !postgresDialect.full(fmt.Errorf("sqlstore.Accounts.Put a-1: %w", pgFull)) || postgresDialect.full(&pgconn.PgError{Code: "23505"}) {
		t.Error("PostgreSQL: disk_full (53100) is not told from other errors")
	}
	err := errStorageFull(pgFull)
	if errs.CodeOf(err) != errs.StorageFull || !errors.Is(err, pgFull) {
		t.Errorf("errStorageFull: %v (code %s), want storage_full over the driver's error", err, errs.CodeOf(err))
	}
}
