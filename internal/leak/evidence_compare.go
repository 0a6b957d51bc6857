package leak

import (
	"context"
	"sort"
	"strings"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
)

// MaxPresented is how many messages one comparison takes.
const MaxPresented = 1000

// maxPairs bounds the (presented, recorded) pairs of equal messages a comparison walks:
// a record of one message repeated thousands of times against many copies of it.
const maxPairs = 1_000_000

// EvidenceMatch is how one presented message stands against the record.
type EvidenceMatch struct {
	Presented int  `json:"presented"`          // its place in the presented sequence
	Found     bool `json:"found"`              // the record has a message from the same sender with the same text
	Recorded  *int `json:"recorded,omitempty"` // the record's place of it
	// InOrder is whether it is in the longest run of presented messages that keeps the
	// recorded order; the others were moved.
	InOrder   bool `json:"in_order"`
	AtDiffers bool `json:"at_differs,omitempty"` // the presented time is not the recorded one
}

// EvidenceComparison says which presented messages the record has, which it has not,
// where the presented order departs from the recorded one (by the longest common
// subsequence), and which recorded messages were left out.
type EvidenceComparison struct {
	Evidence   string          `json:"evidence"`
	Recorded   int             `json:"recorded"`
	Matches    []EvidenceMatch `json:"matches"`    // one per presented message, in presented order
	Found      []int           `json:"found"`      // presented places the record has
	NotFound   []int           `json:"not_found"`  // presented places the record has not
	Reordered  []int           `json:"reordered"`  // found, but out of the recorded order
	Omitted    []int           `json:"omitted"`    // recorded places nothing presented matches
	SameOrder  bool            `json:"same_order"` // every found message is in recorded order
	Consistent bool            `json:"consistent"` // found all, in order, times as recorded
}

func messageKey(m EvidenceMessage) string {
	return strings.TrimSpace(m.From) + "\x00" + strings.Join(strings.Fields(m.Text), " ")
}

// Compare compares a presented sequence of messages with a chat record; comparing is
// audited. Returns what Get returns, and errs.Invalid for a bad sequence or a record
// that is not a chat.
func (s *EvidenceService) Compare(ctx context.Context, id string, presented []EvidenceMessage) (*EvidenceComparison, error) {
	var fs errs.Fields
	if len(presented) > MaxPresented {
		fs.Add("messages", "at most %d messages, not %d", MaxPresented, len(presented))
	} else {
		checkMessages(&fs, "messages", presented, false)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	e, c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.Kind != EvidenceChat {
		return nil, errs.Field("messages", "evidence %s is a %s, not a chat: there are no messages to compare", id, e.Kind)
	}
	out, err := compareMessages(c.Messages, presented)
	if err != nil {
		return nil, err
	}
	out.Evidence = id
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		return s.rec.Record(ctx, audit.Change{Action: "evidence.compare", Subject: EvidenceSubject(id),
			Value: map[string]any{"presented": len(presented), "found": len(out.Found), "not_found": len(out.NotFound),
				"reordered": len(out.Reordered), "omitted": len(out.Omitted)}})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// compareMessages matches presented against recorded by sender and text (spacing
// aside), keeping the longest common subsequence in order (Hunt–Szymanski: a longest
// strictly increasing run of recorded places, each presented message's places taken
// in decreasing order so that it is used once).
func compareMessages(recorded, presented []EvidenceMessage) (*EvidenceComparison, error) {
	places := map[string][]int{}
	for i, m := range recorded {
		k := messageKey(m)
		places[k] = append(places[k], i)
	}
	type node struct{ p, r, prev int }
	var nodes []node
	var tails []int // tails[k]: the node ending a run of length k+1 at the smallest recorded place
	pairs := 0
	for p, m := range presented {
		rs := places[messageKey(m)]
		if pairs += len(rs); pairs > maxPairs {
			return nil, errs.Field("messages", "too many repeated messages to compare (over %d equal pairs)", maxPairs)
		}
		for j := len(rs) - 1; j >= 0; j-- {
			r := rs[j]
			k := sort.Search(len(tails), func(k int) bool { return nodes[tails[k]].r >= r })
			prev := -1
			if k > 0 {
				prev = tails[k-1]
			}
			nodes = append(nodes, node{p, r, prev})
			if k == len(tails) {
				tails = append(tails, len(nodes)-1)
			} else {
				tails[k] = len(nodes) - 1
			}
		}
	}
	out := &EvidenceComparison{Recorded: len(recorded), Matches: make([]EvidenceMatch, len(presented)),
		Found: []int{}, NotFound: []int{}, Reordered: []int{}, Omitted: []int{}}
	used := make([]bool, len(recorded))
	for i := range out.Matches {
		out.Matches[i].Presented = i
	}
	if len(tails) > 0 {
		for n := tails[len(tails)-1]; n >= 0; n = nodes[n].prev {
			nd := nodes[n]
			r := nd.r
			out.Matches[nd.p].Found, out.Matches[nd.p].InOrder, out.Matches[nd.p].Recorded = true, true, &r
			used[r] = true
		}
	}
	// A found message out of order is given the first recorded place of it not used.
	for p, m := range presented {
		mt := &out.Matches[p]
		if !mt.Found {
			for _, r := range places[messageKey(m)] {
				if !used[r] {
					mt.Found, mt.Recorded, used[r] = true, &r, true
					break
				}
			}
			if !mt.Found && len(places[messageKey(m)]) > 0 { // a repeat of one already placed
				r := places[messageKey(m)][0]
				mt.Found, mt.Recorded = true, &r
			}
		}
		switch {
		case !mt.Found:
			out.NotFound = append(out.NotFound, p)
			continue
		case !mt.InOrder:
			out.Reordered = append(out.Reordered, p)
		}
		out.Found = append(out.Found, p)
		mt.AtDiffers = !m.At.IsZero() && !m.At.Equal(recorded[*mt.Recorded].At)
	}
	for r, u := range used {
		if !u {
			out.Omitted = append(out.Omitted, r)
		}
	}
	out.SameOrder = len(out.Reordered) == 0
	out.Consistent = out.SameOrder && len(out.NotFound) == 0
	for _, mt := range out.Matches {
		out.Consistent = out.Consistent && !mt.AtDiffers
	}
	return out, nil
}
