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

// PrepareAppeals implements appeals.Announcer: a notice in the account's locale for
// what the user must hear of, and the webhook events, written inside the change's
// transaction.
func (n *Notifier) PrepareAppeals(ctx context.Context, cs ...appeals.Change) (enforce.Announcement, error) {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.Appeal.Account)
	}
	locales, err := n.accounts.Locales(ctx, ids)
	if err != nil {
		return nil, err
	}
	a := &appealAnnouncement{n: n, changes: cs}
	for _, c := range cs {
		ap := c.Appeal
		if !appealNotice(c) {
			a.notices = append(a.notices, nil)
			continue
		}
		locale, ok := locales[ap.Account]
		if !ok {
			locale = n.fallback
		}
		v := appealView{Event: c.Event, Appeal: ap.ID, Kind: string(ap.SanctionKind), Outcome: string(ap.Outcome), Note: ap.Note, DueAt: ap.DueAt,
			Rescreen: ap.Rescreen, Withdrawn: ap.State == appeals.Withdrawn, SecondReview: ap.Round == 1}
		subject, body, used, err := n.messages.renderAppeal(locale, v)
		if err != nil {
			return nil, err
		}
		a.notices = append(a.notices, &Notice{ID: uuid.Must(uuid.NewV7()).String(), Account: ap.Account, Event: enforce.Event(c.Event),
			Sanction: ap.Sanction, Locale: used, Subject: subject, Body: body, CreatedAt: c.At.UTC()})
	}
	return a, nil
}

// appealAnnouncement is what PrepareAppeals made: the notices (nil for a change without
// one); the events are made at Write, for the webhooks there are then.
type appealAnnouncement struct {
	n       *Notifier
	changes []appeals.Change
	notices []*Notice
}

func (a *appealAnnouncement) Write(ctx context.Context) error {
	var notices []*Notice
	for _, nt := range a.notices {
		if nt != nil {
			notices = append(notices, nt)
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
	var events []*Event
	for i, c := range a.changes {
		if nt := a.notices[i]; nt != nil && want[NoticeCreated] {
			e, err := newEvent(NoticeCreated, nt.Account, nt.CreatedAt, map[string]any{"notice": nt})
			if err != nil {
				return err
			}
			events = append(events, e)
		}
		if want[c.Event] {
			e, err := newEvent(c.Event, c.Appeal.Account, c.At.UTC(), map[string]any{"appeal": c.Appeal})
			if err != nil {
				return err
			}
			events = append(events, e)
		}
	}
	if len(events) == 0 {
		return nil
	}
	return a.n.outbox.Enqueue(ctx, events...)
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
