package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// auditVariants are the ways entries get their tree index: each database's own, and,
// for comparison in one run, SQLite's former way (sqlite-update: the sequencer UPDATEs
// each row, as on PostgreSQL).
var auditVariants = []struct {
	name, kind    string
	indexAtAppend bool
}{
	{"sqlite", "sqlite", true},
	{"sqlite-update", "sqlite", false},
	{"postgres", "postgres", false},
}

// openVariant opens a database of kind with the audit variant's indexing.
func openVariant(b *testing.B, kind string, indexAtAppend bool) *sqlstore.DB {
	db := storetest.Open(b, kind)
	if kind == "sqlite" {
		db.SetAuditIndexAtAppend(indexAtAppend)
	}
	return db
}

// BenchmarkAuditIntegrate measures the sequencer alone: b.N committed entries are
// integrated into the tree (leaf hashes, tiles, tree indexes, a signed checkpoint per
// batch). Compare with BenchmarkSHA256Leaves, the ceiling one core sets.
func BenchmarkAuditIntegrate(b *testing.B) {
	for _, v := range auditVariants {
		b.Run(v.name, func(b *testing.B) {
			db := openVariant(b, v.kind, v.indexAtAppend)
			l := openLog(b, db, storetest.AuditKey(b))
			l.record(b, 1000) // a tree to grow, not an empty one
			l.integrate(b)
			b.StopTimer()
			for left := b.N; left > 0; left -= 10_000 {
				l.record(b, min(left, 10_000))
			}
			b.StartTimer()
			n, _, err := l.seq.Integrate(context.Background())
			if err != nil || n != int64(b.N) {
				b.Fatalf("integrated %d of %d: %v", n, b.N, err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkSHA256Leaves is the ceiling for integration: hashing a typical leaf and the
// tree nodes above it (about one per leaf) on one core.
func BenchmarkSHA256Leaves(b *testing.B) {
	leaf := (&audit.Entry{Action: "account.put", Actor: principal.Principal{Name: "service-1a2b3c4d", Role: principal.Service},
		Digest: fmt.Sprintf("%x", sha256.Sum256(nil)), Fields: []string{"attributes", "created_at", "id", "linked", "locale", "region", "verified"},
		RequestID: "0193c7a4-8d2e-7b31-9f4a-2c5d6e7f8a9b", Subject: "acct-000123", Time: time.Now().UTC()}).Leaf()
	var h tlog.Hash
	for b.Loop() {
		h = tlog.NodeHash(h, tlog.RecordHash(leaf))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkAuditInclusionProof measures inclusion proofs in a tree of 10,000,000 entries
// on SQLite, with the tiles filled directly from synthetic leaf hashes.
func BenchmarkAuditInclusionProof(b *testing.B) {
	const size = 10_000_000
	db := storetest.Open(b, "sqlite")
	l := openLog(b, db, storetest.AuditKey(b))
	start := time.Now()
	fillTree(b, db, l.key, size)
	b.Logf("filled a tree of %d entries in %v", size, time.Since(start).Round(time.Second))
	rng := rand.New(rand.NewPCG(5, 6))
	b.Run("10M", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			i := rng.Int64N(size)
			t0 := time.Now()
			if _, err := l.log.ProveInclusion(context.Background(), i, 0); err != nil {
				b.Fatal(err)
			}
			took = append(took, time.Since(t0))
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		b.ReportMetric(float64(took[len(took)/2].Microseconds()), "µs-median")
		b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "µs-p99")
	})
}

// fillTree stores the tiles and the checkpoint of a tree of size synthetic leaves,
// without entries, a million at a time.
func fillTree(b *testing.B, db *sqlstore.DB, key *audit.Key, size int64) {
	b.Helper()
	st := db.Audit()
	for n := int64(0); n < size; {
		batch := min(size-n, 1_000_000)
		hashes := make([]tlog.Hash, batch)
		for i := range hashes {
			var leaf [8]byte
			binary.BigEndian.PutUint64(leaf[:], uint64(n)+uint64(i))
			hashes[i] = tlog.RecordHash(leaf[:])
		}
		err := db.Write(context.Background(), func(ctx context.Context) error {
			_, err := audit.AppendLeafHashes(ctx, st, key, hashes, time.Now())
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		n += batch
	}
}

// BenchmarkWritePutSequenced is BenchmarkWritePut with the sequencer integrating every
// 500 ms, as in `steward serve`: the cost of the audit log to the write path.
func BenchmarkWritePutSequenced(b *testing.B) {
	for _, v := range auditVariants {
		b.Run(v.name, func(b *testing.B) {
			db := openVariant(b, v.kind, v.indexAtAppend)
			l := openLog(b, db, storetest.AuditKey(b))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { l.seq.Run(ctx); close(done) }()
			putParallel(b, db)
			cancel()
			<-done
		})
	}
}
