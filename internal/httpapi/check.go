package httpapi

import (
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/problem"
)

// The check API sits in front of every request a platform serves, so it is written for
// speed: one decode, decisions from the in-memory index, and an answer encoded by hand.

// maxChecks is the most checks one batch holds.
const maxChecks = 10_000

// maxCheckBody fits maxChecks checks with the longest account IDs and capabilities.
const maxCheckBody = maxChecks * 256

// checkBody is the body of POST /v1/check: one check, or a batch of them.
type checkBody struct {
	Account    string      `json:"account,omitempty"`
	Capability string      `json:"capability,omitempty"`
	Checks     []checkItem `json:"checks,omitempty"` // up to 10,000; answered in order
}

type checkItem struct {
	Account    string `json:"account"`
	Capability string `json:"capability"`
}

// checkResult documents one answer of POST /v1/check.
type checkResult struct {
	Allowed      bool          `json:"allowed"`
	DeniedBy     []checkDenial `json:"denied_by"`
	StillAllowed []string      `json:"still_allowed"` // the protected capabilities: these always work
}

type checkDenial struct {
	Sanction   string     `json:"sanction"`
	Kind       string     `json:"kind"`
	Until      *time.Time `json:"until"` // null: no end
	ReasonCode string     `json:"reason_code"`
	Policy     string     `json:"policy"`
	AppealURL  string     `json:"appeal_url"`
}

// checkReply documents the answer to a batch.
type checkReply struct {
	Results []checkResult `json:"results"`
}

func (s *server) check(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) { problem.Write(w, problem.For(err, w.Header().Get("X-Request-Id"), s.Logger)) }
	body, err := readBody(r, maxCheckBody)
	if err != nil {
		fail(err)
		return
	}
	var b checkBody
	if acct, capability, ok := plainCheck(body); ok {
		b.Account, b.Capability = acct, capability
	} else if err := decodeJSON(body, &b); err != nil {
		fail(err)
		return
	}
	batch := b.Checks != nil
	switch {
	case batch && (b.Account != "" || b.Capability != ""):
		fail(errs.Field("checks", "send either one check (account, capability) or a batch (checks), not both"))
		return
	case batch && len(b.Checks) == 0:
		fail(errs.Field("checks", "is empty"))
		return
	case len(b.Checks) > maxChecks:
		fail(errs.E(errs.TooLarge, "at most %d checks per batch, got %d", maxChecks, len(b.Checks)))
		return
	case !batch:
		b.Checks = []checkItem{{b.Account, b.Capability}}
	}
	var fs errs.Fields
	for i, c := range b.Checks {
		prefix := ""
		if batch {
			prefix = "checks[" + strconv.Itoa(i) + "]."
		}
		if err := enforce.CheckRequest(prefix, c.Account, c.Capability); err != nil {
			fs = append(fs, fieldsOf(err)...)
			if len(fs) >= 100 {
				break
			}
		}
	}
	if err := fs.Err(); err != nil {
		fail(err)
		return
	}

	now := s.Enforce.Now()
	out := make([]byte, 0, 64+len(b.Checks)*len(allowedJSON))
	if batch {
		out = append(out, `{"results":[`...)
	}
	var denials []enforce.Denial
	for i, c := range b.Checks {
		if i > 0 {
			out = append(out, ',')
		}
		denials = s.Enforce.Decide(denials[:0], c.Account, c.Capability, now)
		out = s.appendResult(out, denials)
	}
	if batch {
		out = append(out, "]}"...)
	}
	writeBody(w, http.StatusOK, "application/json", append(out, '\n'))
}

const (
	stillAllowedJSON = `"still_allowed":["account.appeal","account.export","account.delete","wallet.withdraw"]}`
	allowedJSON      = `{"allowed":true,"denied_by":[],` + stillAllowedJSON
)

// appendResult appends the JSON of one decision, as checkResult describes it.
func (s *server) appendResult(out []byte, denials []enforce.Denial) []byte {
	if len(denials) == 0 {
		return append(out, allowedJSON...)
	}
	out = append(out, `{"allowed":false,"denied_by":[`...)
	for i, d := range denials {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"sanction":`...)
		out = appendString(out, d.Sanction)
		out = append(out, `,"kind":`...)
		out = appendString(out, string(d.Kind))
		out = append(out, `,"until":`...)
		if d.Until.IsZero() {
			out = append(out, "null"...)
		} else {
			out = append(out, '"')
			out = d.Until.AppendFormat(out, time.RFC3339Nano)
			out = append(out, '"')
		}
		out = append(out, `,"reason_code":`...)
		out = appendString(out, d.ReasonCode)
		out = append(out, `,"policy":`...)
		out = appendString(out, d.Policy)
		out = append(out, `,"appeal_url":`...)
		out = appendString(out, s.Enforce.AppealURL(d.Sanction))
		out = append(out, '}')
	}
	return append(append(out, "],"...), stillAllowedJSON...)
}

// appendString appends v as a JSON string.
func appendString(out []byte, v string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		case c < utf8.RuneSelf:
			out = append(out, c)
		default:
			r, n := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && n == 1 {
				out = append(out, `\ufffd`...)
			} else {
				out = append(out, v[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return append(out, '"')
}

// plainCheck reads the body of one check the way almost every caller sends it, an object
// of "account" and "capability", each once and in either order, with string values free
// of escapes and control characters and in valid UTF-8, and JSON whitespace anywhere.
// For any other body it returns ok false and decodeJSON reads it (and names what is
// wrong); what plainCheck accepts, decodeJSON decodes to the same two strings
// (TestPlainCheckAgreesWithDecodeJSON).
func plainCheck(b []byte) (account, capability string, ok bool) {
	i := 0
	space := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	str := func() (string, bool) {
		if i >= len(b) || b[i] != '"' {
			return "", false
		}
		start := i + 1
		for j := start; j < len(b); j++ {
			switch c := b[j]; {
			case c == '"':
				if !utf8.Valid(b[start:j]) {
					return "", false
				}
				i = j + 1
				return string(b[start:j]), true
			case c == '\\' || c < 0x20:
				return "", false
			}
		}
		return "", false
	}
	var seenAccount, seenCapability bool
	space()
	if i >= len(b) || b[i] != '{' {
		return "", "", false
	}
	i++
	for n := 0; n < 2; n++ {
		space()
		key, ok := str()
		if !ok {
			return "", "", false
		}
		space()
		if i >= len(b) || b[i] != ':' {
			return "", "", false
		}
		i++
		space()
		v, ok := str()
		if !ok {
			return "", "", false
		}
		switch {
		case key == "account" && !seenAccount:
			account, seenAccount = v, true
		case key == "capability" && !seenCapability:
			capability, seenCapability = v, true
		default:
			return "", "", false
		}
		space()
		if n == 0 {
			if i >= len(b) || b[i] != ',' {
				return "", "", false
			}
			i++
		}
	}
	if i >= len(b) || b[i] != '}' {
		return "", "", false
	}
	i++
	space()
	return account, capability, i == len(b)
}
