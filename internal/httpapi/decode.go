package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strings"

	"github.com/stewardhq/steward/internal/errs"
)

// Body size limits. Import bodies are NDJSON of up to accounts.MaxImport lines.
const (
	maxJSONBody   = 1 << 20
	maxImportBody = 256 << 20
)

// readBody reads the whole request body, up to limit bytes. Returns errs.TooLarge past it.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(&capped{r: r.Body, left: limit, limit: limit})
	if err != nil {
		return nil, bodyError(err)
	}
	return b, nil
}

// capped reads r up to limit bytes; past them it fails with errs.TooLarge.
type capped struct {
	r           io.Reader
	left, limit int64
}

func (c *capped) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if c.left -= int64(n); c.left < 0 {
		return n - 1, errs.E(errs.TooLarge, "the request body is over %d bytes", c.limit)
	}
	return n, err
}

// bodyError is the error of a failed read of the request body: the limits' own (too
// large, too slow, too many at once) as they are, any other an errs.Invalid.
func bodyError(err error) error {
	if code := errs.CodeOf(err); code != errs.Internal {
		return err
	}
	return errs.E(errs.Invalid, "cannot read the request body: %v", err)
}

// decodeJSON decodes exactly one JSON value from b into v, refusing unknown fields (names
// are case-sensitive) and keys given twice, and turns every failure into an errs.Invalid
// naming the field at fault.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errs.Field("body", "unexpected data after the JSON value")
	}
	return checkKeys(b, reflect.TypeOf(v))
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return errs.Field("body", "is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Field("body", "malformed JSON: unexpected end")
	case errors.As(err, &syntax):
		return errs.Field("body", "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		if msg := outOfRange(typ); msg != "" {
			return errs.Field(field, "%s", msg)
		}
		return errs.Field(field, "must be %s, not %s", jsonKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return errs.Field(name, "unknown field")
	}
	return errs.Field("body", "invalid JSON: %v", err)
}

// outOfRange describes a number that is too large for its field ("" for other errors):
// encoding/json calls 1e309 "number 1e309" that is not "a number".
func outOfRange(typ *json.UnmarshalTypeError) string {
	n, ok := strings.CutPrefix(typ.Value, "number ")
	if !ok {
		return ""
	}
	switch t := typ.Type; t.Kind() {
	case reflect.Float32, reflect.Float64:
		return fmt.Sprintf("%s is out of range: a number must be finite and at most %g in size", n, math.MaxFloat64)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !strings.ContainsAny(n, ".eE") {
			return fmt.Sprintf("%s is out of range for %s", n, jsonKind(t))
		}
	}
	return ""
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return fmt.Sprintf("a %s", t)
}
