package httpapi

import "testing"

// plainCheckBodies are check bodies plainCheck reads itself (plain) or leaves to
// decodeJSON.
var plainCheckBodies = []struct {
	body  string
	plain bool
}{
	{`{"account":"acct-1","capability":"chat.send"}`, true},
	{`{"capability":"chat.send","account":"acct-1"}`, true},
	{" \n{ \"account\" : \"a\" ,\t\"capability\":\"b\" }\r\n", true},
	{`{"account":"","capability":""}`, true},
	{`{"account":"中文","capability":"chat.send"}`, true},
	{`{"account":"a\"b","capability":"chat.send"}`, false},    // an escape
	{`{"account":"a\u0041","capability":"chat.send"}`, false}, // an escape
	{"{\"account\":\"a\x01\",\"capability\":\"c\"}", false},   // a control character
	{"{\"account\":\"a\xff\",\"capability\":\"c\"}", false},   // invalid UTF-8: decodeJSON replaces it
	{`{"account":"a","account":"b"}`, false},                  // a key twice
	{`{"account":"a","capability":"c","checks":[]}`, false},   // a third key
	{`{"account":"a"}`, false},                                // one key
	{`{"Account":"a","capability":"c"}`, false},               // case matters
	{`{"account":"a","capability":"c"} {}`, false},            // trailing data
	{`{"account":"a","capability":"c",}`, false},              // a trailing comma
	{`{"account":1,"capability":"c"}`, false},                 // not a string
	{`{"account":"a","capability":"c"`, false},                // cut short
	{`{"checks":[{"account":"a","capability":"c"}]}`, false},  // a batch
	{``, false},
}

func TestPlainCheckAgreesWithDecodeJSON(t *testing.T) {
	for _, c := range plainCheckBodies {
		_, _, ok := plainCheck([]byte(c.body))
		if ok != c.plain {
			t.Errorf("plainCheck(%q) ok = %v, want %v", c.body, ok, c.plain)
		}
		agree(t, []byte(c.body))
	}
}

// agree fails t when plainCheck reads body otherwise than decodeJSON does.
func agree(t *testing.T, body []byte) {
	acct, capability, ok := plainCheck(body)
	if !ok {
		return
	}
	var b checkBody
	if err := decodeJSON(body, &b); err != nil {
		t.Fatalf("plainCheck read %q, which decodeJSON refuses: %v", body, err)
	}
	if b.Account != acct || b.Capability != capability || b.Checks != nil {
		t.Fatalf("plainCheck read %q as (%q, %q), decodeJSON as %+v", body, acct, capability, b)
	}
}

func FuzzPlainCheck(f *testing.F) {
	for _, c := range plainCheckBodies {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { agree(t, body) })
}
