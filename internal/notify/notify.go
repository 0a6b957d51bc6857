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

// Announce renders and stores the notice of each change, and puts its events in the
// outbox, inside the changes' write transaction. A batch is written with one statement
// per table (per few hundred rows).
func (n *Notifier) Announce(ctx context.Context, cs ...enforce.Change) error {
	notices := make([]*Notice, 0, len(cs))
	events := make([]*Event, 0, 2*len(cs))
	for _, c := range cs {
		locale := n.fallback
		a, err := n.accounts.Get(ctx, c.Sanction.Account)
		switch {
		case err == nil:
			locale = a.Locale
		case errs.CodeOf(err) != errs.NotFound:
			return err
		}
		subject, body, locale, err := n.messages.Render(locale, c)
		if err != nil {
			return err
		}
		notice := &Notice{
			ID: uuid.Must(uuid.NewV7()).String(), Account: c.Sanction.Account, Event: c.Event, Sanction: c.Sanction.ID,
			Locale: locale, Subject: subject, Body: body, CreatedAt: c.At.UTC(),
		}
		notices = append(notices, notice)
		if n.outbox == nil {
			continue
		}
		change, err := newEvent(string(c.Event), notice.Account, notice.CreatedAt, map[string]any{"sanction": c.Sanction})
		if err != nil {
			return err
		}
		told, err := newEvent(NoticeCreated, notice.Account, notice.CreatedAt, map[string]any{"notice": notice})
		if err != nil {
			return err
		}
		events = append(events, change, told)
	}
	if err := n.store.Insert(ctx, notices...); err != nil {
		return err
	}
	if n.outbox == nil {
		return nil
	}
	return n.outbox.Enqueue(ctx, events...)
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
