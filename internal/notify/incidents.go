package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/leak"
)

var _ leak.IncidentAnnouncer = (*Notifier)(nil)

// incidentView is what the incident templates see.
type incidentView struct {
	Incident, Title, DataTypes             string
	DetectedAt                             time.Time
	Cause, Harm, Remedies, Advice, Contact string
}

// listSeparators join a list in each locale.
var listSeparators = map[string]string{"en": ", ", "zh-CN": "、"}

// renderIncident renders an incident's notice in the language of tag.
func (m *Messages) renderIncident(tag language.Tag, in *leak.Incident) (subject, body string, err error) {
	t := m.sets[tag]
	types := make([]string, len(in.DataTypes))
	for i, dt := range in.DataTypes {
		var sb strings.Builder
		if err := t.ExecuteTemplate(&sb, "incident.type."+dt, nil); err != nil {
			return "", "", fmt.Errorf("notify: incident data type %s in %s: %w", dt, tag, err)
		}
		types[i] = sb.String()
	}
	sep, ok := listSeparators[tag.String()]
	if !ok {
		sep = ", "
	}
	v := incidentView{Incident: in.ID, Title: in.Title, DataTypes: strings.Join(types, sep), DetectedAt: in.DetectedAt,
		Cause: in.Cause, Harm: in.Harm, Remedies: in.Remedies, Advice: in.Advice, Contact: in.Contact}
	var sb strings.Builder
	if err := t.ExecuteTemplate(&sb, "incident.subject", v); err != nil {
		return "", "", err
	}
	subject = strings.TrimSpace(sb.String())
	sb.Reset()
	if err := t.ExecuteTemplate(&sb, "incident.body", v); err != nil {
		return "", "", err
	}
	return subject, tidy(sb.String()), nil
}

// NoticeIncident implements leak.IncidentAnnouncer: a notice to each account in its
// locale of what leaked, why, what it may mean, what was done, what the user can do and
// whom to contact. Call it inside the incident's write transaction.
func (n *Notifier) NoticeIncident(ctx context.Context, in *leak.Incident, accounts []string, at time.Time) error {
	locales, err := n.accounts.Locales(ctx, accounts)
	if err != nil {
		return err
	}
	type text struct{ subject, body string }
	done := map[language.Tag]text{}
	at = at.UTC()
	notices := make([]*Notice, 0, len(accounts))
	for _, a := range accounts {
		locale, ok := locales[a]
		if !ok {
			locale = n.fallback
		}
		tag := n.messages.match(locale)
		tx, ok := done[tag]
		if !ok {
			if tx.subject, tx.body, err = n.messages.renderIncident(tag, in); err != nil {
				return err
			}
			done[tag] = tx
		}
		notices = append(notices, &Notice{ID: uuid.Must(uuid.NewV7()).String(), Account: a, Event: enforce.Event("incident.notice"),
			Locale: tag.String(), Subject: tx.subject, Body: tx.body, CreatedAt: at})
	}
	return n.store.Insert(ctx, notices...)
}

// incidentWebhook is what an incident event carries: the incident's record without its
// texts to users, and how it stands against its deadline.
type incidentWebhook struct {
	ID            string             `json:"id"`
	Title         string             `json:"title"`
	Grade         leak.IncidentGrade `json:"grade"`
	State         leak.IncidentState `json:"state"`
	Accounts      int                `json:"accounts"`
	Deadline      time.Time          `json:"deadline"`
	DeadlineState leak.DeadlineState `json:"deadline_state"`
}

// IncidentEvent implements leak.IncidentAnnouncer: the event in the outbox, when a
// webhook receives it.
func (n *Notifier) IncidentEvent(ctx context.Context, ev leak.IncidentEvent, in *leak.Incident, at time.Time) error {
	if n.outbox == nil {
		return nil
	}
	want, err := n.outbox.Subscribed(ctx)
	if err != nil || !want[string(ev)] {
		return err
	}
	at = at.UTC()
	e, err := newEvent(string(ev), "incident:"+in.ID, at, incidentWebhook{ID: in.ID, Title: in.Title, Grade: in.Grade, State: in.State,
		Accounts: in.Accounts, Deadline: in.Deadline, DeadlineState: in.DeadlineState(at)})
	if err != nil {
		return err
	}
	return n.outbox.Enqueue(ctx, e)
}
