package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
	"golang.org/x/mod/sumdb/note"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// auditLog is a log with its sequencer, recorder and the key it signs with.
type auditLog struct {
	db       *sqlstore.DB
	log      *audit.Log
	seq      *audit.Sequencer
	rec      *audit.Recorder
	key      *audit.Key
	verifier note.Verifier
}

func openLog(t testing.TB, db *sqlstore.DB, key *audit.Key) *auditLog {
	t.Helper()
	l := audit.NewLog(db.Audit(), db)
	seq := audit.NewSequencer(l, key, nil)
	if err := seq.Register(ctx); err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(key.VerifierKey)
	if err != nil {
		t.Fatal(err)
	}
	return &auditLog{db: db, log: l, seq: seq, rec: audit.NewRecorder(db.Audit()), key: key, verifier: v}
}

// record commits n entries in one transaction, about subjects s-0 to s-6 by actors a-0 to a-2.
func (l *auditLog) record(t testing.TB, n int) {
	t.Helper()
	err := l.db.Write(ctx, func(ctx context.Context) error {
		for i := range n {
			actx := principal.NewContext(audit.WithRequestID(ctx, fmt.Sprintf("req-%d", i)), principal.Principal{Name: fmt.Sprintf("a-%d", i%3), Role: principal.Service})
			c := audit.Change{Action: "account.put", Subject: fmt.Sprintf("s-%d", i%7), Value: map[string]any{"n": i, "region": "yn"}}
			if err := l.rec.Record(actx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (l *auditLog) integrate(t testing.TB) *audit.Checkpoint {
	t.Helper()
	_, cp, err := l.seq.Integrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp == nil {
		if cp, err = l.log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return cp
}

// reference returns a tree built by transparency-dev/merkle from the log's leaves.
func (l *auditLog) reference(t testing.TB) *testonly.Tree {
	t.Helper()
	ref := testonly.New(rfc6962.DefaultHasher)
	for start := int64(0); ; {
		page, err := l.log.Entries(ctx, audit.Filter{Start: start, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items {
			if it.Index != int64(ref.Size()) {
				t.Fatalf("entries: index %d, want %d", it.Index, ref.Size())
			}
			ref.AppendData(it.Leaf)
		}
		if page.NextStart == 0 {
			return ref
		}
		start = page.NextStart
	}
}

// checkInclusion proves index in size through the log and verifies it against ref.
func (l *auditLog) checkInclusion(t testing.TB, ref *testonly.Tree, index, size int64) {
	t.Helper()
	p, err := l.log.ProveInclusion(ctx, index, size)
	if err != nil {
		t.Fatalf("prove %d in %d: %v", index, size, err)
	}
	err = proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(index), uint64(size), ref.LeafHash(uint64(index)), p.Hashes, ref.HashAt(uint64(size)))
	if err != nil {
		t.Fatalf("inclusion of %d in %d: %v", index, size, err)
	}
}

func (l *auditLog) checkConsistency(t testing.TB, ref *testonly.Tree, from, to int64) {
	t.Helper()
	p, err := l.log.ProveConsistency(ctx, from, to)
	if err != nil {
		t.Fatalf("prove %d to %d: %v", from, to, err)
	}
	err = proof.VerifyConsistency(rfc6962.DefaultHasher, uint64(from), uint64(to), p.Hashes, ref.HashAt(uint64(from)), ref.HashAt(uint64(to)))
	if err != nil {
		t.Fatalf("consistency %d to %d: %v", from, to, err)
	}
}

func TestAuditEverySize(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := openLog(t, db, storetest.AuditKey(t))
		if _, err := l.log.Checkpoint(ctx); err == nil {
			t.Fatal("an empty log has a checkpoint")
		}
		const n = 300
		for i := range n {
			l.record(t, 1)
			cp := l.integrate(t)
			if cp.Size != int64(i+1) {
				t.Fatalf("after %d entries: checkpoint of size %d", i+1, cp.Size)
			}
			if _, err := audit.OpenCheckpoint(cp.Note, l.verifier); err != nil {
				t.Fatal(err)
			}
		}
		ref := l.reference(t)
		rng := rand.New(rand.NewPCG(1, 2))
		for size := int64(1); size <= n; size++ {
			cp, err := db.Audit().Checkpoints(ctx, size-1, 1)
			if err != nil || len(cp) != 1 || string(cp[0].Root[:]) != string(ref.HashAt(uint64(size))) {
				t.Fatalf("checkpoint of size %d: %v, want root %x", size, err, ref.HashAt(uint64(size)))
			}
			for _, i := range []int64{0, size / 2, size - 1, rng.Int64N(size)} {
				l.checkInclusion(t, ref, i, size)
			}
			for _, from := range []int64{1, 1 + rng.Int64N(size), size} {
				l.checkConsistency(t, ref, from, size)
			}
			l.checkConsistency(t, ref, size, n)
		}
		if _, err := audit.Verify(ctx, db.Audit(), l.verifier, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAuditLargeTree(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := openLog(t, db, storetest.AuditKey(t))
		var sizes []int64
		for _, n := range []int{5000, 1, 12_345, 77, 2_600} {
			l.record(t, n)
			sizes = append(sizes, l.integrate(t).Size) // the largest batches take several transactions
		}
		ref := l.reference(t)
		last := sizes[len(sizes)-1]
		if last != 20_023 || int64(ref.Size()) != last {
			t.Fatalf("size %d, reference %d, want 20023", last, ref.Size())
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for range 100 {
			size := 1 + rng.Int64N(last)
			l.checkInclusion(t, ref, rng.Int64N(size), size)
			l.checkConsistency(t, ref, 1+rng.Int64N(size), size)
		}
		for i, s := range sizes[1:] {
			l.checkConsistency(t, ref, sizes[i], s)
		}
		rep, err := audit.Verify(ctx, db.Audit(), l.verifier, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Entries != last || rep.Latest.Size != last || rep.Pending != 0 {
			t.Fatalf("verify: %+v", rep)
		}
	})
}

func TestAuditProofErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := openLog(t, db, storetest.AuditKey(t))
		if _, err := l.log.ProveInclusion(ctx, 0, 1); !isField(err, "size") {
			t.Errorf("proof in an empty log: %v", err)
		}
		l.record(t, 10)
		l.integrate(t)
		for _, c := range []struct {
			index, size int64
			field       string
		}{{10, 10, "index"}, {-1, 5, "index"}, {3, 11, "size"}, {0, -1, "size"}} {
			if _, err := l.log.ProveInclusion(ctx, c.index, c.size); !isField(err, c.field) {
				t.Errorf("inclusion %d in %d: %v, want invalid %s", c.index, c.size, err, c.field)
			}
		}
		for _, c := range []struct {
			from, to int64
			field    string
		}{{0, 5, "from"}, {6, 5, "from"}, {3, 11, "to"}} {
			if _, err := l.log.ProveConsistency(ctx, c.from, c.to); !isField(err, c.field) {
				t.Errorf("consistency %d to %d: %v, want invalid %s", c.from, c.to, err, c.field)
			}
		}
		if _, err := l.log.Entries(ctx, audit.Filter{Start: 11, Limit: 5}); !isField(err, "start") {
			t.Errorf("entries beyond the log: %v", err)
		}
	})
}

// isField reports whether err is an Invalid error naming field.
func isField(err error, field string) bool {
	var e *errs.Error
	return errors.As(err, &e) && e.Code == errs.Invalid && len(e.Fields) == 1 && e.Fields[0].Field == field
}

func TestAuditSearch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		l := openLog(t, db, storetest.AuditKey(t))
		l.record(t, 100)
		cp := l.integrate(t)
		l.record(t, 7) // not yet sequenced: not found
		ref := l.reference(t)
		var got []audit.Item
		for after := int64(0); ; {
			page, err := l.log.Entries(ctx, audit.Filter{Subject: "s-3", AfterID: after, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page.Items...)
			if page.NextAfter == 0 {
				break
			}
			after = page.NextAfter
		}
		if len(got) != 14 { // 3, 10, …, 94
			t.Fatalf("subject s-3: %d entries, want 14", len(got))
		}
		for _, it := range got {
			if it.Subject != "s-3" || it.Proof == nil || it.Proof.Size != cp.Size {
				t.Fatalf("entry %+v", it)
			}
			err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(it.Index), uint64(cp.Size), rfc6962.DefaultHasher.HashLeaf(it.Leaf), it.Proof.Hashes, cp.Root[:])
			if err != nil {
				t.Fatalf("entry %d: %v", it.Index, err)
			}
			if string(ref.LeafHash(uint64(it.Index))) != string(rfc6962.DefaultHasher.HashLeaf(it.Leaf)) {
				t.Fatalf("entry %d: leaf is not the tree's", it.Index)
			}
		}
		page, err := l.log.Entries(ctx, audit.Filter{Actor: "a-1", Subject: "s-1", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Items { // i%3 == 1 and i%7 == 1: 1, 22, 43, 64, 85
			if it.Actor.Name != "a-1" || it.Subject != "s-1" {
				t.Fatalf("entry %+v", it)
			}
		}
		if len(page.Items) != 5 {
			t.Fatalf("a-1 on s-1: %d entries, want 5", len(page.Items))
		}
	})
}

func TestAuditRestartKeepsRoot(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			key := storetest.AuditKey(t)
			db, err := sqlstore.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			l := openLog(t, db, key)
			l.record(t, 1000)
			before := l.integrate(t)
			db.Close()

			db, err = sqlstore.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			l = openLog(t, db, key)
			after, err := l.log.Checkpoint(ctx)
			if err != nil || after.Size != before.Size || after.Root != before.Root {
				t.Fatalf("after restart: %+v, %v; want size %d root %x", after, err, before.Size, before.Root)
			}
			l.record(t, 500)
			l.integrate(t)
			ref := l.reference(t)
			l.checkConsistency(t, ref, before.Size, 1500)
			if string(ref.HashAt(uint64(before.Size))) != string(before.Root[:]) {
				t.Fatal("the old root is not the root of the log's prefix")
			}
			if _, err := audit.Verify(ctx, db.Audit(), l.verifier, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAuditAnotherKeyIsRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		openLog(t, db, storetest.AuditKey(t))
		seq := audit.NewSequencer(audit.NewLog(db.Audit(), db), storetest.AuditKey(t), nil)
		if err := seq.Register(ctx); err == nil {
			t.Fatal("a second signing key was accepted for the same log")
		}
	})
}

// TestAuditConcurrentSequencers runs two sequencers on two handles of one database, as two
// `steward serve` would, while entries are written through both.
func TestAuditConcurrentSequencers(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			key := storetest.AuditKey(t)
			var logs []*auditLog
			for range 2 {
				db, err := sqlstore.Open(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				logs = append(logs, openLog(t, db, key))
			}
			var wg sync.WaitGroup
			for _, l := range logs {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for range 40 {
						l.record(t, 25)
					}
				}()
				go func() {
					defer wg.Done()
					for range 30 {
						if _, _, err := l.seq.Integrate(ctx); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			cp := logs[0].integrate(t)
			if cp.Size != 2000 {
				t.Fatalf("size %d, want 2000", cp.Size)
			}
			rep, err := audit.Verify(ctx, logs[1].db.Audit(), logs[1].verifier, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Entries != 2000 || rep.Pending != 0 {
				t.Fatalf("verify: %+v", rep)
			}
		})
	}
}

func TestAuditTamperingIsCaught(t *testing.T) {
	copyRow := func(from, to int) string {
		return fmt.Sprintf(`UPDATE audit_entries SET (time, actor_name, actor_role, action, subject, request_id, leaf) =
			(SELECT time, actor_name, actor_role, action, subject, request_id, leaf FROM audit_entries WHERE tree_index = %d)
			WHERE tree_index = %d`, from, to)
	}
	insertCopy := func(from, at int) string {
		return fmt.Sprintf(`INSERT INTO audit_entries (time, actor_name, actor_role, action, subject, request_id, leaf, tree_index)
			SELECT time, actor_name, actor_role, action, subject, request_id, leaf, %d FROM audit_entries WHERE tree_index = %d`, at, from)
	}
	cases := []struct {
		name  string
		sql   []string
		index int64 // the first bad index verify must name
		proof int64 // an entry whose proof must now fail; -1 for none
	}{
		{"leaf altered", []string{copyRow(6, 5)}, 5, -1},
		{"column altered", []string{"UPDATE audit_entries SET actor_name = 'mallory' WHERE tree_index = 17"}, 17, -1},
		{"entry deleted", []string{"DELETE FROM audit_entries WHERE tree_index = 33"}, 33, -1},
		{"last entry deleted", []string{"DELETE FROM audit_entries WHERE tree_index = 99"}, 99, -1},
		{"entries reordered", []string{
			"UPDATE audit_entries SET tree_index = -1 WHERE tree_index = 50",
			"UPDATE audit_entries SET tree_index = 50 WHERE tree_index = 60",
			"UPDATE audit_entries SET tree_index = 60 WHERE tree_index = -1",
		}, 50, -1},
		{"entry inserted", []string{
			"UPDATE audit_entries SET tree_index = tree_index + 1000 WHERE tree_index >= 20",
			"UPDATE audit_entries SET tree_index = tree_index - 999 WHERE tree_index >= 1000",
			insertCopy(3, 20),
		}, 20, -1},
		{"entry appended", []string{insertCopy(3, 100)}, 100, -1},
		{"entry appended past a gap", []string{insertCopy(3, 101)}, 100, -1},
		{"leaf tile altered", []string{"UPDATE audit_tiles SET hashes = (SELECT hashes FROM audit_tiles WHERE level = 0 AND n = 1) WHERE level = 0 AND n = 2"}, 32, 35},
		{"upper tile altered", []string{"UPDATE audit_tiles SET hashes = (SELECT hashes FROM audit_tiles WHERE level = 0 AND n = 6) WHERE level = 1 AND n = 0"}, 0, 7},
		{"tile deleted", []string{"DELETE FROM audit_tiles WHERE level = 0 AND n = 4"}, 64, 70},
		{"checkpoint altered", []string{"UPDATE audit_checkpoints SET root = (SELECT root FROM audit_checkpoints WHERE size = 40) WHERE size = 70"}, 40, -1},
		{"latest checkpoint deleted", []string{"DELETE FROM audit_checkpoints WHERE size = 100"}, 70, -1},
	}
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					cfg := storetest.Config(t, kind)
					db, err := sqlstore.Open(ctx, cfg)
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					l := openLog(t, db, storetest.AuditKey(t))
					for _, n := range []int{40, 30, 30} {
						l.record(t, n)
						l.integrate(t)
					}
					if _, err := audit.Verify(ctx, db.Audit(), l.verifier, nil); err != nil {
						t.Fatalf("before tampering: %v", err)
					}
					raw := storetest.OpenRaw(t, cfg)
					for _, q := range c.sql {
						if _, err := raw.Exec(q); err != nil {
							t.Fatalf("%s: %v", q, err)
						}
					}
					rep, err := audit.Verify(ctx, db.Audit(), l.verifier, nil)
					if c.name == "entry appended" && db.Audit().IndexesAtAppend() {
						// Where entries get their index at append (SQLite), one right
						// after the tree is a pending entry, as one inserted without an
						// index is on PostgreSQL: the next checkpoint commits to it.
						if err != nil || rep.Pending != 1 {
							t.Fatalf("verify of an entry appended after the tree: %+v, %v; want it pending", rep, err)
						}
						return
					}
					var te *audit.TamperError
					if !errors.As(err, &te) || te.Index != c.index {
						t.Fatalf("verify after tampering: %v; want a tamper error at entry %d", err, c.index)
					}
					if c.proof >= 0 {
						if _, err := l.log.ProveInclusion(ctx, c.proof, 0); err == nil {
							t.Errorf("a proof of entry %d was served from a tampered tree", c.proof)
						}
					}
					if c.name == "column altered" {
						// Searches select by columns: the entry moved to mallory is refused,
						// not served as hers.
						_, err := l.log.Entries(ctx, audit.Filter{Actor: "mallory", Limit: 10})
						if errs.CodeOf(err) != errs.Conflict || !strings.Contains(err.Error(), "entry 17") {
							t.Errorf("search by the altered actor: %v; want a conflict naming entry 17", err)
						}
					}
				})
			}
		})
	}
}

// logSource lets a witness read a log directly.
type logSource struct{ l *audit.Log }

func (s logSource) Checkpoint(ctx context.Context) ([]byte, error) {
	cp, err := s.l.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	return cp.Note, nil
}

func (s logSource) ConsistencyProof(ctx context.Context, from, to int64) ([][]byte, error) {
	p, err := s.l.ProveConsistency(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return p.Hashes, nil
}

func TestAuditWitness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		key := storetest.AuditKey(t)
		l := openLog(t, db, key)
		l.record(t, 10)
		l.integrate(t)
		first, err := audit.Witness(ctx, logSource{l.log}, l.verifier, nil)
		if err != nil || first.Size != 10 {
			t.Fatalf("first look: %+v, %v", first, err)
		}
		same, err := audit.Witness(ctx, logSource{l.log}, l.verifier, first.Note)
		if err != nil || same.Size != 10 {
			t.Fatalf("unchanged: %+v, %v", same, err)
		}
		l.record(t, 25)
		l.integrate(t)
		grown, err := audit.Witness(ctx, logSource{l.log}, l.verifier, first.Note)
		if err != nil || grown.Size != 35 {
			t.Fatalf("grown: %+v, %v", grown, err)
		}

		// Another log signed with the same key (a fork): same size, and larger.
		other := openLog(t, storetest.Open(t, "sqlite"), key)
		other.record(t, 35)
		other.integrate(t)
		var fork *audit.ForkError
		if _, err := audit.Witness(ctx, logSource{other.log}, l.verifier, grown.Note); !errors.As(err, &fork) {
			t.Errorf("fork of the same size: %v", err)
		}
		other.record(t, 5)
		other.integrate(t)
		if _, err := audit.Witness(ctx, logSource{other.log}, l.verifier, grown.Note); !errors.As(err, &fork) {
			t.Errorf("longer fork: %v", err)
		}

		// The database rolled back to an older state: the log shrank.
		l.record(t, 5)
		latest := l.integrate(t)
		if _, err := audit.Witness(ctx, logSource{l.log}, l.verifier, latest.Note); err != nil {
			t.Fatal(err)
		}
		shrunk := logSource{l.log}
		if _, err := audit.Witness(ctx, rolledBack{shrunk, grown.Note}, l.verifier, latest.Note); !errors.As(err, &fork) {
			t.Errorf("shrunk log: %v", err)
		}
		// A checkpoint signed by another key is refused.
		stranger := openLog(t, storetest.Open(t, "sqlite"), storetest.AuditKey(t))
		stranger.record(t, 1)
		stranger.integrate(t)
		if _, err := audit.Witness(ctx, logSource{stranger.log}, l.verifier, nil); err == nil {
			t.Error("a checkpoint signed by another key was accepted")
		}
	})
}

// rolledBack serves an older checkpoint, as a log restored from an old backup would.
type rolledBack struct {
	logSource
	old []byte
}

func (r rolledBack) Checkpoint(context.Context) ([]byte, error) { return r.old, nil }

// Entries stored without a tree index, as SQLite stored them before entries got their
// index at append, are integrated after a restart: SQLite indexes them as it opens, in
// order, after the tree; PostgreSQL sequences them as always.
func TestAuditEntriesWithoutIndexAreIntegrated(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			cfg := storetest.Config(t, kind)
			key := storetest.AuditKey(t)
			db, err := sqlstore.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			l := openLog(t, db, key)
			l.record(t, 10)
			l.integrate(t)
			l.record(t, 5)
			db.Close()
			if _, err := storetest.OpenRaw(t, cfg).Exec("UPDATE audit_entries SET tree_index = NULL WHERE tree_index >= 10"); err != nil {
				t.Fatal(err)
			}
			if db, err = sqlstore.Open(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			l = openLog(t, db, key)
			if n, err := db.Audit().CountPending(ctx); err != nil || n != 5 {
				t.Fatalf("pending after reopening: %d, %v; want 5", n, err)
			}
			l.record(t, 3)
			if cp := l.integrate(t); cp.Size != 18 {
				t.Fatalf("size %d, want 18", cp.Size)
			}
			rep, err := audit.Verify(ctx, db.Audit(), l.verifier, nil)
			if err != nil || rep.Entries != 18 || rep.Pending != 0 {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
		})
	}
}

// A pending entry deleted on SQLite leaves a gap at the tree's size that no entry can
// fill: the sequencer reports it rather than spinning or building a wrong tree.
func TestAuditGapAtTreeSizeIsReported(t *testing.T) {
	cfg := storetest.Config(t, "sqlite")
	db, err := sqlstore.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := openLog(t, db, storetest.AuditKey(t))
	l.record(t, 10)
	l.integrate(t)
	l.record(t, 5)
	if _, err := storetest.OpenRaw(t, cfg).Exec("DELETE FROM audit_entries WHERE tree_index = 10"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.seq.Integrate(ctx); err == nil || !strings.Contains(err.Error(), "tree index 10") {
		t.Fatalf("integrate across a gap: %v; want an error naming tree index 10", err)
	}
	if cp, err := l.log.Checkpoint(ctx); err != nil || cp.Size != 10 {
		t.Fatalf("checkpoint after the refused integration: %+v, %v; want size 10", cp, err)
	}
}
