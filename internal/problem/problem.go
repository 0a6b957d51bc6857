// Package problem answers errors over HTTP as RFC 9457 problem details, for every HTTP
// adapter of Steward (the API, the console and the portal): the one table from error
// codes to statuses, and the one way to write a problem.
package problem

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/stewardhq/steward/internal/errs"
)

// Statuses maps each error code to its HTTP status: the one table of it.
var Statuses = map[errs.Code]int{
	errs.Invalid:      http.StatusBadRequest,
	errs.NotFound:     http.StatusNotFound,
	errs.Conflict:     http.StatusConflict,
	errs.Unauthorized: http.StatusUnauthorized,
	errs.Forbidden:    http.StatusForbidden,
	errs.Mismatch:     http.StatusUnprocessableEntity,
	errs.TooLarge:     http.StatusRequestEntityTooLarge,
	errs.TooMany:      http.StatusTooManyRequests,
	errs.Timeout:      http.StatusRequestTimeout,
	errs.Unavailable:  http.StatusServiceUnavailable,
	errs.StorageFull:  http.StatusServiceUnavailable,
	errs.FundsHeld:    http.StatusConflict,
	errs.NoFunds:      http.StatusConflict,
	errs.Gone:         http.StatusGone,
	errs.NotOffered:   http.StatusUnprocessableEntity,
	errs.Internal:     http.StatusInternalServerError,
}

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail"`
	Errors    []errs.FieldError `json:"errors,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	// Extensions are further members, from the error's (see errs.Error.Extensions).
	Extensions map[string]any `json:"-"`
}

// MarshalJSON writes p's members and then its extensions; an extension never replaces
// a member.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extensions) == 0 {
		return b, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil {
		return nil, err
	}
	for k, v := range p.Extensions {
		if _, ok := members[k]; ok {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		members[k] = raw
	}
	return json.Marshal(members)
}

// Type returns the stable type URI of an error code.
func Type(c errs.Code) string { return "urn:steward:problem:" + string(c) }

// For turns err into a problem. Internal errors are logged in full and shown only as a
// request ID to quote.
func For(err error, requestID string, log *slog.Logger) Problem {
	code := errs.CodeOf(err)
	status := Statuses[code]
	p := Problem{Type: Type(code), Title: http.StatusText(status), Status: status, RequestID: requestID}
	var e *errs.Error
	if code != errs.Internal && errors.As(err, &e) {
		p.Detail, p.Errors, p.Extensions = e.Message, e.Fields, e.Extensions
	} else {
		p.Detail = "internal error; quote request " + requestID + " when reporting it"
		log.Error("internal error", "request_id", requestID, "err", err)
	}
	return p
}

// Write answers p as application/problem+json. A 401 says how to authenticate.
func Write(w http.ResponseWriter, p Problem) {
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="steward"`)
	}
	b, _ := json.Marshal(p) // strings, ints and the extensions a domain made to marshal
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}

// WriteError answers err as a problem, with the request ID the response's X-Request-Id
// header carries.
func WriteError(w http.ResponseWriter, err error, log *slog.Logger) {
	Write(w, For(err, w.Header().Get("X-Request-Id"), log))
}
