// Package errs defines Steward's one error type: a stable code, a message that is safe
// to show to the caller, and for validation the fields at fault. Adapters map codes to
// their own vocabulary (HTTP statuses, exit codes) in one table each.
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a stable, machine-readable error class. Clients may switch on it.
type Code string

const (
	Invalid      Code = "invalid"            // the input is malformed or breaks a rule
	NotFound     Code = "not_found"          // the thing asked for does not exist
	Conflict     Code = "conflict"           // the request clashes with the current state
	Unauthorized Code = "unauthorized"       // no credentials, or unknown ones
	Forbidden    Code = "forbidden"          // known caller, not allowed to do this
	Mismatch     Code = "mismatch"           // an idempotency key reused with another request
	TooLarge     Code = "too_large"          // the request body or a list is over its limit
	TooMany      Code = "too_many_requests"  // the server takes no more of these at once: retry later
	Timeout      Code = "timeout"            // the request did not arrive in the time allowed
	Unavailable  Code = "unavailable"        // a dependency (the database) does not answer
	StorageFull  Code = "storage_full"       // the database has no room left: nothing is written until there is
	FundsHeld    Code = "funds_held"         // the money asked for is held (a legal order, a risk hold); Extensions name each hold
	NoFunds      Code = "insufficient_funds" // the wallet has not that much available
	Gone         Code = "gone"               // it existed and was deleted for good (an expired export's archive)
	NotOffered   Code = "not_offered"        // a feature this deployment does not have wired (e.g. leak investigations)
	Internal     Code = "internal"           // a bug or an unexpected failure; details are logged, not shown
)

// FieldError names one offending field of a request and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the error type every Steward package returns for conditions a caller can act on.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	// Extensions are further members of the problem the error becomes, by name (RFC
	// 9457 §3.2), e.g. the holds that refuse a withdrawal. Values must marshal to JSON.
	Extensions map[string]any
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return e.Message + " (" + strings.Join(parts, "; ") + ")"
}

// E returns an *Error with a formatted message.
func E(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid error for one field.
func Field(field, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: Invalid, Message: "invalid " + field + ": " + msg, Fields: []FieldError{{Field: field, Message: msg}}}
}

// CodeOf returns the code of the first *Error in err's chain, Internal for any other
// non-nil error, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// FieldsOf returns the fields of the first *Error in err's chain, nil when there is
// none or it names no field.
func FieldsOf(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Fields collects validation failures so a request can report all of them at once.
type Fields []FieldError

// Add records that field is wrong.
func (fs *Fields) Add(field, format string, args ...any) {
	*fs = append(*fs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Prefix returns the failures with each field prefixed, as in "linked[2]." + "service".
func (fs Fields) Prefix(prefix string) Fields {
	out := make(Fields, len(fs))
	for i, f := range fs {
		out[i] = FieldError{Field: prefix + f.Field, Message: f.Message}
	}
	return out
}

// Err returns nil when no failure was recorded, else an Invalid *Error listing them.
func (fs Fields) Err() error {
	if len(fs) == 0 {
		return nil
	}
	msg := "invalid " + fs[0].Field + ": " + fs[0].Message
	if len(fs) > 1 {
		msg = fmt.Sprintf("%s (and %d more)", msg, len(fs)-1)
	}
	return &Error{Code: Invalid, Message: msg, Fields: fs}
}
