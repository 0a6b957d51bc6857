package sqlstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/principal"
)

// backupBenchSize is how many accounts, and as many sanctions, the backup benchmarks
// store: 1,000,000 unless $STEWARD_BENCH_BACKUP_N says (a smaller size for a quick look).
func backupBenchSize(tb testing.TB) int {
	if s := os.Getenv("STEWARD_BENCH_BACKUP_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			tb.Fatal(err)
		}
		return n
	}
	return 1_000_000
}

// fillForBackup stores n accounts and n sanctions through the stores' batch paths, an
// audit entry for each, and the audit tree over them with a signed checkpoint.
func fillForBackup(tb testing.TB, db *DB, key *audit.Key, n int) {
	tb.Helper()
	ctx := context.Background()
	const chunk = 10_000
	created := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	svc := principal.Principal{Name: "service-1a2b3c4d", Role: principal.Service}
	var hashes []tlog.Hash
	for start := 0; start < n; start += chunk {
		as := make([]*accounts.Account, 0, chunk)
		es := make([]*audit.Entry, 0, 2*chunk)
		for i := start; i < min(start+chunk, n); i++ {
			id := fmt.Sprintf("acct-%07d", i)
			as = append(as, &accounts.Account{ID: id, Region: "r" + strconv.Itoa(i%40), Locale: "en", CreatedAt: created})
			for _, action := range []string{"account.put", "sanction.impose"} {
				es = append(es, &audit.Entry{Action: action, Actor: svc, Digest: fmt.Sprintf("%064x", i), Fields: []string{"id"},
					RequestID: fmt.Sprintf("req-%07d", i), Subject: id, Time: created})
			}
		}
		err := db.Write(ctx, func(ctx context.Context) error {
			if _, err := db.Accounts().PutMany(ctx, as); err != nil {
				return err
			}
			return db.Audit().Append(ctx, es)
		})
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range es {
			hashes = append(hashes, tlog.RecordHash(e.Leaf()))
		}
	}
	fillSanctions(tb, db, n)
	err := db.Write(ctx, func(ctx context.Context) error {
		if _, err := audit.AppendLeafHashes(ctx, db.Audit(), key, hashes, time.Now()); err != nil {
			return err
		}
		_, err := db.exec(ctx, "UPDATE audit_entries SET tree_index = id - 1")
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkBackup measures, over 1,000,000 accounts with 1,000,000 sanctions and their
// 2,000,000 audit entries: a backup (aim ≤ 30 s on SQLite), a restore into an empty
// target, and backup verify, which restores into a scratch database and checks it
// (restore plus verify: aim ≤ 90 s).
func BenchmarkBackup(b *testing.B) {
	for _, kind := range kinds(b) {
		b.Run(kind, func(b *testing.B) {
			n := backupBenchSize(b)
			db := openKind(b, kind)
			keyFile := filepath.Join(b.TempDir(), "audit.key")
			key, _, err := audit.LoadOrCreateKey(keyFile)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			fillForBackup(b, db, key, n)
			b.Logf("stored %d accounts, %d sanctions and %d audit entries in %v", n, n, 2*n, time.Since(start).Round(time.Second))
			ctx := context.Background()
			base := b.TempDir()
			var dir string
			b.Run("backup", func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					dir = filepath.Join(base, fmt.Sprintf("b%d", i))
					if _, err := db.Backup(ctx, dir, BackupOptions{Keys: map[string]string{"audit.key": keyFile}}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/backup")
				b.ReportMetric(float64(dirSize(b, dir))/1e6, "MB")
			})
			b.Run("restore", func(b *testing.B) {
				for b.Loop() {
					cfg, drop, err := db.d.snapshots.scratch(ctx, b.TempDir(), os.Getenv("STEWARD_TEST_POSTGRES"))
					if err != nil {
						b.Fatal(err)
					}
					if _, err := RestoreBackup(ctx, dir, cfg); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					drop()
					b.StartTimer()
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/restore")
			})
			b.Run("verify", func(b *testing.B) {
				for b.Loop() {
					c, err := VerifyBackup(ctx, dir, os.Getenv("STEWARD_TEST_POSTGRES"), b.TempDir(), nil)
					if err != nil || len(c.Differences) > 0 || c.Recomputed != int64(2*n) {
						b.Fatalf("verify: %+v %v", c, err)
					}
				}
				b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/verify")
			})
		})
	}
}

func dirSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	fs, err := listFiles(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, f := range fs {
		n += f.Size
	}
	return n
}
