package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/enforce"
)

// fillSanctions writes n active sanctions straight into the table, 500 rows a
// statement, for benchmarks of what reads them.
func fillSanctions(tb testing.TB, db *DB, n int) {
	tb.Helper()
	const chunk = 500
	now := time.Now()
	for start := 0; start < n; start += 100 * chunk {
		err := db.Write(context.Background(), func(ctx context.Context) error {
			for c := start; c < min(start+100*chunk, n); c += chunk {
				rows := min(chunk, n-c)
				args := make([]any, 0, rows*15)
				for i := c; i < c+rows; i++ {
					kind, services, end := "ban", "*", any(nil)
					if i%2 == 1 {
						kind, services, end = "suspend", "chat", nanos(now.Add(72*time.Hour))
					}
					args = append(args, fmt.Sprintf("0190a0a0-0000-7000-8000-%012d", i), fmt.Sprintf("acct-%07d", i), kind, services, "",
						nanos(now), end, nil, "fraud", "spam", "strike", nil, false, int64(i+1), "{}")
				}
				if _, err := db.exec(ctx, `INSERT INTO sanctions (id, account, kind, services, capabilities, start_at, end_at, lifted_at,
					reason_code, policy, source, strike_until, strike_withdrawn, seq, body) VALUES `+placeholders(rows, 15), args...); err != nil {
					return err
				}
			}
			_, err := db.exec(ctx, "UPDATE sanction_seq SET n = ?", n)
			return err
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkLoadSanctions measures start-up: loading 1,000,000 active sanctions from
// the database into a serving decision index.
func BenchmarkLoadSanctions(b *testing.B) {
	for _, kind := range kinds(b) {
		b.Run(kind, func(b *testing.B) {
			db := openKind(b, kind)
			const n = 1_000_000
			fillSanctions(b, db, n)
			b.ResetTimer()
			for range b.N {
				ix := enforce.NewIndex()
				got, err := enforce.NewFollower(db.Sanctions(), ix, nil).Load(context.Background())
				if err != nil || got != n || ix.Len() != n {
					b.Fatalf("loaded %d (%d accounts), want %d: %v", got, ix.Len(), n, err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
		})
	}
}

// kinds returns the databases to benchmark on: SQLite, and PostgreSQL when
// STEWARD_TEST_POSTGRES is set. (storetest imports this package, so its tests cannot.)
func kinds(tb testing.TB) []string {
	if os.Getenv("STEWARD_TEST_POSTGRES") == "" {
		return []string{"sqlite"}
	}
	return []string{"sqlite", "postgres"}
}

// openKind opens an empty database of kind, in a schema of its own on PostgreSQL.
func openKind(tb testing.TB, kind string) *DB {
	tb.Helper()
	cfg := Config{DataDir: tb.TempDir()}
	if kind == "postgres" {
		base := os.Getenv("STEWARD_TEST_POSTGRES")
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatal(err)
		}
		defer admin.Close()
		schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() {
			if a, err := sql.Open("pgx", base); err == nil {
				a.Exec("DROP SCHEMA " + schema + " CASCADE")
				a.Close()
			}
		})
		u, _ := url.Parse(base)
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		cfg.URL = u.String()
	}
	db, err := Open(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}
