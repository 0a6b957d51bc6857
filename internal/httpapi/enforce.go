package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
)

// policyBody is the body of PUT /v1/policies/{id}.
type policyBody struct {
	ID             string            `json:"id,omitempty"` // optional; must match the path
	Title          map[string]string `json:"title"`
	Clause         map[string]string `json:"clause"`
	ReasonCode     string            `json:"reason_code,omitempty"` // default: the policy ID
	Ladder         []string          `json:"ladder"`
	Scope          enforce.Scope     `json:"scope"`
	StrikeLifetime string            `json:"strike_lifetime,omitempty"` // a duration such as "8760h" (the default)
	AppealSLA      string            `json:"appeal_sla,omitempty"`      // how long people have to decide an appeal, 1h to 2160h (default 72h)
}

type policyReply = enforce.Policy

// sanctionBody is the body of POST /v1/sanctions. Times are strings so that a bad one is
// reported against its field.
type sanctionBody struct {
	Account    string              `json:"account"`
	Kind       enforce.Kind        `json:"kind"`
	Scope      enforce.Scope       `json:"scope"`
	Start      string              `json:"start,omitempty"` // RFC 3339; default now
	End        string              `json:"end,omitempty"`   // RFC 3339; none for a ban
	ReasonCode string              `json:"reason_code"`
	Policy     string              `json:"policy,omitempty"`
	Clause     string              `json:"clause,omitempty"`
	Detail     string              `json:"detail,omitempty"`
	Evidence   []string            `json:"evidence,omitempty"`
	Authority  authority.Authority `json:"authority"`
	Source     enforce.Source      `json:"source,omitempty"` // manual (default), report or bulk
	Via        *enforce.Via        `json:"via,omitempty"`    // set only to reach a linked account, saying why
}

type sanctionReply = enforce.Sanction

type sanctionPage struct {
	Sanctions []*enforce.Sanction `json:"sanctions"`
	Next      string              `json:"next,omitempty"` // cursor of the next page; absent on the last
}

type strikeBody = enforce.StrikeRequest

type liftBody = enforce.LiftRequest

type amendBody struct {
	End string `json:"end"` // RFC 3339
}

// parseTime reads an optional RFC 3339 time of field.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errs.Field(field, "must be an RFC 3339 time such as 2026-05-01T08:00:00Z")
	}
	return t, nil
}

func (s *server) putPolicy(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	id := r.PathValue("id")
	if !enforce.ValidCode(id) {
		return nil, errs.Field("id", "must be %s", enforce.CodeRule)
	}
	var b policyBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	if b.ID != "" && b.ID != id {
		return nil, errs.Field("id", "%q does not match the policy ID in the path", b.ID)
	}
	p := &enforce.Policy{ID: id, Title: b.Title, Clause: b.Clause, ReasonCode: b.ReasonCode, Ladder: b.Ladder, Scope: b.Scope}
	if b.StrikeLifetime != "" {
		d, err := time.ParseDuration(b.StrikeLifetime)
		if err != nil {
			return nil, errs.Field("strike_lifetime", `must be a duration such as "8760h"`)
		}
		p.StrikeLifetime = enforce.Duration(d)
	}
	if b.AppealSLA != "" {
		d, err := time.ParseDuration(b.AppealSLA)
		if err != nil {
			return nil, errs.Field("appeal_sla", `must be a duration such as "72h"`)
		}
		p.AppealSLA = enforce.Duration(d)
	}
	return func(ctx context.Context) (int, any, error) {
		created, err := s.Enforce.PutPolicy(ctx, p)
		if err != nil {
			return 0, nil, err
		}
		if created {
			return http.StatusCreated, p, nil
		}
		return http.StatusOK, p, nil
	}, nil
}

func (s *server) getPolicy(r *http.Request) (int, any, error) {
	p, err := s.Enforce.GetPolicy(r.Context(), r.PathValue("id"))
	return http.StatusOK, p, err
}

func (s *server) imposeSanction(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	var b sanctionBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	start, err := parseTime("start", b.Start)
	if err != nil {
		return nil, err
	}
	end, err := parseTime("end", b.End)
	if err != nil {
		return nil, err
	}
	sn := &enforce.Sanction{Account: b.Account, Kind: b.Kind, Scope: b.Scope, Start: start, ReasonCode: b.ReasonCode,
		Policy: b.Policy, Clause: b.Clause, Detail: b.Detail, Evidence: b.Evidence, Authority: b.Authority,
		Source: b.Source, Via: b.Via}
	if !end.IsZero() {
		sn.End = &end
	}
	return func(ctx context.Context) (int, any, error) {
		out, err := s.Enforce.Impose(ctx, sn)
		return http.StatusCreated, out, err
	}, nil
}

func (s *server) strike(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	var b strikeBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		out, err := s.Enforce.Strike(ctx, b)
		return http.StatusCreated, out, err
	}, nil
}

func (s *server) getSanction(r *http.Request) (int, any, error) {
	sn, err := s.Enforce.Get(r.Context(), r.PathValue("id"))
	return http.StatusOK, sn, err
}

func (s *server) listSanctions(r *http.Request) (int, any, error) {
	after, limit, err := pageQuery(r, anyKey) // Enforce.List checks it as a sanction ID
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Enforce.List(r.Context(), r.PathValue("id"), after, limit+1)
	if err != nil {
		return 0, nil, err
	}
	var p sanctionPage
	p.Sanctions, p.Next = page(list, limit, func(sn *enforce.Sanction) string { return sn.ID })
	return http.StatusOK, p, nil
}

func (s *server) liftSanction(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	id := r.PathValue("id")
	if err := enforce.CheckSanctionID("id", id); err != nil {
		return nil, err
	}
	var b liftBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		out, err := s.Enforce.Lift(ctx, id, b)
		return http.StatusOK, out, err
	}, nil
}

func (s *server) amendSanction(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	id := r.PathValue("id")
	if err := enforce.CheckSanctionID("id", id); err != nil {
		return nil, err
	}
	var b amendBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	end, err := parseTime("end", b.End)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		out, err := s.Enforce.Amend(ctx, id, end)
		return http.StatusOK, out, err
	}, nil
}
