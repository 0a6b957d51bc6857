package httpapi

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// An empty body names every required field at once, so a newcomer fixes a request in one
// go rather than one field per try.
func TestEveryMissingFieldAtOnce(t *testing.T) {
	api := newTestAPI(t, storetest.Open(t, "sqlite"))
	for _, c := range []struct {
		method, target string
		role           principal.Role
		fields         []string
	}{
		{"PUT", "/v1/accounts/a-1", principal.Service, []string{"region", "created_at", "locale"}},
		{"POST", "/v1/sanctions", principal.Compliance, []string{"account", "kind", "reason_code", "authority.kind"}},
		{"PUT", "/v1/policies/spam", principal.Compliance, []string{"title.en", "title.zh-CN", "clause.en", "clause.zh-CN", "ladder", "scope"}},
		{"POST", "/v1/strikes", principal.Reviewer, []string{"account", "policy"}},
		{"POST", "/v1/bulk-actions", principal.Compliance, []string{"name", "criteria", "sanction.kind", "sanction.reason_code", "authority.kind"}},
		{"PUT", "/v1/webhooks/w", principal.Admin, []string{"url", "secret", "events"}},
	} {
		p := wantProblem(t, api.do(t, request{method: c.method, target: c.target, key: api.keys[c.role], body: `{}`}), http.StatusBadRequest, "")
		for _, f := range c.fields {
			if !slices.ContainsFunc(p.Errors, func(e errs.FieldError) bool { return e.Field == f }) {
				t.Errorf("%s %s with {}: %v; want every missing field, %s among them", c.method, c.target, p.Errors, f)
			}
		}
	}
	// A malformed time is named once, as malformed, beside the other fields.
	p := wantProblem(t, api.do(t, request{method: "PUT", target: "/v1/accounts/a-1", key: api.keys[principal.Service],
		body: `{"created_at": "yesterday", "locale": "fr"}`}), http.StatusBadRequest, "")
	var named []string
	for _, e := range p.Errors {
		named = append(named, e.Field)
	}
	if slices.Compare(named, []string{"created_at", "region", "locale"}) != 0 {
		t.Errorf("fields %v, want created_at (malformed), region, locale", named)
	}
}
