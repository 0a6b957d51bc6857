package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/problem"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// /healthz says when the database cannot take writes for lack of storage, as a 503 of its
// own problem type, and is 200 again once it can.
func TestHealthReportsFullStorage(t *testing.T) {
	api := newTestAPI(t, storetest.Open(t, "sqlite"))
	full := true
	h := NewHandler(Deps{App: api.app, Version: "test", Ready: func(context.Context) error {
		if full {
			return errs.E(errs.StorageFull, "the database's storage is full")
		}
		return nil
	}})
	get := &testAPI{handler: h}
	p := wantProblem(t, get.do(t, request{method: "GET", target: "/healthz"}), http.StatusServiceUnavailable, "")
	if p.Type != problem.Type(errs.StorageFull) {
		t.Fatalf("problem type %q, want %q", p.Type, problem.Type(errs.StorageFull))
	}
	full = false
	wantStatus(t, get.do(t, request{method: "GET", target: "/healthz"}), http.StatusOK)
}
