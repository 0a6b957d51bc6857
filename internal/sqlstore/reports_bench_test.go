package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/reports"
)

// fillCases writes n open cases straight into the table, 500 rows a statement, with
// scores spread over 0 to 1000 and one in fifty flagged.
func fillCases(tb testing.TB, db *DB, n int) {
	tb.Helper()
	const chunk = 500
	now := time.Now()
	for start := 0; start < n; start += 100 * chunk {
		err := db.Write(context.Background(), func(ctx context.Context) error {
			for c := start; c < min(start+100*chunk, n); c += chunk {
				rows := min(chunk, n-c)
				args := make([]any, 0, rows*9)
				for i := c; i < c+rows; i++ {
					id := fmt.Sprintf("0190a0a0-0000-7000-8000-%012d", i)
					score := float64(i*7919%1_000_000) / 1000
					body := fmt.Sprintf(`{"id":%q,"target":"acct-%07d","category":"spam","state":"open","score":%g,"flags":[],"reports":3}`, id, i, score)
					args = append(args, id, fmt.Sprintf("acct-%07d", i), "spam", "open", score, i%50 == 0, 1, body, nanos(now))
				}
				if _, err := db.exec(ctx, `INSERT INTO report_cases (id, target, category, state, score, flagged, version, body, opened_at)
					VALUES `+placeholders(rows, 9), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkCaseQueuePage reads pages of 100 open cases, highest score first, out of
// 1,000,000: the first page, then pages further down by their cursor, and the flagged
// ones alone. It reports the 99th percentile of a page's time.
func BenchmarkCaseQueuePage(b *testing.B) {
	for _, kind := range kinds(b) {
		// Opened and filled once, by the parent: a sub-benchmark's cleanups run after
		// each of its runs.
		var db *DB
		b.Run(kind, func(sub *testing.B) {
			if db == nil {
				db = openKind(b, kind)
				fillCases(sub, db, 1_000_000)
			}
			b := sub
			st := db.Reports()
			ctx := context.Background()
			var took []time.Duration
			b.ResetTimer()
			var after *reports.Cursor
			for i := range b.N {
				f := reports.Filter{State: reports.Open, Limit: 101, After: after}
				if i%4 == 3 {
					f = reports.Filter{State: reports.Open, Flag: reports.FlagBrigade, Limit: 101}
				}
				start := time.Now()
				page, err := st.ListCases(ctx, f)
				took = append(took, time.Since(start))
				if err != nil || len(page) != 101 {
					b.Fatalf("page of %d: %v", len(page), err)
				}
				if i%4 != 3 {
					last := page[99]
					after = &reports.Cursor{Score: last.Score, ID: last.ID}
				}
			}
			b.StopTimer()
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
