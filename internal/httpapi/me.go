package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
)

// End users reach Steward with a token the platform asks for on their behalf; with it
// they see their own standing and (as later routes come) appeal, withdraw and export.
// Every /v1/me route acts on the token's account and takes no account from the request.

type userTokenBody struct {
	TTL string `json:"ttl,omitempty"` // a Go duration from 1m to 24h; default 15m
}

type userTokenReply struct {
	Token     string    `json:"token"` // stu_…: shown once, Steward keeps only its hash
	ID        string    `json:"id"`
	Account   string    `json:"account"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *server) createUserToken(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	account := r.PathValue("id")
	if err := accounts.CheckID("id", account); err != nil {
		return nil, err
	}
	var b userTokenBody
	if len(bytes.TrimSpace(body)) > 0 {
		if err := decodeJSON(body, &b); err != nil {
			return nil, err
		}
	}
	var ttl time.Duration
	if b.TTL != "" {
		var err error
		if ttl, err = time.ParseDuration(b.TTL); err != nil {
			return nil, errs.Field("ttl", "must be a duration such as \"15m\" or \"2h\"")
		}
	}
	return func(ctx context.Context) (int, any, error) {
		secret, t, err := s.Keys.IssueToken(ctx, account, ttl)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, userTokenReply{Token: secret, ID: t.ID, Account: t.Account, ExpiresAt: t.ExpiresAt}, nil
	}, nil
}

// meReply is an account's standing, as its holder sees it.
type meReply struct {
	Account      string           `json:"account"`
	Sanctions    []mySanction     `json:"sanctions"`     // standing now, newest first
	StillAllowed []string         `json:"still_allowed"` // never denied, whatever the sanctions
	Notices      []*notify.Notice `json:"notices"`       // the latest ones, newest first
}

// mySanction is a sanction as the sanctioned see it: what, why, on whose authority, until
// when, and where to appeal; not who on the staff imposed it, nor the evidence file.
type mySanction struct {
	ID         string              `json:"id"`
	Kind       enforce.Kind        `json:"kind"`
	Scope      enforce.Scope       `json:"scope"` // what it denies
	ReasonCode string              `json:"reason_code"`
	Policy     string              `json:"policy,omitempty"`
	Detail     string              `json:"detail,omitempty"`
	Authority  authority.Authority `json:"authority"`
	Via        *enforce.Via        `json:"via,omitempty"`
	Start      time.Time           `json:"start"`
	Until      *time.Time          `json:"until"` // null: until lifted
	AppealURL  string              `json:"appeal_url"`
}

// meNotices is how many of the latest notices GET /v1/me shows.
const meNotices = 10

func (s *server) getMe(r *http.Request) (int, any, error) {
	ctx := r.Context()
	account := principal.FromContext(ctx).Account()
	sns, err := s.Enforce.Standing(ctx, account)
	if err != nil {
		return 0, nil, err
	}
	notices, err := s.Notices.List(ctx, account, "", meNotices)
	if err != nil {
		return 0, nil, err
	}
	out := meReply{Account: account, Sanctions: make([]mySanction, len(sns)), StillAllowed: enforce.Protected, Notices: notices}
	for i, sn := range sns {
		m := mySanction{ID: sn.ID, Kind: sn.Kind, Scope: sn.Scope, ReasonCode: sn.ReasonCode, Policy: sn.Policy,
			Detail: sn.Detail, Authority: sn.Authority, Via: sn.Via, Start: sn.Start, AppealURL: s.Enforce.AppealURL(sn.ID)}
		if u := sn.Until(); !u.IsZero() {
			m.Until = &u
		}
		out.Sanctions[i] = m
	}
	return http.StatusOK, out, nil
}

type tokenEnded struct {
	ID      string    `json:"id"`
	Account string    `json:"account"`
	EndedAt time.Time `json:"ended_at"`
}

func (s *server) endMyToken(r *http.Request, _ []byte) (func(context.Context) (int, any, error), error) {
	return func(ctx context.Context) (int, any, error) {
		p := principal.FromContext(ctx)
		at, err := s.Keys.RevokeToken(ctx, p)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, tokenEnded{ID: p.Credential, Account: p.Account(), EndedAt: at}, nil
	}, nil
}
