package sqlstore

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stewardhq/steward/internal/accounts"
)

// The fast decoders must agree with encoding/json on everything encoding/json writes,
// and take the fast path for the values Steward stores.
func TestAccountJSONDecodersAgreeWithEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "with space", "漢字", "comma,brace}", `quote"`, `back\slash`, "<tag>&", "tab\t", "\u2028", "x:y", "true", "12"}
	nums := []float64{0, -1, 3, 255, 256, 0.38, 1e21, 1e-7, -123456789.125, math.MaxFloat64, math.SmallestNonzeroFloat64}
	r := rand.New(rand.NewPCG(1, 2))
	fast := 0
	for i := range 2000 {
		attrs := map[string]any{}
		for k := range r.IntN(6) {
			name := []string{"risk", "travel", "days_in_border", "k_" + string(rune('a'+k)), "tier"}[r.IntN(5)]
			switch r.IntN(3) {
			case 0:
				attrs[name] = strs[r.IntN(len(strs))]
			case 1:
				attrs[name] = nums[r.IntN(len(nums))]
			default:
				attrs[name] = r.IntN(2) == 0
			}
		}
		var linked []accounts.Link
		for range r.IntN(4) {
			linked = append(linked, accounts.Link{Service: []string{"game", "pay", "we-chat"}[r.IntN(3)], Account: strs[r.IntN(len(strs))]})
		}
		if i%100 == 0 {
			linked = nil // "null"
		}
		ab, _ := json.Marshal(attrs)
		lb, _ := json.Marshal(linked)

		var wantA map[string]any
		var wantL []accounts.Link
		json.Unmarshal(ab, &wantA)
		json.Unmarshal(lb, &wantL)
		gotA, err := decodeAttributes(string(ab))
		if err != nil || !reflect.DeepEqual(gotA, wantA) {
			t.Fatalf("attributes %s: got %#v, %v; want %#v", ab, gotA, err, wantA)
		}
		gotL, err := decodeLinked(string(lb))
		if err != nil || !reflect.DeepEqual(gotL, wantL) {
			t.Fatalf("linked %s: got %#v, %v; want %#v", lb, gotL, err, wantL)
		}
		// A map used before decodes the same.
		reused, err := decodeAttributesInto(string(ab), map[string]any{"stale": 1.0, "risk": "old"})
		if err != nil || !reflect.DeepEqual(reused, wantA) {
			t.Fatalf("attributes %s into a used map: got %#v, %v; want %#v", ab, reused, err, wantA)
		}
		if fastAttributes(string(ab), map[string]any{}) {
			fast++
		}
	}
	if fast < 500 {
		t.Fatalf("the fast path decoded only %d of 2000 attribute objects", fast)
	}
	for _, s := range []string{`{"a":1,}`, `{"a":Inf}`, `{"a":0x10}`, `{"a"1}`, `[{"service":"g","account":"a"},]`, `[{"account":"a","service":"g"}]`} {
		if fastAttributes(s, map[string]any{}) {
			t.Errorf("fastAttributes accepted %s", s)
		}
		if _, ok := fastLinked(s); ok && s != `[{"account":"a","service":"g"}]` {
			t.Errorf("fastLinked accepted %s", s)
		}
	}
	// Another field order is valid JSON: the fallback reads it.
	if l, err := decodeLinked(`[{"account":"a","service":"g"}]`); err != nil || l[0] != (accounts.Link{Service: "g", Account: "a"}) {
		t.Fatalf("fallback: %v %v", l, err)
	}
}

func BenchmarkScanAccountColumns(b *testing.B) {
	attrs := `{"chargebacks":0,"days_in_border":3,"fraud_score":0.38,"trip_purpose":"business"}`
	linked := `[{"service":"pay","account":"pay-acct-000000000"},{"service":"game","account":"game-acct-000000000"}]`
	for b.Loop() {
		decodeAttributes(attrs)
		decodeLinked(linked)
	}
}
