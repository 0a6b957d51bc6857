package enforce_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/enforce"
)

// syntheticIndex loads an index with sanctions on every tenth of n accounts, cycling
// through a ban, a chat suspension and a payment restriction, and returns it with the
// account IDs.
func syntheticIndex(tb testing.TB, accounts, sanctions int) (*enforce.Index, []string) {
	tb.Helper()
	ids := make([]string, accounts)
	for i := range ids {
		ids[i] = fmt.Sprintf("acct-%07d", i)
	}
	now := time.Now().UnixNano()
	ix := enforce.NewIndex()
	step := accounts / sanctions
	err := ix.Load(func(add func(enforce.Entry)) error {
		for i := range sanctions {
			e := enforce.Entry{Sanction: fmt.Sprintf("0190a0a0-0000-7000-8000-%012d", i), Account: ids[i*step],
				Start: now - int64(time.Hour), End: now + int64(time.Hour), ReasonCode: "fraud", Policy: "spam", Seq: int64(i + 1)}
			switch i % 3 {
			case 0:
				e.Kind, e.Services, e.End = enforce.Ban, []string{"*"}, enforce.NoEnd
			case 1:
				e.Kind, e.Services = enforce.Suspend, []string{"chat"}
			case 2:
				e.Kind, e.Capabilities = enforce.Restrict, []string{"pay.transfer"}
			}
			add(e)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ix, ids
}

func TestIndexDecisions(t *testing.T) {
	ix, ids := syntheticIndex(t, 1000, 100)
	now := time.Now().UnixNano()
	denied := func(account, capability string) bool { return len(ix.Decide(nil, account, capability, now)) > 0 }
	cases := []struct {
		account, capability string
		denied              bool
	}{
		{ids[0], "chat.send", true}, {ids[0], "account.appeal", false}, {ids[0], "wallet.withdraw", false},
		{ids[10], "chat.send", true}, {ids[10], "pay.transfer", false},
		{ids[20], "pay.transfer", true}, {ids[20], "pay.receive", false},
		{ids[1], "chat.send", false}, {"unknown", "chat.send", false},
	}
	for _, c := range cases {
		if got := denied(c.account, c.capability); got != c.denied {
			t.Errorf("%s %s: denied=%v, want %v", c.account, c.capability, got, c.denied)
		}
	}
	// A lift (a later change ending now) takes effect; an older change arriving late does not undo it.
	lifted := enforce.Entry{Sanction: "0190a0a0-0000-7000-8000-000000000000", Account: ids[0], Kind: enforce.Ban,
		Services: []string{"*"}, Start: now - int64(time.Hour), End: now, Seq: 1000}
	ix.Apply(now, lifted)
	if denied(ids[0], "chat.send") {
		t.Fatal("denied after the lift")
	}
	stale := lifted
	stale.End, stale.Seq = enforce.NoEnd, 1
	ix.Apply(now, stale)
	if denied(ids[0], "chat.send") {
		t.Fatal("an older change brought a lifted sanction back")
	}
	if ix.Len() != 100 {
		t.Fatalf("index holds %d accounts, want 100 (the lifted one kept as a tombstone)", ix.Len())
	}
}

// BenchmarkDecide measures decisions from the index holding 100,000 active sanctions
// over 1,000,000 accounts, on every core. "random" draws each account from all of them,
// so reading the ID itself misses the cache; "walk" goes through them in order, as a
// request's IDs are read from a body just decoded.
func BenchmarkDecide(b *testing.B) {
	ix, ids := syntheticIndex(b, 1_000_000, 100_000)
	caps := []string{"chat.send", "pay.transfer", "game.play", "account.export"}
	now := time.Now().UnixNano()
	for _, walk := range []bool{false, true} {
		name := "random"
		if walk {
			name = "walk"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 1))
				i := r.Uint64()
				var dst []enforce.Denial
				for pb.Next() {
					n := r.Uint64()
					if walk {
						i++
						n = i
					}
					dst = ix.Decide(dst[:0], ids[n%uint64(len(ids))], caps[n%4], now)
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}

// BenchmarkApply measures one sanction write reaching an index of 100,000 sanctions.
func BenchmarkApply(b *testing.B) {
	ix, ids := syntheticIndex(b, 1_000_000, 100_000)
	now := time.Now().UnixNano()
	b.ResetTimer()
	for i := range b.N {
		ix.Apply(now, enforce.Entry{Sanction: fmt.Sprint(i), Account: ids[i%len(ids)], Kind: enforce.Suspend,
			Services: []string{"chat"}, Start: now, End: now + int64(time.Hour), Seq: int64(200_000 + i)})
	}
}

// BenchmarkApplyBatch measures a bulk action's batch of 500 sanctions reaching an index
// that holds 1,000,000: each batch copies the shards it touches.
func BenchmarkApplyBatch(b *testing.B) {
	ix, ids := syntheticIndex(b, 2_000_000, 1_000_000)
	now := time.Now().UnixNano()
	batch := make([]enforce.Entry, 500)
	b.ResetTimer()
	for i := range b.N {
		for j := range batch {
			n := i*len(batch) + j
			batch[j] = enforce.Entry{Sanction: fmt.Sprint(n), Account: ids[(2*n+1)%len(ids)], Kind: enforce.Suspend,
				Services: []string{"chat"}, Start: now, End: now + int64(time.Hour), Seq: int64(2_000_000 + n)}
		}
		ix.Apply(now, batch...)
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "entries/s")
}
