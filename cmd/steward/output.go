package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/stewardhq/steward/internal/errs"
)

// printJSON writes v to stdout as indented JSON.
func (e *env) printJSON(v any) error { return writeJSON(e.stdout, v, "  ") }

// writeJSON writes v and a newline as JSON indented by indent ("" for one line), with <,
// > and & as themselves rather than \u003c, \u003e and \u0026: also in the parts of
// an answer kept as the server sent them (json.RawMessage), which its encoder escaped.
func writeJSON(w io.Writer, v any, indent string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(unescapeHTML(buf.Bytes()))
	return err
}

// unescapeHTML replaces the escapes \u003c, \u003e and \u0026 in the JSON b with the
// characters they stand for. Backslashes occur only in strings' escapes, so reading b
// one escape at a time is enough to tell \u003e from an escaped backslash and "u003e".
func unescapeHTML(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u00`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) {
			switch strings.ToLower(string(b[i+2 : i+6])) {
			case "003c":
				out, i = append(out, '<'), i+5
				continue
			case "003e":
				out, i = append(out, '>'), i+5
				continue
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			}
		}
		out, i = append(out, b[i], b[i+1]), i+1
	}
	return out
}

// readable returns err with a message that says each thing once: an *errs.Error's
// message already states its first field, so only the others follow, one a line, as
// client.Error lists a server's.
func readable(err error) error {
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	prefix, ok := strings.CutSuffix(err.Error(), e.Error())
	if !ok {
		return err
	}
	msg := prefix + e.Message
	for i, f := range e.Fields {
		if i == 0 && strings.HasPrefix(e.Message, "invalid "+f.Field+": "+f.Message) {
			continue
		}
		msg += "\n  " + f.Field + ": " + f.Message
	}
	return &readableError{msg: msg, err: err}
}

type readableError struct {
	msg string
	err error
}

func (e *readableError) Error() string { return e.msg }
func (e *readableError) Unwrap() error { return e.err }
