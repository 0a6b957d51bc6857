package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// /readyz says whether this process should take traffic, and why not.
func TestReadyz(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		readyz := func(h http.Handler, want int) readiness {
			t.Helper()
			w := api.do(t, request{method: "GET", target: "/readyz"})
			if h != nil {
				w = (&testAPI{handler: h}).do(t, request{method: "GET", target: "/readyz"})
			}
			wantStatus(t, w, want)
			return decode[readiness](t, w)
		}
		if rd := readyz(nil, http.StatusOK); !rd.Ready || rd.AuditPending == nil || len(rd.Problems) != 0 {
			t.Fatalf("a started process: %+v", rd)
		}

		api.put(t, "acct-1", validBody)
		api.put(t, "acct-2", validBody)
		strict := NewHandler(Deps{App: api.app, Ready: db.Ready, Version: "test", ReadyLag: 1})
		rd := readyz(strict, http.StatusServiceUnavailable)
		if rd.Ready || rd.AuditPending == nil || *rd.AuditPending < 2 || len(rd.Problems) != 1 || !strings.Contains(rd.Problems[0], "sequencer") {
			t.Fatalf("with the sequencer behind its bound: %+v", rd)
		}
		if _, _, err := api.seq.Integrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if rd := readyz(strict, http.StatusOK); !rd.Ready || *rd.AuditPending != 0 {
			t.Fatalf("once the sequencer caught up: %+v", rd)
		}

		unstarted, err := app.New(db.Stores(), app.Config{})
		if err != nil {
			t.Fatal(err)
		}
		rd = readyz(NewHandler(Deps{App: unstarted, Ready: db.Ready, Version: "test"}), http.StatusServiceUnavailable)
		if len(rd.Problems) != 1 || !strings.Contains(rd.Problems[0], "index") {
			t.Fatalf("before the index is loaded: %+v", rd)
		}
		down := func(context.Context) error { return context.DeadlineExceeded }
		if rd := readyz(NewHandler(Deps{App: api.app, Ready: down, Version: "test"}), http.StatusServiceUnavailable); len(rd.Problems) != 1 || !strings.Contains(rd.Problems[0], "database") {
			t.Fatalf("with the database down: %+v", rd)
		}
	})
}
