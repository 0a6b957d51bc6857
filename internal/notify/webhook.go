package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/reports"
	"github.com/stewardhq/steward/internal/txn"
)

// Event types a webhook may subscribe to.
const (
	NoticeCreated = "notice.created"
	SecurityAlert = "security.alert" // e.g. a reveal beyond a purpose's daily limit
)

// EventTypes lists every event type.
var EventTypes = []string{string(enforce.Created), string(enforce.Lifted), string(enforce.Amended), NoticeCreated,
	appeals.EventCreated, appeals.EventDecided, appeals.EventReleased, appeals.EventSLABreached, appeals.EventClosed, appeals.EventReopened,
	string(reports.CaseOpened), string(reports.CaseFlagged), string(reports.CaseDecided), SecurityAlert,
	string(leak.IncidentCreated), string(leak.IncidentNotifiedEvent), string(leak.IncidentDeadlineNear), string(leak.IncidentDeadlinePassed)}

// EnqueueAlert puts a security alert about subject in outbox, if a webhook receives
// them. Call it inside the transaction that records what it alerts of.
func EnqueueAlert(ctx context.Context, outbox Outbox, subject string, at time.Time, data any) error {
	want, err := outbox.Subscribed(ctx)
	if err != nil || !want[SecurityAlert] {
		return err
	}
	e, err := newEvent(SecurityAlert, subject, at, data)
	if err != nil {
		return err
	}
	return outbox.Enqueue(ctx, e)
}

// Event is one entry of the outbox: written in the transaction of the change it tells
// of, delivered to webhooks as a CloudEvent whose id is ID on every attempt.
type Event struct {
	Seq     int64           `json:"-"` // the outbox position, in commit order
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Account string          `json:"subject"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data"`
}

// Webhook is a receiver of events.
type Webhook struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Secret    string    `json:"-"` // signs every delivery; never shown
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	reachable string // the URL Webhooks.Check found the Reach allows
}

// Delivery outcomes.
const (
	Delivered = "delivered"
	Retrying  = "retrying"  // failed; it will be tried again
	Abandoned = "abandoned" // failed for longer than the retry window; skipped
)

// Delivery is one attempt to deliver an event to a webhook.
type Delivery struct {
	ID        string        `json:"id"`
	Webhook   string        `json:"webhook"`
	Event     string        `json:"event"`
	EventType string        `json:"event_type"`
	Account   string        `json:"account"`
	Attempt   int           `json:"attempt"`
	Status    int           `json:"status"` // the receiver's HTTP status; 0 when it did not answer
	Error     string        `json:"error,omitempty"`
	Outcome   string        `json:"outcome"`
	At        time.Time     `json:"at"`
	Duration  time.Duration `json:"duration_ns"`
}

// Held is an event a webhook holds back: one whose delivery failed, or one behind a
// failed event of the same account. Holding them keeps delivery in order per account
// while other accounts' events flow.
type Held struct {
	Event   *Event
	Attempt int       // failed attempts so far
	Next    time.Time // when to try again; zero while an earlier event of its account is held
}

// Outbox takes events inside the transaction of the change they tell of.
type Outbox interface {
	// Enqueue appends events to the outbox, in order.
	Enqueue(ctx context.Context, events ...*Event) error
	// Subscribed returns the event types some webhook receives: no other type needs
	// enqueuing, since a webhook created later starts after the events already there.
	// Inside a write transaction the answer holds until it commits.
	Subscribed(ctx context.Context) (map[string]bool, error)
}

// WebhookStore keeps webhooks, the outbox and delivery history. Writes must be called
// inside a write transaction (see package txn).
type WebhookStore interface {
	Outbox
	// PutWebhook creates or replaces w (keeping its delivery position) and reports
	// whether it created it. A new webhook receives events from now on.
	PutWebhook(ctx context.Context, w *Webhook) (created bool, err error)
	// GetWebhook returns the webhook. Returns errs.NotFound when there is none.
	GetWebhook(ctx context.Context, name string) (*Webhook, error)
	// Webhooks returns every webhook, in name order.
	Webhooks(ctx context.Context) ([]*Webhook, error)
	// DeleteWebhook removes the webhook with its delivery state (cursor, lease, held
	// events) and returns it as it was; its delivery history stays. Returns
	// errs.NotFound when there is none.
	DeleteWebhook(ctx context.Context, name string) (*Webhook, error)
	// Lease makes owner the one process delivering the webhook until until, unless
	// another owner holds it past now, and returns the webhook's cursor (the outbox seq
	// up to which every event is delivered, given up, held or not subscribed to). held
	// is false when another owner holds it. A lease until now hands the webhook over.
	// Returns errs.NotFound when there is no such webhook.
	Lease(ctx context.Context, name, owner string, now, until time.Time) (cursor int64, held bool, err error)
	// Pending returns up to limit outbox events after seq, in order.
	Pending(ctx context.Context, after int64, limit int) ([]*Event, error)
	// Record stores d and, when cursor > 0 and owner holds the lease, moves the
	// webhook's cursor forward to it.
	Record(ctx context.Context, owner string, d *Delivery, cursor int64) error
	// Advance moves the webhook's cursor forward to cursor, if owner holds its lease.
	Advance(ctx context.Context, name, owner string, cursor int64) error
	// Hold holds events back, or updates the retry state of ones held already, if owner
	// holds the webhook's lease.
	Hold(ctx context.Context, name, owner string, held ...*Held) error
	// Release stops holding e, delivered or given up, and makes the next held event of
	// its account due at now, if owner holds the webhook's lease.
	Release(ctx context.Context, name, owner string, e *Event, now time.Time) error
	// Due returns up to limit held events due by now, earliest first: the first held
	// event of an account, once its time to try again has come.
	Due(ctx context.Context, name string, now time.Time, limit int) ([]*Held, error)
	// Holding returns which of accounts the webhook holds events of.
	Holding(ctx context.Context, name string, accounts []string) (map[string]bool, error)
	// Deliveries returns up to limit delivery attempts of the webhook, newest first,
	// after the one with ID after (from the newest when empty), whether or not it still
	// exists.
	Deliveries(ctx context.Context, name, after string, limit int) ([]*Delivery, error)
}

// Webhooks manages webhook receivers; every change is audited.
type Webhooks struct {
	store WebhookStore
	tx    txn.Runner
	audit *audit.Recorder
	reach Reach
	now   func() time.Time
}

// NewWebhooks returns the webhook service over store, taking webhooks whose URLs reach
// allows.
func NewWebhooks(store WebhookStore, tx txn.Runner, rec *audit.Recorder, reach Reach) *Webhooks {
	return &Webhooks{store: store, tx: tx, audit: rec, reach: reach, now: time.Now}
}

var webhookName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// MinSecret is the shortest secret a webhook may have, in bytes.
const MinSecret = 16

func (w *Webhook) validate(ctx context.Context, reach Reach) error {
	var fs errs.Fields
	if !webhookName.MatchString(w.Name) {
		fs.Add("name", "must be 1 to 64 lowercase letters, digits, _ . or -, starting with a letter")
	}
	msg := checkURL(w.URL)
	if msg == "" && w.reachable != w.URL {
		msg = reach.checkHost(ctx, w.URL)
	}
	if msg != "" {
		fs.Add("url", "%s", msg)
	}
	if len(w.Secret) < MinSecret || len(w.Secret) > 256 {
		fs.Add("secret", "must be %d to 256 bytes", MinSecret)
	}
	if len(w.Events) == 0 {
		fs.Add("events", "name at least one of %q", EventTypes)
	}
	for i, e := range w.Events {
		if !slices.Contains(EventTypes, e) {
			fs.Add(fmt.Sprintf("events[%d]", i), "must be one of %q", EventTypes)
		}
	}
	return fs.Err()
}

// checkURL says what is wrong with a webhook URL, or "" when it is one deliveries can
// go to: url.Parse alone accepts a port of 99999, a space in the path and a user:password.
func checkURL(raw string) string {
	const want = "must be an absolute http or https URL with a host"
	if len(raw) > 2048 {
		return "must be at most 2048 bytes"
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return "must not contain spaces or control characters (percent-encode them)"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.Hostname() == "" {
		return want
	}
	if u.User != nil {
		return "must not hold a user name or password (the secret authenticates deliveries)"
	}
	if port := u.Port(); port != "" || strings.HasSuffix(u.Host, ":") {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "must have a port from 1 to 65535, if any"
		}
	}
	return ""
}

// Check validates w as Put does, resolving its URL's host name if it has one: call it
// before the write transaction that puts w, so that Put does not resolve it again
// inside. Returns errs.Invalid naming the fields at fault.
func (s *Webhooks) Check(ctx context.Context, w *Webhook) error {
	w.reachable = ""
	if err := w.validate(ctx, s.reach); err != nil {
		return err
	}
	w.reachable = w.URL
	return nil
}

// Put validates and creates or replaces a webhook. Returns errs.Invalid naming the
// fields at fault, among them a URL whose host the service's Reach refuses.
func (s *Webhooks) Put(ctx context.Context, w *Webhook) (created bool, err error) {
	if err := w.validate(ctx, s.reach); err != nil {
		return false, err
	}
	w.Events = slices.Compact(slices.Sorted(slices.Values(w.Events)))
	now := s.now().UTC()
	w.CreatedAt, w.UpdatedAt = now, now
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if old, err := s.store.GetWebhook(ctx, w.Name); err == nil {
			w.CreatedAt = old.CreatedAt
		}
		if created, err = s.store.PutWebhook(ctx, w); err != nil {
			return err
		}
		return s.audit.Record(ctx, w.change("webhook.put"))
	})
	return created, err
}

// change is the audit change of action on w. The secret is not in the record (nor its
// digest): only that it was set.
func (w *Webhook) change(action string) audit.Change {
	return audit.Change{Action: action, Subject: "webhook:" + w.Name, Value: struct {
		Name   string   `json:"name"`
		URL    string   `json:"url"`
		Events []string `json:"events"`
	}{w.Name, w.URL, w.Events}}
}

// List returns every webhook, in name order.
func (s *Webhooks) List(ctx context.Context) ([]*Webhook, error) {
	return s.store.Webhooks(ctx)
}

// Delete removes a webhook: its deliveries stop (a worker delivering it stops within
// its Dispatcher's Poll) and the events it held back and its place in the outbox go;
// its delivery history stays readable. Returns the webhook as it was, or errs.NotFound.
func (s *Webhooks) Delete(ctx context.Context, name string) (w *Webhook, err error) {
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if w, err = s.store.DeleteWebhook(ctx, name); err != nil {
			return err
		}
		return s.audit.Record(ctx, w.change("webhook.delete"))
	})
	return w, err
}

// Deliveries returns a page of the webhook's delivery history, newest first; a deleted
// webhook's history stays readable. Returns errs.NotFound for a webhook that does not
// exist and has no history.
func (s *Webhooks) Deliveries(ctx context.Context, name, after string, limit int) ([]*Delivery, error) {
	_, err := s.store.GetWebhook(ctx, name)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		return nil, err
	}
	list, lerr := s.store.Deliveries(ctx, name, after, limit)
	if err != nil && lerr == nil && len(list) == 0 && after == "" {
		return nil, err
	}
	return list, lerr
}
