package enforce

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/txn"
)

// Config holds a Service's options.
type Config struct {
	// AppealURL is the start of the link a denied user follows to appeal; the sanction
	// ID is appended. Default DefaultAppealURL.
	AppealURL string
	// Announcer is told of every change; none when nil.
	Announcer Announcer
	// Now is the clock; time.Now when nil. Tests move it.
	Now func() time.Time
}

// DefaultAppealURL is where the portal takes appeals.
const DefaultAppealURL = "/portal/appeals/new?sanction="

// Service imposes, amends and lifts sanctions, each audited in the transaction that
// writes it, and answers decisions from its index.
type Service struct {
	store    Store
	accounts Accounts
	tx       txn.Runner
	audit    *audit.Recorder
	index    *Index
	announce Announcer
	appeal   string
	now      func() time.Time
}

// NewService returns a Service over store, sanctioning the accounts of accts, that keeps
// ix current with its own writes.
func NewService(store Store, accts Accounts, tx txn.Runner, rec *audit.Recorder, ix *Index, cfg Config) *Service {
	s := &Service{store: store, accounts: accts, tx: tx, audit: rec, index: ix, announce: cfg.Announcer, appeal: cfg.AppealURL, now: cfg.Now}
	if s.appeal == "" {
		s.appeal = DefaultAppealURL
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Now returns the service's clock reading, in Unix nanoseconds, for Decide.
func (s *Service) Now() int64 { return s.now().UnixNano() }

// AppealURL returns where a user denied by sanction id may appeal it.
func (s *Service) AppealURL(id string) string { return s.appeal + id }

// Decide appends to dst the sanctions that deny account the capability at now and
// returns them: none means allowed. Inputs are not checked; see CheckRequest.
func (s *Service) Decide(dst []Denial, account, capability string, now int64) []Denial {
	return s.index.Decide(dst, account, capability, now)
}

// CheckRequest returns an Invalid error naming the field at fault (prefixed) unless
// account and capability are well formed.
func CheckRequest(prefix, account, capability string) error {
	var fs errs.Fields
	if !accounts.ValidID(account) {
		fs.Add(prefix+"account", "must be %s", accounts.IDRule)
	}
	if !ValidCapability(capability) {
		fs.Add(prefix+"capability", "must be %s", CapabilityRule)
	}
	return fs.Err()
}

// Get returns the sanction. Returns errs.Invalid for a malformed ID and errs.NotFound
// when there is none.
func (s *Service) Get(ctx context.Context, id string) (*Sanction, error) {
	if err := CheckSanctionID("id", id); err != nil {
		return nil, err
	}
	return s.store.Get(ctx, id)
}

// List returns up to limit sanctions of account, newest first, after the sanction with
// ID after. Returns errs.Invalid for a malformed account ID or cursor.
func (s *Service) List(ctx context.Context, account, after string, limit int) ([]*Sanction, error) {
	if err := accounts.CheckID("id", account); err != nil {
		return nil, err
	}
	if after != "" {
		if err := CheckSanctionID("cursor", after); err != nil {
			return nil, err
		}
	}
	return s.store.List(ctx, account, after, limit)
}

// GetPolicy returns the policy. Returns errs.NotFound when there is none.
func (s *Service) GetPolicy(ctx context.Context, id string) (*Policy, error) {
	if !ValidCode(id) {
		return nil, errs.Field("id", "must be %s", CodeRule)
	}
	return s.store.GetPolicy(ctx, id)
}

// PutPolicy validates and creates or replaces p, and reports whether it created it.
// Returns errs.Invalid naming the fields at fault.
func (s *Service) PutPolicy(ctx context.Context, p *Policy) (created bool, err error) {
	p.normalize()
	if err := p.validate(); err != nil {
		return false, err
	}
	p.UpdatedAt = s.now().UTC()
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if created, err = s.store.PutPolicy(ctx, p); err != nil {
			return err
		}
		v := *p
		v.UpdatedAt = time.Time{}
		return s.audit.Record(ctx, audit.Change{Action: "policy.put", Subject: "policy:" + p.ID, Value: &v})
	})
	return created, err
}

// mayActOn returns errs.Forbidden unless the actor in ctx may impose or end a sanction
// on authority a: only compliance (and admins, and Steward itself) act on legal orders.
func mayActOn(ctx context.Context, a authority.Authority) error {
	if a.Kind != authority.LegalOrder {
		return nil
	}
	actor := principal.FromContext(ctx)
	switch actor.Role {
	case principal.Compliance, principal.Admin, principal.System:
		return nil
	}
	return errs.E(errs.Forbidden, "only compliance acts on sanctions under a legal order")
}

// policyOf returns the policy a request names, as an Invalid error on field when
// there is none.
func (s *Service) policyOf(ctx context.Context, field, id string) (*Policy, error) {
	p, err := s.store.GetPolicy(ctx, id)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, errs.Field(field, "no policy %q: create it with PUT /v1/policies/%s first", id, id)
	}
	return p, err
}

// Impose validates and stores a direct sanction, filling its ID, author and times (start
// defaults to now). Returns errs.Invalid naming the fields at fault, and errs.Forbidden
// when the caller may not act on its authority.
func (s *Service) Impose(ctx context.Context, sn *Sanction) (*Sanction, error) {
	now := s.now().UTC()
	if sn.Start.IsZero() {
		sn.Start = now
	}
	if sn.Source == "" {
		sn.Source = Manual
	}
	sn.normalize()
	if sn.Source == FromStrike {
		return nil, errs.Field("source", "must be %s", sourceRules)
	}
	if err := sn.validate(); err != nil {
		return nil, err
	}
	if sn.End != nil && !sn.End.After(now) {
		return nil, errs.Field("end", "is in the past: the sanction would deny nothing")
	}
	if err := mayActOn(ctx, sn.Authority); err != nil {
		return nil, err
	}
	var p *Policy
	if sn.Policy != "" {
		var err error
		if p, err = s.policyOf(ctx, "policy", sn.Policy); err != nil {
			return nil, err
		}
	}
	sn.ID = uuid.Must(uuid.NewV7()).String()
	sn.Author = principal.FromContext(ctx)
	sn.CreatedAt, sn.UpdatedAt = now, now
	sn.Strike, sn.Lifted = nil, nil
	err := s.write(ctx, Created, sn, p, func(ctx context.Context, seq int64) error {
		if err := s.checkAccounts(ctx, sn); err != nil {
			return err
		}
		return s.store.Insert(ctx, sn, seq)
	}, audit.Change{Action: "sanction.create", Subject: sn.Account, Value: sn})
	if err != nil {
		return nil, err
	}
	return sn, nil
}

// checkAccounts returns errs.NotFound, naming the field, unless sn's account exists and so
// does the account its via names, and errs.Invalid unless the two are linked: a typo must
// not sanction nobody, nor a sanction reach an account it has no link to.
func (s *Service) checkAccounts(ctx context.Context, sn *Sanction) error {
	target, err := s.accounts.Get(ctx, sn.Account)
	if errs.CodeOf(err) == errs.NotFound {
		return notFound("account", "no account %q; create it with PUT /v1/accounts/%s first", sn.Account, sn.Account)
	}
	if err != nil || sn.Via == nil {
		return err
	}
	from, err := s.accounts.Get(ctx, sn.Via.Account)
	if errs.CodeOf(err) == errs.NotFound {
		return notFound("via.account", "no account %q", sn.Via.Account)
	}
	if err != nil {
		return err
	}
	if !linked(target, from.ID) && !linked(from, target.ID) {
		return errs.Field("via.account", "%q is not linked to %q: a sanction reaches only a linked account", from.ID, target.ID)
	}
	return nil
}

// linked reports whether a lists account among its linked accounts.
func linked(a *accounts.Account, account string) bool {
	return slices.ContainsFunc(a.Linked, func(l accounts.Link) bool { return l.Account == account })
}

// notFound is an errs.NotFound whose message names the field whose value found nothing.
func notFound(field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &errs.Error{Code: errs.NotFound, Message: field + ": " + msg, Fields: []errs.FieldError{{Field: field, Message: msg}}}
}

// StrikeRequest is a strike against an account under a policy.
type StrikeRequest struct {
	Account  string   `json:"account"`
	Policy   string   `json:"policy"`
	Evidence []string `json:"evidence"`
	Detail   string   `json:"detail"`
}

// Strike imposes the next step of the policy's ladder on the account, given its strikes
// under the policy that still count, and returns the sanction it made. Returns
// errs.Invalid naming the fields at fault (an unknown policy among them).
func (s *Service) Strike(ctx context.Context, r StrikeRequest) (*Sanction, error) {
	var fs errs.Fields
	if !accounts.ValidID(r.Account) {
		fs.Add("account", "must be %s", accounts.IDRule)
	}
	if !ValidCode(r.Policy) {
		fs.Add("policy", "is required: %s", CodeRule)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	p, err := s.policyOf(ctx, "policy", r.Policy)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	actor := principal.FromContext(ctx)
	sn := &Sanction{
		ID: uuid.Must(uuid.NewV7()).String(), Account: r.Account, Start: now,
		ReasonCode: p.ReasonCode, Policy: p.ID, Detail: r.Detail, Evidence: r.Evidence,
		Authority: authority.Authority{Kind: authority.Policy}, Source: FromStrike, Author: actor,
		CreatedAt: now, UpdatedAt: now,
	}
	// Checked before the step is known, so bad input fails before the transaction.
	sn.Kind, sn.Scope = p.sanctionFor(Step{Kind: Warning})
	sn.normalize()
	if err := sn.validate(); err != nil {
		return nil, err
	}
	err = s.write(ctx, Created, sn, p, func(ctx context.Context, seq int64) error {
		if err := s.checkAccounts(ctx, sn); err != nil {
			return err
		}
		// After NextSeq: strikes on one account are counted one transaction at a time.
		n, err := s.store.CountStrikes(ctx, sn.Account, p.ID, now)
		if err != nil {
			return err
		}
		i, step := p.StepAt(n)
		sn.Kind, sn.Scope = p.sanctionFor(step)
		sn.End = nil
		if step.Duration > 0 {
			end := now.Add(step.Duration)
			sn.End = &end
		}
		sn.Strike = &Strike{Step: i, Until: now.Add(time.Duration(p.StrikeLifetime))}
		return s.store.Insert(ctx, sn, seq)
	}, audit.Change{Action: "sanction.create", Subject: sn.Account, Value: sn})
	if err != nil {
		return nil, err
	}
	return sn, nil
}

// LiftRequest ends a sanction now.
type LiftRequest struct {
	Reason string `json:"reason"`
	// Wrongful says the sanction should never have been imposed: its strike, if it
	// is one, counts no more.
	Wrongful bool `json:"wrongful"`
}

// Lift ends the sanction now. A sanction that has ended may still be lifted as wrongful,
// to withdraw its strike. Returns errs.Invalid for a malformed ID or reason,
// errs.NotFound, errs.Conflict when it was lifted already or has ended (and the lift is
// not wrongful), and errs.Forbidden when the caller may not act on its authority.
func (s *Service) Lift(ctx context.Context, id string, r LiftRequest) (*Sanction, error) {
	if err := CheckSanctionID("id", id); err != nil {
		return nil, err
	}
	if r.Reason == "" || len(r.Reason) > MaxText {
		return nil, errs.Field("reason", "is required, at most %d bytes", MaxText)
	}
	return s.change(ctx, id, Lifted, "sanction.lift", func(sn *Sanction, now time.Time) (any, error) {
		if sn.Lifted != nil {
			return nil, errs.E(errs.Conflict, "sanction %s was lifted already, at %s", sn.ID, sn.Lifted.At.Format(time.RFC3339))
		}
		if !sn.ActiveAt(now) && !r.Wrongful && !now.Before(sn.Start) {
			return nil, errs.E(errs.Conflict, "sanction %s has ended; lift it as wrongful to withdraw it", sn.ID)
		}
		actor := principal.FromContext(ctx)
		sn.Lifted = &Lift{At: now, Reason: r.Reason, Wrongful: r.Wrongful, By: actor}
		if r.Wrongful && sn.Strike != nil {
			sn.Strike.Withdrawn = true
		}
		return struct {
			Sanction string `json:"sanction"`
			LiftRequest
		}{sn.ID, r}, nil
	})
}

// Amend moves the end of a restriction or suspension, shortening or extending it.
// Returns errs.Invalid for a malformed ID or an end not in the future, errs.NotFound,
// errs.Conflict for a ban, a warning, or a sanction lifted or ended, and errs.Forbidden
// when the caller may not act on its authority.
func (s *Service) Amend(ctx context.Context, id string, end time.Time) (*Sanction, error) {
	if err := CheckSanctionID("id", id); err != nil {
		return nil, err
	}
	end = end.UTC()
	switch {
	case end.IsZero():
		return nil, errs.Field("end", "is required (RFC 3339)")
	case !end.After(s.now()):
		return nil, errs.Field("end", "must be in the future; lift the sanction to end it now")
	case end.After(maxTime):
		return nil, errs.Field("end", "must be before 2261-12-31")
	}
	return s.change(ctx, id, Amended, "sanction.amend", func(sn *Sanction, now time.Time) (any, error) {
		switch {
		case sn.Kind == Ban || sn.Kind == Warning:
			return nil, errs.E(errs.Conflict, "a %s has no end to amend; lift it instead", sn.Kind)
		case sn.Lifted != nil:
			return nil, errs.E(errs.Conflict, "sanction %s was lifted", sn.ID)
		case !sn.ActiveAt(now) && !now.Before(sn.Start):
			return nil, errs.E(errs.Conflict, "sanction %s has ended; impose a new one", sn.ID)
		case !end.After(sn.Start):
			return nil, errs.Field("end", "must be after the sanction's start, %s", sn.Start.Format(time.RFC3339))
		}
		sn.End = &end
		return struct {
			Sanction string    `json:"sanction"`
			End      time.Time `json:"end"`
		}{sn.ID, end}, nil
	})
}

// change reads a sanction inside a write transaction, lets edit change it (answering
// the audit record's value), and writes it back.
func (s *Service) change(ctx context.Context, id string, ev Event, action string, edit func(sn *Sanction, now time.Time) (any, error)) (*Sanction, error) {
	var out *Sanction
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		// The sequence first: changes to one sanction are read and written one
		// transaction at a time.
		seq, err := s.store.NextSeq(ctx)
		if err != nil {
			return err
		}
		sn, err := s.store.Get(ctx, id)
		if err != nil {
			return err
		}
		if err := mayActOn(ctx, sn.Authority); err != nil {
			return err
		}
		now := s.now().UTC()
		v, err := edit(sn, now)
		if err != nil {
			return err
		}
		sn.UpdatedAt = now
		if err := s.store.Update(ctx, sn, seq); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, audit.Change{Action: action, Subject: sn.Account, Value: v}); err != nil {
			return err
		}
		if err := s.announced(ctx, ev, sn, now); err != nil {
			return err
		}
		s.applyAfterCommit(ctx, sn, seq)
		out = sn
		return nil
	})
	return out, err
}

// write stores a new sanction with put inside a write transaction, with its audit
// record and announcement, and puts it into the index once it commits.
func (s *Service) write(ctx context.Context, ev Event, sn *Sanction, p *Policy, put func(ctx context.Context, seq int64) error, rec audit.Change) error {
	return s.tx.Write(ctx, func(ctx context.Context) error {
		seq, err := s.store.NextSeq(ctx)
		if err != nil {
			return err
		}
		if err := put(ctx, seq); err != nil {
			return err
		}
		if err := s.audit.Record(ctx, rec); err != nil {
			return err
		}
		if s.announce != nil {
			// Inside the transaction: put may set the sanction's kind and end (a strike).
			if err := s.announceNow(ctx, Change{Event: ev, Sanction: sn, Policy: p, At: sn.UpdatedAt, AppealURL: s.AppealURL(sn.ID)}); err != nil {
				return err
			}
		}
		s.applyAfterCommit(ctx, sn, seq)
		return nil
	})
}

// announced announces a change to an existing sanction, with its policy.
func (s *Service) announced(ctx context.Context, ev Event, sn *Sanction, now time.Time) error {
	if s.announce == nil {
		return nil
	}
	var p *Policy
	if sn.Policy != "" {
		var err error
		p, err = s.store.GetPolicy(ctx, sn.Policy)
		if err != nil && errs.CodeOf(err) != errs.NotFound {
			return err
		}
	}
	return s.announceNow(ctx, Change{Event: ev, Sanction: sn, Policy: p, At: now, AppealURL: s.AppealURL(sn.ID)})
}

// announceNow prepares and writes the announcements of cs inside the caller's write
// transaction, for changes only known inside it.
func (s *Service) announceNow(ctx context.Context, cs ...Change) error {
	a, err := s.announce.Prepare(ctx, cs...)
	if err != nil {
		return err
	}
	return a.Write(ctx)
}

// applyAfterCommit puts the sanction as written at seq into the index once the write
// commits: a decision made after the API answered sees it. (The Follower would bring
// it too, a moment later.)
func (s *Service) applyAfterCommit(ctx context.Context, sn *Sanction, seq int64) {
	e := EntryOf(sn, seq)
	e.Services, e.Capabilities = slices.Clone(e.Services), slices.Clone(e.Capabilities)
	s.tx.AfterCommit(ctx, func() { s.index.Apply(s.now().UnixNano(), e) })
}

// Standing returns the sanctions that deny account something now, as the decision index
// holds them (every process's within a second), read in full from the store, newest
// first: what the account's holder is told of their standing. Returns errs.Invalid for
// a malformed account ID.
func (s *Service) Standing(ctx context.Context, account string) ([]*Sanction, error) {
	if err := accounts.CheckID("account", account); err != nil {
		return nil, err
	}
	entries := s.index.Active(account, s.Now())
	out := make([]*Sanction, 0, len(entries))
	for _, e := range entries {
		sn, err := s.store.Get(ctx, e.Sanction)
		if err != nil {
			return nil, err
		}
		out = append(out, sn)
	}
	slices.SortFunc(out, func(a, b *Sanction) int { return strings.Compare(b.ID, a.ID) })
	return out, nil
}
