package vault

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// Alert is a security alert: an actor went beyond a purpose's daily limit.
type Alert struct {
	Kind    string              `json:"kind"` // "pii.reveal_limit"
	Actor   principal.Principal `json:"actor"`
	Purpose string              `json:"purpose"`
	Ticket  string              `json:"ticket,omitempty"`
	Subject string              `json:"subject"` // the account's commitment
	Limit   int                 `json:"limit"`
	Time    time.Time           `json:"time"`
}

// Alerter hears of security alerts, inside the transaction that records them.
type Alerter interface {
	Alert(ctx context.Context, a Alert) error
}

// RevealRequest asks for the plain values of some fields, for a purpose.
type RevealRequest struct {
	Fields  []string `json:"fields"`
	Purpose string   `json:"purpose"`
	Ticket  string   `json:"ticket,omitempty"`
}

// maxTicket is the longest ticket reference.
const maxTicket = 128

// Reveal returns the requested fields of the account's personal data in clear, once the
// reveal is recorded with the actor, purpose, ticket and field names. Returns
// errs.Invalid naming every field at fault (an unknown purpose is one), errs.Forbidden
// when the purpose does not let the caller's role or the fields through, errs.NotFound
// when the account has no personal data, and errs.TooMany beyond the purpose's daily
// limit for the caller, after recording the refusal and raising a security alert.
func (s *Service) Reveal(ctx context.Context, account string, req RevealRequest) (*PII, error) {
	purpose, err := s.allowed(ctx, &req)
	if err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	cx := map[string]string{"purpose": purpose.Name}
	if req.Ticket != "" {
		cx["ticket"] = req.Ticket
	}
	c, err := s.change(ctx, ActionReveal, account, req.Fields, cx)
	if err != nil {
		return nil, err
	}
	entries, err := s.entries(ctx, c)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var r *Record
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		n, err := s.store.AddReveals(ctx, actor.Name, purpose.Name, now.Format(time.DateOnly), 1)
		if err != nil {
			return err
		}
		if n > purpose.PerActorDaily {
			return errOverLimit
		}
		if r, err = s.store.GetRecord(ctx, account); err != nil {
			return err
		}
		return s.audit.Append(ctx, entries)
	})
	if errors.Is(err, errOverLimit) {
		return nil, s.refuse(ctx, account, actor, purpose, req, c.Subject, now)
	}
	if err != nil {
		return nil, err
	}
	p, err := s.open(r)
	if err != nil {
		return nil, err
	}
	return p.only(req.Fields), nil
}

// allowed checks req (normalising its fields and ticket) and returns its purpose once
// the caller's role and the fields pass it. Returns errs.Invalid naming every field at
// fault, errs.Forbidden when the purpose does not let the caller or the fields through.
func (s *Service) allowed(ctx context.Context, req *RevealRequest) (*Purpose, error) {
	var fs errs.Fields
	if len(req.Fields) == 0 {
		fs.Add("fields", "must name at least one of %v", Fields)
	}
	for i, f := range req.Fields {
		if !slices.Contains(Fields, f) {
			fs.Add("fields", "[%d] %q is not a field: one of %v", i, f, Fields)
		}
	}
	req.Fields = slices.Compact(slices.Sorted(slices.Values(req.Fields)))
	req.Ticket = strings.TrimSpace(req.Ticket)
	if len(req.Ticket) > maxTicket || strings.ContainsFunc(req.Ticket, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		fs.Add("ticket", "must be at most %d characters, none of them control characters", maxTicket)
	}
	var purpose *Purpose
	if req.Purpose == "" {
		fs.Add("purpose", "is required")
	} else if p, err := s.store.GetPurpose(ctx, req.Purpose); errs.CodeOf(err) == errs.NotFound {
		fs.Add("purpose", "%q is not a configured purpose", req.Purpose)
	} else if err != nil {
		return nil, err
	} else {
		purpose = p
		if p.RequiresTicket && req.Ticket == "" {
			fs.Add("ticket", "is required by purpose %q", p.Name)
		}
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	actor := principal.FromContext(ctx)
	if !slices.Contains(purpose.Roles, actor.Role) {
		return nil, errs.E(errs.Forbidden, "purpose %q is not for the %s role", purpose.Name, actor.Role)
	}
	for _, f := range req.Fields {
		if !slices.Contains(purpose.Fields, f) {
			return nil, errs.E(errs.Forbidden, "purpose %q does not reveal %s (it reveals %v)", purpose.Name, f, purpose.Fields)
		}
	}
	return purpose, nil
}

var errOverLimit = errors.New("over the daily limit")

// refuse records a reveal refused for the daily limit and raises the alert, in a
// transaction of their own, and returns the errs.TooMany to answer.
func (s *Service) refuse(ctx context.Context, account string, actor principal.Principal, p *Purpose, req RevealRequest, subject string, now time.Time) error {
	cx := map[string]string{"purpose": p.Name, "reason": "daily limit"}
	if req.Ticket != "" {
		cx["ticket"] = req.Ticket
	}
	c, err := s.change(ctx, ActionRevealRefused, account, req.Fields, cx)
	if err != nil {
		return err
	}
	entries, err := s.entries(ctx, c)
	if err != nil {
		return err
	}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.audit.Append(ctx, entries); err != nil {
			return err
		}
		if s.alert == nil {
			return nil
		}
		return s.alert.Alert(ctx, Alert{Kind: "pii.reveal_limit", Actor: actor, Purpose: p.Name, Ticket: req.Ticket,
			Subject: subject, Limit: p.PerActorDaily, Time: now})
	})
	if err != nil {
		return err
	}
	return errs.E(errs.TooMany, "%s has made the %d reveals purpose %q allows a day; the refusal was recorded and security alerted",
		actor.Name, p.PerActorDaily, p.Name)
}
