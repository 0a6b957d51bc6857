package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/stewardhq/steward/internal/errs"
)

// statuses maps each error code to its HTTP status: the one table of it.
var statuses = map[errs.Code]int{
	errs.Invalid:      http.StatusBadRequest,
	errs.NotFound:     http.StatusNotFound,
	errs.Conflict:     http.StatusConflict,
	errs.Unauthorized: http.StatusUnauthorized,
	errs.Forbidden:    http.StatusForbidden,
	errs.Mismatch:     http.StatusUnprocessableEntity,
	errs.TooLarge:     http.StatusRequestEntityTooLarge,
	errs.Unavailable:  http.StatusServiceUnavailable,
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
}

// ProblemType returns the stable type URI of an error code.
func ProblemType(c errs.Code) string { return "urn:steward:problem:" + string(c) }

// problemFor turns err into a problem. Internal errors are logged in full and shown only
// as a request ID to quote.
func problemFor(err error, requestID string, log *slog.Logger) Problem {
	code := errs.CodeOf(err)
	status := statuses[code]
	p := Problem{Type: ProblemType(code), Title: http.StatusText(status), Status: status, RequestID: requestID}
	var e *errs.Error
	if code != errs.Internal && errors.As(err, &e) {
		p.Detail, p.Errors = e.Message, e.Fields
	} else {
		p.Detail = "internal error; quote request " + requestID + " when reporting it"
		log.Error("internal error", "request_id", requestID, "err", err)
	}
	return p
}

func writeProblem(w http.ResponseWriter, p Problem) {
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="steward"`)
	}
	writeJSONType(w, p.Status, "application/problem+json", p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONType(w, status, "application/json", v)
}

func writeJSONType(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, contentType = http.StatusInternalServerError, "application/problem+json"
		b = []byte(`{"type":"urn:steward:problem:internal","title":"Internal Server Error","status":500,"detail":"cannot encode response"}`)
	}
	writeBody(w, status, contentType, append(b, '\n'))
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(body)
}
