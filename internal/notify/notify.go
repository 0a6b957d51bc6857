// Package notify tells users what Steward did to their accounts: every sanction, amendment
// and lift produces a notice in the account's locale (zh-CN or en) saying what is
// restricted, why, until when, what still works and how to appeal. Notices are written
// in the same transaction as the change they tell of.
//
// Messages are text/template files, one per locale, in messages/: translators edit whole
// sentences in their own file, with their own word order and date format, rather than
// fragments glued together in code.
package notify

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
)

// Notice is one message to the holder of an account.
type Notice struct {
	ID        string        `json:"id"`
	Account   string        `json:"account"`
	Event     enforce.Event `json:"event"`
	Sanction  string        `json:"sanction"`
	Locale    string        `json:"locale"`
	Subject   string        `json:"subject"`
	Body      string        `json:"body"`
	CreatedAt time.Time     `json:"created_at"`
}

// Store keeps notices. Insert must be called inside a write transaction (see package txn).
type Store interface {
	// Insert stores new notices.
	Insert(ctx context.Context, ns ...*Notice) error
	// List returns up to limit notices of account, newest first, starting after the
	// notice with ID after (from the newest when empty).
	List(ctx context.Context, account, after string, limit int) ([]*Notice, error)
}

// Notifier writes a notice for every sanction change. It implements enforce.Announcer.
type Notifier struct {
	store    Store
	outbox   Outbox // nil: no webhooks
	accounts accounts.Store
	messages *Messages
	fallback string // locale for accounts Steward does not know
}

var _ enforce.Announcer = (*Notifier)(nil)

// NewNotifier returns a Notifier that stores notices in store, in the locale of the
// account as accounts holds it, or in fallback for an account it does not hold, and
// puts the events of each change in outbox for webhooks (none when outbox is nil).
func NewNotifier(store Store, outbox Outbox, accts accounts.Store, fallback string) *Notifier {
	return &Notifier{store: store, outbox: outbox, accounts: accts, messages: MustMessages(), fallback: fallback}
}

// Prepare renders the notice of each change in its account's locale, but for a quiet
// change, and makes the webhook events some webhook subscribes to, a quiet change's
// included; the Announcement it returns stores them, inside the changes' write
// transaction, with one statement per table (per few hundred rows). Like changes (a
// bulk action's batch) share one rendering.
func (n *Notifier) Prepare(ctx context.Context, cs ...enforce.Change) (enforce.Announcement, error) {
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		if !c.Quiet {
			ids = append(ids, c.Sanction.Account)
		}
	}
	var locales map[string]string
	if len(ids) > 0 {
		var err error
		if locales, err = n.accounts.Locales(ctx, ids); err != nil {
			return nil, err
		}
	}
	a := &announcement{n: n, changes: cs, notices: make([]*Notice, len(cs))}
	r := n.messages.renderer()
	for i, c := range cs {
		if c.Quiet {
			continue
		}
		locale, ok := locales[c.Sanction.Account]
		if !ok {
			locale = n.fallback
		}
		subject, body, locale, err := r.render(locale, c)
		if err != nil {
			return nil, err
		}
		a.notices[i] = &Notice{
			ID: uuid.Must(uuid.NewV7()).String(), Account: c.Sanction.Account, Event: c.Event, Sanction: c.Sanction.ID,
			Locale: locale, Subject: subject, Body: body, CreatedAt: c.At.UTC(),
		}
	}
	if n.outbox == nil {
		return a, nil
	}
	// Events for the webhooks there are now; Write adds any a new webhook wants.
	want, err := n.outbox.Subscribed(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.makeEvents(want); err != nil {
		return nil, err
	}
	return a, nil
}

// announcement is what Prepare made: a notice for each change (nil for a quiet one)
// and, of the events each change makes (its own, then its notice's), those made so far.
type announcement struct {
	n       *Notifier
	changes []enforce.Change
	notices []*Notice
	events  [][2]*Event // by change
}

// makeEvents makes the events of the types in want not made yet.
func (a *announcement) makeEvents(want map[string]bool) error {
	if a.events == nil {
		a.events = make([][2]*Event, len(a.changes))
	}
	for i, c := range a.changes {
		ev := &a.events[i]
		notice := a.notices[i]
		if ev[0] == nil && want[string(c.Event)] {
			e, err := newEvent(string(c.Event), c.Sanction.Account, c.At.UTC(), map[string]any{"sanction": c.Sanction})
			if err != nil {
				return err
			}
			ev[0] = e
		}
		if ev[1] == nil && notice != nil && want[NoticeCreated] {
			e, err := newEvent(NoticeCreated, notice.Account, notice.CreatedAt, map[string]any{"notice": notice})
			if err != nil {
				return err
			}
			ev[1] = e
		}
	}
	return nil
}

func (a *announcement) Write(ctx context.Context) error {
	notices := make([]*Notice, 0, len(a.notices))
	for _, n := range a.notices {
		if n != nil {
			notices = append(notices, n)
		}
	}
	if len(notices) > 0 {
		if err := a.n.store.Insert(ctx, notices...); err != nil {
			return err
		}
	}
	if a.n.outbox == nil {
		return nil
	}
	want, err := a.n.outbox.Subscribed(ctx)
	if err != nil || len(want) == 0 {
		return err
	}
	if err := a.makeEvents(want); err != nil {
		return err
	}
	events := make([]*Event, 0, 2*len(a.events))
	for _, ev := range a.events {
		for _, e := range ev {
			if e != nil && want[e.Type] {
				events = append(events, e)
			}
		}
	}
	return a.n.outbox.Enqueue(ctx, events...)
}

func newEvent(typ, account string, at time.Time, data any) (*Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return &Event{ID: uuid.Must(uuid.NewV7()).String(), Type: typ, Account: account, Time: at, Data: b}, nil
}

// List returns up to limit notices of account, newest first, after the notice with ID
// after. Returns errs.Invalid for a malformed account ID or cursor.
func (n *Notifier) List(ctx context.Context, account, after string, limit int) ([]*Notice, error) {
	if err := accounts.CheckID("id", account); err != nil {
		return nil, err
	}
	if after != "" {
		if _, err := uuid.Parse(after); err != nil || len(after) != 36 {
			return nil, errs.Field("cursor", "is not a cursor this API gave out")
		}
	}
	return n.store.List(ctx, account, after, limit)
}
