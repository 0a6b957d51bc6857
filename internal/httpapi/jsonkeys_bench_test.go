package httpapi

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// BenchmarkDecodeCheckBody decodes a batch of 1,000 checks, and checks its keys alone.
func BenchmarkDecodeCheckBody(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"checks":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"account":"acct-%07d","capability":"chat.send"}`, i)
	}
	sb.WriteString("]}")
	body := []byte(sb.String())
	b.Run("decodeJSON", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var v checkBody
			if err := decodeJSON(body, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("checkKeys", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := checkKeys(body, reflect.TypeFor[*checkBody]()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
