package accounts_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

func account(i int, region string) *accounts.Account {
	return &accounts.Account{ID: fmt.Sprintf("acct-%d", i), Region: region, Verified: i%2 == 0, Locale: "en",
		CreatedAt:  time.Date(2020, 1, 2, 3, 4, 5, 600+i, time.FixedZone("x", 3600)),
		Attributes: map[string]any{"n": float64(i) + 0.1, "tier": strings.Repeat("g", i%50), "kyc": i%3 == 0},
		Linked:     []accounts.Link{{Service: "game", Account: fmt.Sprintf("g-%d", i)}}}
}

// An import larger than the memory it may hold waits in a temporary file and is written
// all the same: every account as given, once, with its audit entry; or, with one bad
// account among those spooled, nothing.
func TestImportSpools(t *testing.T) {
	const n = 1234 // three chunks
	// All spooled; or one chunk held, the rest spooled.
	for _, memory := range []int{0, 400_000} {
		t.Run(fmt.Sprintf("memory=%d", memory), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
				a := storetest.NewApp(t, db, app.Config{})
				ctx := context.Background()
				if _, err := a.Accounts.Import(ctx, []*accounts.Account{account(7, "old")}, nil); err != nil {
					t.Fatal(err)
				}
				entries, _ := db.Count(ctx, "audit_entries")

				bad := accounts.NewImportForTest(a.Accounts, memory)
				for i := range n {
					ac := account(i, "north")
					if i == n-10 {
						ac.Locale = "fr"
					}
					if err := bad.Add(ctx, ac, i+1); err != nil {
						t.Fatal(err)
					}
				}
				_, err := bad.Commit(ctx)
				if fs := errs.FieldsOf(err); len(fs) != 1 || fs[0].Field != fmt.Sprintf("line %d: locale", n-9) {
					t.Fatalf("bad import: %v", err)
				}
				bad.Close()
				if got, _ := a.Accounts.Get(ctx, "acct-7"); got.Region != "old" {
					t.Fatal("a refused import wrote")
				}

				im := accounts.NewImportForTest(a.Accounts, memory)
				defer im.Close()
				for i := range n {
					if err := im.Add(ctx, account(i, "north"), i+1); err != nil {
						t.Fatal(err)
					}
				}
				res, err := im.Commit(ctx)
				if err != nil || res != (accounts.ImportResult{Created: n - 1, Replaced: 1}) {
					t.Fatalf("import: %+v, %v", res, err)
				}
				for _, i := range []int{0, 7, 499, 500, n - 1} {
					got, err := a.Accounts.Get(ctx, fmt.Sprintf("acct-%d", i))
					if err != nil {
						t.Fatal(err)
					}
					want := account(i, "north")
					want.Normalize()
					got.UpdatedAt = time.Time{}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("acct-%d:\n got %+v\nwant %+v", i, got, want)
					}
				}
				if c, _ := db.Count(ctx, "accounts"); c != n {
					t.Errorf("%d accounts, want %d", c, n)
				}
				if c, _ := db.Count(ctx, "audit_entries"); c != entries+n {
					t.Errorf("%d audit entries, want %d", c, entries+n)
				}
			})
		})
	}
}
