package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/stewardhq/steward/internal/errs"
)

// encoding/json matches an object's keys to a struct's fields case-insensitively and
// keeps the last of two equal keys, so {"REGION": "x"} sets region and {"region": "a",
// "region": "b"} sets it to "b" silently. checkKeys refuses both, walking the JSON text
// once more after encoding/json has accepted it: a key must be a field's exact name, and
// no object (a free-form map such as attributes included) may hold a key twice. Keys of
// maps and of values decoded by their own UnmarshalJSON are data, matched by nothing.

// checkKeys checks the keys of b, one JSON value that encoding/json decoded into a value
// of type t without error (so b is valid JSON).
func checkKeys(b []byte, t reflect.Type) error {
	s := keyScan{b: b}
	return s.value(planFor(t))
}

type keyScan struct {
	b    []byte
	i    int
	path []pathPart // where the scan is, to name a field at fault
}

// pathPart is one step into a value: an object's key, or else an array's index.
type pathPart struct {
	key   []byte
	index int
}

// field names the value at the path, as "linked[0].service".
func (s *keyScan) field() string {
	var b strings.Builder
	for _, p := range s.path {
		switch {
		case p.key == nil:
			b.WriteString("[" + strconv.Itoa(p.index) + "]")
		case b.Len() > 0:
			b.WriteByte('.')
			fallthrough
		default:
			b.Write(p.key)
		}
	}
	return b.String()
}

func (s *keyScan) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// value scans one value decoded as p says (nil: free-form).
func (s *keyScan) value(p *keyPlan) error {
	s.space()
	switch s.b[s.i] {
	case '{':
		return s.object(p)
	case '[':
		return s.array(p)
	case '"':
		s.str()
		return nil
	}
	for ; s.i < len(s.b); s.i++ { // a number, true, false or null
		switch s.b[s.i] {
		case ',', ']', '}', ' ', '\t', '\r', '\n':
			return nil
		}
	}
	return nil
}

// str scans a string and returns its contents as written, escapes and all.
func (s *keyScan) str() []byte {
	start := s.i + 1
	for s.i = start; s.b[s.i] != '"'; s.i++ {
		if s.b[s.i] == '\\' {
			s.i++
		}
	}
	s.i++
	return s.b[start : s.i-1]
}

func (s *keyScan) array(p *keyPlan) error {
	var elem *keyPlan
	if p != nil {
		elem = p.elem
	}
	s.i++
	for n := 0; ; n++ {
		if s.space(); s.b[s.i] == ']' {
			s.i++
			return nil
		}
		s.path = append(s.path, pathPart{index: n})
		if err := s.value(elem); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		if s.space(); s.b[s.i] == ',' {
			s.i++
		}
	}
}

func (s *keyScan) object(p *keyPlan) error {
	var fields map[string]*keyPlan
	var elem *keyPlan // of a map's values
	if p != nil {
		fields, elem = p.fields, p.elem
	}
	var seen keySet
	s.i++
	for {
		if s.space(); s.b[s.i] == '}' {
			s.i++
			return nil
		}
		key := s.str()
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			json.Unmarshal(s.b[s.i-len(key)-2:s.i], &k) // valid: encoding/json read it
			key = []byte(k)
		}
		child := elem
		if fields != nil {
			var ok bool
			if child, ok = fields[string(key)]; !ok { // encoding/json matched it case-insensitively
				return errs.Field(string(key), "unknown field (names are case-sensitive: %s)", p.suggest(string(key)))
			}
		}
		s.path = append(s.path, pathPart{key: key})
		if !seen.add(key) {
			return errs.Field(s.field(), "appears twice in one object; send each key once")
		}
		s.space()
		s.i++ // the colon
		if err := s.value(child); err != nil {
			return err
		}
		s.path = s.path[:len(s.path)-1]
		if s.space(); s.b[s.i] == ',' {
			s.i++
		}
	}
}

// keySet holds the keys of one object, in an array while there are few.
type keySet struct {
	few  [8][]byte
	n    int
	many map[string]struct{}
}

// add adds k and reports whether it was new.
func (ks *keySet) add(k []byte) bool {
	if ks.many != nil {
		if _, dup := ks.many[string(k)]; dup {
			return false
		}
		ks.many[string(k)] = struct{}{}
		return true
	}
	for _, f := range ks.few[:ks.n] {
		if bytes.Equal(f, k) {
			return false
		}
	}
	if ks.n < len(ks.few) {
		ks.few[ks.n] = k
		ks.n++
		return true
	}
	ks.many = make(map[string]struct{}, 2*len(ks.few))
	for _, f := range ks.few {
		ks.many[string(f)] = struct{}{}
	}
	ks.many[string(k)] = struct{}{}
	return true
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// keyPlan says what the keys of a value of one Go type must be, worked out once per type.
type keyPlan struct {
	fields map[string]*keyPlan // a struct's fields by JSON name; nil for other types
	elem   *keyPlan            // of a map's values or a slice's elements; nil: free-form
}

var (
	plans     sync.Map // reflect.Type → *keyPlan, of types decoded whole
	plansMu   sync.Mutex
	planParts = map[reflect.Type]*keyPlan{} // every plan made, under plansMu
)

// planFor returns the plan of t, making it the first time.
func planFor(t reflect.Type) *keyPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*keyPlan)
	}
	plansMu.Lock()
	defer plansMu.Unlock()
	p := planOf(t)
	plans.Store(t, p)
	return p
}

// planOf returns the plan of t, nil when any key is data (an interface, or a type that
// decodes itself). Call it with plansMu held.
func planOf(t reflect.Type) *keyPlan {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if p, ok := planParts[t]; ok {
		return p
	}
	if t.Kind() == reflect.Interface ||
		reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		planParts[t] = nil
		return nil
	}
	p := &keyPlan{}
	planParts[t] = p // before it is filled in, so that a type that contains itself ends
	switch t.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array:
		p.elem = planOf(t.Elem())
	case reflect.Struct:
		p.fields = map[string]*keyPlan{}
		for _, sf := range reflect.VisibleFields(t) {
			tag := sf.Tag.Get("json")
			if tag == "-" || (!sf.IsExported() && !sf.Anonymous) {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if ft := sf.Type; sf.Anonymous && name == "" && (ft.Kind() == reflect.Struct || ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct) {
				continue // its fields are promoted: VisibleFields lists them
			}
			if name == "" {
				name = sf.Name
			}
			p.fields[name] = planOf(sf.Type)
		}
	}
	return p
}

// suggest names the field a case variant of it meant.
func (p *keyPlan) suggest(key string) string {
	for name := range p.fields {
		if strings.EqualFold(name, key) {
			return "did you mean " + strconv.Quote(name) + "?"
		}
	}
	return "no field has this name"
}
