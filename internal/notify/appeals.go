package notify

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/enforce"
)

var _ appeals.Announcer = (*Notifier)(nil)

// appealView is what the appeal templates see.
type appealView struct {
	Event        string
	Appeal       string
	Kind         string // the sanction's kind
	Outcome      string
	Note         string
	DueAt        time.Time
	Rescreen     bool
	Withdrawn    bool
	SecondReview bool // an upheld first round may ask for a second
}

// appealNotices are the appeal events the user is told of; the rest (a release, an
// overturn, a reduction) reach them as the sanction's own lift or amend notice.
func appealNotice(c appeals.Change) bool {
	switch c.Event {
	case appeals.EventCreated, appeals.EventReopened, appeals.EventClosed:
		return true
	case appeals.EventDecided:
		return c.Appeal.Outcome == appeals.Uphold
	}
	return false
}

// AnnounceAppeals implements appeals.Announcer: a notice in the account's locale for
// what the user must hear of, and the webhook events, inside the change's transaction.
func (n *Notifier) AnnounceAppeals(ctx context.Context, cs ...appeals.Change) error {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.Appeal.Account)
	}
	locales, err := n.accounts.Locales(ctx, ids)
	if err != nil {
		return err
	}
	var want map[string]bool
	if n.outbox != nil {
		if want, err = n.outbox.Subscribed(ctx); err != nil {
			return err
		}
	}
	var notices []*Notice
	var events []*Event
	for _, c := range cs {
		a := c.Appeal
		if appealNotice(c) {
			locale, ok := locales[a.Account]
			if !ok {
				locale = n.fallback
			}
			v := appealView{Event: c.Event, Appeal: a.ID, Kind: string(a.SanctionKind), Outcome: string(a.Outcome), Note: a.Note, DueAt: a.DueAt,
				Rescreen: a.Rescreen, Withdrawn: a.State == appeals.Withdrawn, SecondReview: a.Round == 1}
			subject, body, used, err := n.messages.renderAppeal(locale, v)
			if err != nil {
				return err
			}
			nt := &Notice{ID: uuid.Must(uuid.NewV7()).String(), Account: a.Account, Event: enforce.Event(c.Event), Sanction: a.Sanction,
				Locale: used, Subject: subject, Body: body, CreatedAt: c.At.UTC()}
			notices = append(notices, nt)
			if want[NoticeCreated] {
				e, err := newEvent(NoticeCreated, a.Account, nt.CreatedAt, map[string]any{"notice": nt})
				if err != nil {
					return err
				}
				events = append(events, e)
			}
		}
		if want[c.Event] {
			e, err := newEvent(c.Event, a.Account, c.At.UTC(), map[string]any{"appeal": a})
			if err != nil {
				return err
			}
			events = append(events, e)
		}
	}
	if len(notices) > 0 {
		if err := n.store.Insert(ctx, notices...); err != nil {
			return err
		}
	}
	if len(events) > 0 {
		return n.outbox.Enqueue(ctx, events...)
	}
	return nil
}

// renderAppeal renders an appeal notice in the locale best matching locale.
func (m *Messages) renderAppeal(locale string, v appealView) (subject, body, used string, err error) {
	tag := m.match(locale)
	t := m.sets[tag]
	var sb strings.Builder
	if err := t.ExecuteTemplate(&sb, "appeal.subject", v); err != nil {
		return "", "", "", err
	}
	subject = strings.TrimSpace(sb.String())
	sb.Reset()
	if err := t.ExecuteTemplate(&sb, "appeal.body", v); err != nil {
		return "", "", "", err
	}
	return subject, tidy(sb.String()), tag.String(), nil
}
