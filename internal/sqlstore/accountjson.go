package sqlstore

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/internal/accounts"
)

// Every scan of accounts (a bulk dry run reads them all) decodes their attributes and
// linked columns, and encoding/json took most of that time. Steward writes both columns
// itself with encoding/json, from validated values, so they have one compact shape. The
// decoders below read that shape directly and hand anything else, such as a string with
// an escape, to encoding/json.

// decodeAttributes decodes an attributes column: a flat object of strings, numbers and
// booleans.
func decodeAttributes(s string) (map[string]any, error) { return decodeAttributesInto(s, nil) }

// decodeAttributesInto is decodeAttributes reusing the map m, when not nil.
func decodeAttributesInto(s string, m map[string]any) (map[string]any, error) {
	if m != nil {
		clear(m)
	} else {
		m = map[string]any{}
	}
	if fastAttributes(s, m) {
		return m, nil
	}
	clear(m)
	err := json.Unmarshal([]byte(s), &m)
	return m, err
}

// decodeLinked decodes a linked column: an array of {"service", "account"} objects.
func decodeLinked(s string) ([]accounts.Link, error) {
	if l, ok := fastLinked(s); ok {
		return l, nil
	}
	var l []accounts.Link
	err := json.Unmarshal([]byte(s), &l)
	return l, err
}

// cutByte returns the prefix of s up to the next occurrence of c, and what follows c.
func cutByte(s string, c byte) (before, after string, ok bool) {
	i := strings.IndexByte(s, c)
	if i < 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// plainString reads a JSON string without escapes at the start of s ("...") and returns
// it and the rest of s.
func plainString(s string) (str, rest string, ok bool) {
	if len(s) == 0 || s[0] != '"' {
		return "", "", false
	}
	str, rest, ok = cutByte(s[1:], '"')
	if !ok || strings.IndexByte(str, '\\') >= 0 {
		return "", "", false
	}
	return str, rest, true
}

// nextElem steps past the comma between two elements; rest is what follows an element,
// and "" after the last one.
func nextElem(rest string) (string, bool) {
	switch {
	case rest == "":
		return "", true
	case rest[0] == ',' && len(rest) > 1:
		return rest[1:], true
	}
	return "", false
}

// fastAttributes decodes s into m, and reports whether it could.
func fastAttributes(s string, m map[string]any) bool {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return false
	}
	body := s[1 : len(s)-1]
	for body != "" {
		key, rest, ok := plainString(body)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return false
		}
		rest = rest[1:]
		var v any
		switch {
		case strings.HasPrefix(rest, `"`):
			var str string
			if str, rest, ok = plainString(rest); !ok {
				return false
			}
			v = str
		case strings.HasPrefix(rest, "true"):
			v, rest = true, rest[4:]
		case strings.HasPrefix(rest, "false"):
			v, rest = false, rest[5:]
		default:
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			num := rest[:end]
			if !jsonNumberChars(num) { // ParseFloat also takes "Inf", "0x1p3"
				return false
			}
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return false
			}
			v, rest = boxFloat(f), rest[end:]
		}
		m[key] = v
		if body, ok = nextElem(rest); !ok {
			return false
		}
	}
	return true
}

// jsonNumberChars reports whether s holds only characters of JSON numbers.
func jsonNumberChars(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}

// smallFloats are the whole numbers 0 to 255 as interface values: counts are common
// attributes, and boxing each would allocate.
var smallFloats = func() (out [256]any) {
	for i := range out {
		out[i] = float64(i)
	}
	return out
}()

func boxFloat(f float64) any {
	if f >= 0 && f < 256 && f == float64(int(f)) && !(f == 0 && math.Signbit(f)) {
		return smallFloats[int(f)]
	}
	return f
}

func fastLinked(s string) ([]accounts.Link, bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	body := s[1 : len(s)-1]
	out := make([]accounts.Link, 0, strings.Count(body, "{"))
	for body != "" {
		rest, ok := strings.CutPrefix(body, `{"service":`)
		if !ok {
			return nil, false
		}
		var l accounts.Link
		if l.Service, rest, ok = plainString(rest); !ok {
			return nil, false
		}
		if rest, ok = strings.CutPrefix(rest, `,"account":`); !ok {
			return nil, false
		}
		if l.Account, rest, ok = plainString(rest); !ok {
			return nil, false
		}
		if rest, ok = strings.CutPrefix(rest, "}"); !ok {
			return nil, false
		}
		out = append(out, l)
		if body, ok = nextElem(rest); !ok {
			return nil, false
		}
	}
	return out, true
}
