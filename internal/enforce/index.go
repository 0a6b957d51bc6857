package enforce

import (
	"hash/maphash"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is what the decision index keeps of a sanction: enough to decide and to say why.
type Entry struct {
	Sanction     string
	Account      string
	Kind         Kind
	Services     []string // may hold AllServices
	Capabilities []string
	Start, End   int64 // Unix nanoseconds; End is the end or the lift, math.MaxInt64 for neither
	ReasonCode   string
	Policy       string
	Seq          int64 // the change sequence of the sanction's last write
}

// NoEnd is Entry.End for a sanction without end.
const NoEnd = math.MaxInt64

// EntryOf returns the index entry of s as of change seq.
func EntryOf(s *Sanction, seq int64) Entry {
	end := int64(NoEnd)
	if u := s.Until(); !u.IsZero() {
		end = u.UnixNano()
	}
	return Entry{Sanction: s.ID, Account: s.Account, Kind: s.Kind, Services: s.Scope.Services,
		Capabilities: s.Scope.Capabilities, Start: s.Start.UnixNano(), End: end,
		ReasonCode: s.ReasonCode, Policy: s.Policy, Seq: seq}
}

// Denial is one sanction that denies a capability.
type Denial struct {
	Sanction   string
	Kind       Kind
	Until      time.Time // zero: no end
	ReasonCode string
	Policy     string
}

// entry is an Entry ready to decide with.
type entry struct {
	Entry
	all    bool // Services holds AllServices
	denial Denial
}

func newEntry(e Entry) *entry {
	x := &entry{Entry: e, all: slices.Contains(e.Services, AllServices)}
	x.denial = Denial{Sanction: e.Sanction, Kind: e.Kind, ReasonCode: e.ReasonCode, Policy: e.Policy}
	if e.End != NoEnd {
		x.denial.Until = time.Unix(0, e.End).UTC()
	}
	return x
}

// denies reports whether x denies capability c of service svc at now.
func (x *entry) denies(c, svc string, now int64) bool {
	if now < x.Start || now >= x.End {
		return false
	}
	if x.all || slices.Contains(x.Services, svc) {
		return true
	}
	return slices.Contains(x.Capabilities, c)
}

// shards is how many parts the index is cut into, each with its own lock: readers of
// one shard wait only for a write to that shard, for the time of one map update.
const shards = 1024

// Index answers "may this account do this?" from memory. An account's entries are an
// immutable slice: a reader holds its shard's read lock only to look the slice up, and a
// write puts a new slice in place. (Copying a shard's whole map on every write, as the
// index once did, made a bulk batch cost the size of the index: 100 ms a batch of 500
// at a million sanctions.)
type Index struct {
	seed   maphash.Seed
	shards [shards]shard
	size   atomic.Int64 // accounts with entries
}

type shard struct {
	mu sync.RWMutex
	m  map[string][]*entry
	_  [64 - 32]byte // a cache line each: readers of two shards do not share one
}

// entries returns the entries of account, which the caller must not change.
func (s *shard) entries(account string) []*entry {
	s.mu.RLock()
	es := s.m[account]
	s.mu.RUnlock()
	return es
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	ix := &Index{seed: maphash.MakeSeed()}
	for i := range ix.shards {
		ix.shards[i].m = map[string][]*entry{}
	}
	return ix
}

func (ix *Index) shardOf(account string) *shard {
	return &ix.shards[maphash.String(ix.seed, account)&(shards-1)]
}

// Decide appends to dst the sanctions that deny account the capability at now (Unix
// nanoseconds) and returns them; the capability is allowed when none are appended.
// An account the index does not hold is allowed; a protected capability always is.
func (ix *Index) Decide(dst []Denial, account, capability string, now int64) []Denial {
	es := ix.shardOf(account).entries(account)
	if len(es) == 0 || IsProtected(capability) {
		return dst
	}
	svc := serviceOf(capability)
	for _, x := range es {
		if x.denies(capability, svc, now) {
			dst = append(dst, x.denial)
		}
	}
	return dst
}

// keepEnded is how long the index keeps an entry after it stopped denying. The entry
// denies nothing by then, but it remembers its Seq, so a late, older change of the same
// sanction (a commit hook that ran late) cannot bring it back.
const keepEnded = time.Minute

// Apply puts changed sanctions into the index, each replacing what the index holds of
// the same sanction unless that is newer (a higher Seq). Warnings are not kept, nor are
// entries that ended more than keepEnded before now.
func (ix *Index) Apply(now int64, es ...Entry) {
	if len(es) == 1 { // the common case: one write
		ix.applyShard(ix.shardOf(es[0].Account), now, es)
		return
	}
	byShard := map[*shard][]Entry{}
	for _, e := range es {
		s := ix.shardOf(e.Account)
		byShard[s] = append(byShard[s], e)
	}
	for s, es := range byShard {
		ix.applyShard(s, now, es)
	}
}

func (ix *Index) applyShard(s *shard, now int64, es []Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.m
	var delta int64
	cutoff := now - int64(keepEnded)
	for _, e := range es {
		cur := m[e.Account]
		next := make([]*entry, 0, len(cur)+1)
		stale := false
		for _, x := range cur {
			switch {
			case x.Sanction == e.Sanction && x.Seq >= e.Seq:
				stale = true // the index already holds this change or a later one
				next = append(next, x)
			case x.Sanction == e.Sanction, x.End <= cutoff:
			default:
				next = append(next, x)
			}
		}
		if !stale && e.Kind != Warning && e.End > cutoff {
			next = append(next, newEntry(e))
		}
		switch {
		case len(next) == 0 && len(cur) > 0:
			delete(m, e.Account)
			delta--
		case len(next) > 0:
			if len(cur) == 0 {
				delta++
			}
			m[e.Account] = next
		}
	}
	ix.size.Add(delta)
}

// Len returns how many accounts the index holds entries for.
func (ix *Index) Len() int { return int(ix.size.Load()) }

// Load replaces what the index holds with the entries fill adds. It is for filling the
// index at start: writes applied while it runs are lost, so catch up after it.
func (ix *Index) Load(fill func(add func(Entry)) error) error {
	var maps [shards]map[string][]*entry
	for i := range maps {
		maps[i] = map[string][]*entry{}
	}
	var n int64
	err := fill(func(e Entry) {
		if e.Kind == Warning {
			return
		}
		m := maps[maphash.String(ix.seed, e.Account)&(shards-1)]
		if len(m[e.Account]) == 0 {
			n++
		}
		m[e.Account] = append(m[e.Account], newEntry(e))
	})
	if err != nil {
		return err
	}
	for i := range maps {
		s := &ix.shards[i]
		s.mu.Lock()
		s.m = maps[i]
		s.mu.Unlock()
	}
	ix.size.Store(n)
	return nil
}
