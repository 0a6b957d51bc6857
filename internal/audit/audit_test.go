package audit

import (
	"encoding/json"
	"slices"
	"testing"
)

// fieldNames reads the keys straight off the JSON; encoding/json is the oracle.
func TestFieldNamesAgreesWithEncodingJSON(t *testing.T) {
	values := []any{
		map[string]any{},
		map[string]any{"b": 1, "a": "x"},
		map[string]any{"kind": "ban", "scope": map[string]any{"services": []string{"a:b", "{c}"}, "x": 1}, "end": nil},
		map[string]any{"detail": `quote " colon : brace { bracket [`, "lifted": map[string]any{"by": map[string]any{"name": "n"}}},
		map[string]any{"<tag>": 1, "a\"b": 2, "naïve": 3, "tab\t": 4},
		map[string]any{"list": []any{map[string]any{"inner": 1}, []any{}, "s"}, "z": true},
		struct {
			A string `json:"a"`
			B []int  `json:"b,omitempty"`
			C *int   `json:"c"`
		}{A: "x:y"},
		[]string{"not", "an", "object"},
		"string",
		42,
		nil,
	}
	for _, v := range values {
		canon, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fieldNames(canon), fieldNamesSlow(canon); !slices.Equal(got, want) {
			t.Errorf("%s: got %q, want %q", canon, got, want)
		}
	}
}

func FuzzFieldNames(f *testing.F) {
	for _, s := range []string{"", "a", `"`, `\`, ":", "{", "]", "<&>", "ü", "\x00"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, k, v string) {
		canon, err := json.Marshal(map[string]any{k: v, "n": map[string]any{k: []any{v, 1}}, v: k})
		if err != nil {
			return
		}
		if got, want := fieldNames(canon), fieldNamesSlow(canon); !slices.Equal(got, want) {
			t.Fatalf("%s: got %q, want %q", canon, got, want)
		}
	})
}
