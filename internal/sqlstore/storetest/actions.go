package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stewardhq/steward/internal/sqlstore"
)

// PendingActions returns the actions of db's audit entries not yet integrated into the
// tree, in storage order.
func PendingActions(tb testing.TB, db *sqlstore.DB) []string {
	tb.Helper()
	rows, err := db.Audit().Pending(context.Background(), 100000)
	if err != nil {
		tb.Fatal(err)
	}
	var actions []string
	for _, r := range rows {
		var e struct{ Action string }
		if err := json.Unmarshal(r.Leaf, &e); err != nil {
			tb.Fatal(err)
		}
		actions = append(actions, e.Action)
	}
	return actions
}
