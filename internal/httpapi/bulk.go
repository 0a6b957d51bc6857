package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/principal"
)

var (
	bulkW = []principal.Role{principal.Compliance, principal.Admin}
	bulkR = []principal.Role{principal.Compliance, principal.Admin, principal.Auditor}
)

type (
	bulkBody    = bulk.CreateRequest
	bulkReply   = bulk.Status
	executeBody = bulk.ExecuteRequest
	revertBody  = bulk.RevertRequest
	dryRunReply = bulk.DryRun
)

// targetPage is one page of an action's targets.
type targetPage struct {
	Targets []bulk.TargetState `json:"targets"`
	Next    string             `json:"next,omitempty"` // cursor of the next page; absent on the last
}

func (s *server) createBulk(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	var b bulkBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		a, err := s.Bulk.Create(ctx, b)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, s.Bulk.StatusOf(a), nil
	}, nil
}

// bulkDetail is a bulk action with the appeals against its sanctions.
type bulkDetail struct {
	bulk.Status
	Appeals appeals.BulkCounts `json:"appeals"`
}

func (s *server) getBulk(r *http.Request) (int, any, error) {
	a, err := s.Bulk.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	d := bulkDetail{Status: s.Bulk.StatusOf(a)}
	if d.Appeals, err = s.Appeals.ForBulk(r.Context(), a.ID); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, d, nil
}

func (s *server) listBulkTargets(r *http.Request) (int, any, error) {
	after, limit, err := pageQuery(r, func(k string) bool {
		n, err := strconv.ParseInt(k, 10, 64)
		return err == nil && n > 0
	})
	if err != nil {
		return 0, nil, err
	}
	var from int64
	if after != "" {
		from, _ = strconv.ParseInt(after, 10, 64)
	}
	list, err := s.Bulk.Targets(r.Context(), r.PathValue("id"), from, limit+1)
	if err != nil {
		return 0, nil, err
	}
	var p targetPage
	p.Targets, p.Next = page(list, limit, func(t bulk.TargetState) string { return strconv.FormatInt(t.Ord, 10) })
	return http.StatusOK, p, nil
}

// dryRunBulk reads only, outside any write transaction: a dry run over many accounts
// holds up no writer.
func (s *server) dryRunBulk(r *http.Request) (int, any, error) {
	body, err := readBody(r, maxNoBody)
	if err == nil {
		err = noBody(body)
	}
	if err != nil {
		return 0, nil, err
	}
	d, err := s.Bulk.DryRun(r.Context(), r.PathValue("id"))
	return http.StatusOK, d, err
}

// bulkChange answers a write that changes one action, with status.
func (s *server) bulkChange(status int, do func(ctx context.Context) (*bulk.Action, error)) func(context.Context) (int, any, error) {
	return func(ctx context.Context) (int, any, error) {
		a, err := do(ctx)
		if err != nil {
			return 0, nil, err
		}
		return status, s.Bulk.StatusOf(a), nil
	}
}

func (s *server) executeBulk(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	var b executeBody
	if err := decodeOptionalJSON(body, &b); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return s.bulkChange(http.StatusAccepted, func(ctx context.Context) (*bulk.Action, error) { return s.Bulk.Execute(ctx, id, b) }), nil
}

func (s *server) pauseBulk(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	if err := noBody(body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return s.bulkChange(http.StatusOK, func(ctx context.Context) (*bulk.Action, error) { return s.Bulk.Pause(ctx, id) }), nil
}

func (s *server) resumeBulk(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	if err := noBody(body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return s.bulkChange(http.StatusOK, func(ctx context.Context) (*bulk.Action, error) { return s.Bulk.Resume(ctx, id) }), nil
}

func (s *server) revertBulk(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	var b revertBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return s.bulkChange(http.StatusAccepted, func(ctx context.Context) (*bulk.Action, error) { return s.Bulk.Revert(ctx, id, b) }), nil
}

// maxNoBody is the most a route without a body reads of one, to refuse it.
const maxNoBody = 1 << 10

// noBody refuses a body other than none or {} (or null): the route takes no fields.
func noBody(body []byte) error { return decodeOptionalJSON(body, &struct{}{}) }

// decodeOptionalJSON is decodeJSON that accepts an empty body as {}.
func decodeOptionalJSON(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	return decodeJSON(body, v)
}
