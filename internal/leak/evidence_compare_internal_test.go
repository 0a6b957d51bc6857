package leak

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func chat(texts ...string) []EvidenceMessage {
	t0 := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	out := make([]EvidenceMessage, len(texts))
	for i, s := range texts {
		from := "agent:li"
		if i%2 == 0 {
			from = "user:u-1"
		}
		out[i] = EvidenceMessage{At: t0.Add(time.Duration(i) * time.Minute), From: from, Text: s}
	}
	return out
}

// pick returns the messages of ms at places, in that order, without their times.
func pick(ms []EvidenceMessage, places ...int) []EvidenceMessage {
	out := make([]EvidenceMessage, len(places))
	for i, p := range places {
		out[i] = EvidenceMessage{From: ms[p].From, Text: ms[p].Text}
	}
	return out
}

func TestCompareMessages(t *testing.T) {
	rec := chat("my order is late", "sorry, checking", "it says delivered", "please wait", "I will complain", "refund issued")
	forged := EvidenceMessage{From: "agent:li", Text: "go away"}
	for _, tc := range []struct {
		name                                string
		presented                           []EvidenceMessage
		found, notFound, reordered, omitted []int
		consistent                          bool
	}{
		{"the whole record", pick(rec, 0, 1, 2, 3, 4, 5), []int{0, 1, 2, 3, 4, 5}, nil, nil, nil, true},
		{"a selection in order", pick(rec, 0, 4, 5), []int{0, 1, 2}, nil, nil, []int{1, 2, 3}, true},
		// Screenshots reordered so that the complaint seems to answer the refund: of the
		// two runs of two in order, the one that keeps the smaller recorded places stands.
		{"reordered", pick(rec, 0, 5, 4), []int{0, 1, 2}, nil, []int{1}, []int{1, 2, 3}, false},
		{"a forged message", append(pick(rec, 0, 1), forged), []int{0, 1}, []int{2}, nil, []int{2, 3, 4, 5}, false},
		{"spacing aside", []EvidenceMessage{{From: "user:u-1", Text: "  my order   is late "}}, []int{0}, nil, nil, []int{1, 2, 3, 4, 5}, true},
		{"reversed", pick(rec, 3, 2, 1, 0), []int{0, 1, 2, 3}, nil, []int{0, 1, 2}, []int{4, 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := compareMessages(rec, tc.presented)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				what      string
				got, want []int
			}{{"found", got.Found, tc.found}, {"not found", got.NotFound, tc.notFound}, {"reordered", got.Reordered, tc.reordered}, {"omitted", got.Omitted, tc.omitted}} {
				if !slices.Equal(c.got, c.want) && (len(c.got) != 0 || len(c.want) != 0) {
					t.Errorf("%s %v, want %v", c.what, c.got, c.want)
				}
			}
			if got.Consistent != tc.consistent {
				t.Errorf("consistent %v, want %v", got.Consistent, tc.consistent)
			}
		})
	}
	// A time that is not the recorded one is named.
	p := pick(rec, 0, 1)
	p[1].At = rec[1].At.Add(time.Hour)
	got, _ := compareMessages(rec, p)
	if got.Matches[0].AtDiffers || !got.Matches[1].AtDiffers || got.Consistent {
		t.Fatalf("%+v", got.Matches)
	}
	// Repeats: the same short message many times is matched in order, each once.
	var texts []string
	for i := range 200 {
		texts = append(texts, "ok", fmt.Sprint(i))
	}
	rec = chat(texts...)
	got, _ = compareMessages(rec, pick(rec, 0, 2, 4, 1))
	if !slices.Equal(got.Reordered, []int{3}) || len(got.Omitted) != len(rec)-4 {
		t.Fatalf("repeats: reordered %v, %d omitted", got.Reordered, len(got.Omitted))
	}
}

// BenchmarkCompareMessages compares 1,000 presented messages, a tenth of them moved,
// with a record of 10,000.
func BenchmarkCompareMessages(b *testing.B) {
	var texts []string
	for i := range MaxEvidenceMessages {
		texts = append(texts, fmt.Sprintf("message %d", i))
	}
	rec := chat(texts...)
	var places []int
	for i := range MaxPresented {
		places = append(places, i*7)
	}
	for i := 0; i+10 < len(places); i += 10 {
		places[i], places[i+5] = places[i+5], places[i]
	}
	presented := pick(rec, places...)
	b.ResetTimer()
	for b.Loop() {
		if _, err := compareMessages(rec, presented); err != nil {
			b.Fatal(err)
		}
	}
}
