package sqlstore

import (
	"fmt"

	"github.com/stewardhq/steward/internal/errs"
)

// subject is what a store operation acts on, as wrapErr names it: an ID, a name, a
// sequence number.
type subject interface{ ~string | ~int | ~int64 }

// wrapErr prefixes an internal error in *err with the store operation op and its
// subject, as in "sqlstore.Sanctions.Get 0193…: <driver error>", so a logged error says
// where it came from; "" leaves the subject out. Every exported store method defers it:
//
//	defer wrapErr(&err, "sqlstore.Sanctions.Get", id)
//
// An error with a code (NotFound, Conflict, …) is left as it is: its message is what a
// client sees. On success it does nothing, and allocates nothing.
func wrapErr[S subject](err *error, op string, subj S) {
	if *err == nil || errs.CodeOf(*err) != errs.Internal {
		return
	}
	if s := fmt.Sprint(subj); s != "" {
		op += " " + s
	}
	*err = fmt.Errorf("%s: %w", op, *err)
}

// clash is a unique-constraint violation as the exec path returns it (see DB.clash): an
// errs.Conflict for the caller, over the driver's error for dialect.unique.
type clash struct {
	coded *errs.Error
	cause error
}

func (c *clash) Error() string   { return c.coded.Error() }
func (c *clash) Unwrap() []error { return []error{c.coded, c.cause} }

// clash turns err, a unique-constraint violation, into an errs.Conflict naming the table
// and key that clashed. A store with its own words for the clash ("sanction … exists
// already") returns those instead on errs.Conflict.
func (db *DB) clash(err error) error {
	msg := "a row with the same key exists already"
	if table, key := db.d.clashed(err); table != "" && key != "" {
		msg = fmt.Sprintf("a row of %s with the same (%s) exists already", table, key)
	}
	return &clash{errs.E(errs.Conflict, "%s", msg), err}
}

// errStorageFull is a write refused for lack of storage: errs.StorageFull for the
// caller, over the driver's error for the log (a clash with the disk's size).
func errStorageFull(cause error) error {
	return &clash{errs.E(errs.StorageFull, "the database's storage is full: nothing was written; free space and retry"), cause}
}
