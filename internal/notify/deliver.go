package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/txn"
)

// Dispatcher delivers outbox events to webhooks as CloudEvents 1.0 (structured JSON
// mode), signed, at least once and in outbox order, so in order per account. Each
// webhook has its own worker, so a dead receiver holds back only its own events, and
// never an API request: the outbox is written in the change's transaction and read
// here, apart from it. With several processes, a lease gives each webhook one worker.
type Dispatcher struct {
	store  WebhookStore
	tx     txn.Runner
	client *http.Client
	log    *slog.Logger
	owner  string
	now    func() time.Time

	// Poll is how often workers look for new events and webhooks.
	Poll time.Duration
	// Backoff is the first wait after a failure; it doubles up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// GiveUp is how long after an event was written it is still retried.
	GiveUp time.Duration
	// Source is the CloudEvents source attribute.
	Source string
}

// Lease is how long a worker holds its webhook without renewing.
const Lease = 30 * time.Second

// NewDispatcher returns a dispatcher over store with the defaults: retries from one
// second, doubling up to ten minutes, for a day.
func NewDispatcher(store WebhookStore, tx txn.Runner, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{
		store: store, tx: tx, log: log, owner: uuid.Must(uuid.NewV7()).String(), now: time.Now,
		client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirects},
		Poll:   time.Second, Backoff: time.Second, MaxBackoff: 10 * time.Minute, GiveUp: 24 * time.Hour,
		Source: "steward",
	}
}

// Run starts a worker for every webhook, and for new ones as they appear, until ctx
// ends, and then returns nil once they have stopped.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	running := map[string]bool{}
	tick := time.NewTicker(d.Poll)
	defer tick.Stop()
	for {
		hooks, err := d.store.Webhooks(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("webhooks: listing failed", "err", err)
		}
		for _, w := range hooks {
			if !running[w.Name] {
				running[w.Name] = true
				wg.Add(1)
				go func() { defer wg.Done(); d.work(ctx, w.Name) }()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// work delivers the events of one webhook while this process holds its lease.
func (d *Dispatcher) work(ctx context.Context, name string) {
	attempt := 0 // failed attempts at the current event
	var leased time.Time
	var cursor int64
	for ctx.Err() == nil {
		wait := d.Poll
		if d.now().Sub(leased) > Lease/3 {
			c, held, err := d.lease(ctx, name)
			if err != nil || !held {
				sleep(ctx, d.Poll)
				continue
			}
			cursor, leased = c, d.now()
		}
		w, err := d.store.GetWebhook(ctx, name)
		if err != nil {
			sleep(ctx, d.Poll)
			continue
		}
		events, err := d.store.Pending(ctx, cursor, 100)
		if err != nil {
			sleep(ctx, d.Poll)
			continue
		}
		for _, e := range events {
			if !slices.Contains(w.Events, e.Type) {
				cursor = e.Seq
				continue
			}
			d2 := d.deliver(ctx, w, e, attempt+1)
			next := int64(0)
			switch d2.Outcome {
			case Delivered, Abandoned:
				next, attempt = e.Seq, 0
			default:
				attempt++
			}
			if err := d.tx.Write(ctx, func(ctx context.Context) error { return d.store.Record(ctx, d.owner, d2, next) }); err != nil {
				d.log.Warn("webhooks: recording a delivery failed", "webhook", name, "err", err)
			}
			if next == 0 {
				wait = min(d.Backoff<<min(attempt-1, 30), d.MaxBackoff)
				break
			}
			cursor = next
		}
		if len(events) > 0 && attempt == 0 {
			d.advance(ctx, name, cursor) // past events this webhook does not take
			if len(events) == 100 {
				continue
			}
		}
		sleep(ctx, wait)
	}
}

func (d *Dispatcher) lease(ctx context.Context, name string) (cursor int64, held bool, err error) {
	err = d.tx.Write(ctx, func(ctx context.Context) error {
		now := d.now()
		cursor, held, err = d.store.Lease(ctx, name, d.owner, now, now.Add(Lease))
		return err
	})
	return cursor, held, err
}

func (d *Dispatcher) advance(ctx context.Context, name string, cursor int64) {
	err := d.tx.Write(ctx, func(ctx context.Context) error { return d.store.Advance(ctx, name, d.owner, cursor) })
	if err != nil && ctx.Err() == nil {
		d.log.Warn("webhooks: advancing failed", "webhook", name, "err", err)
	}
}

// cloudEvent is the structured-mode JSON of a CloudEvents 1.0 event.
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data"`
}

// Sign returns the Steward-Signature header of body sent at t with secret.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// deliver makes one attempt at delivering e to w and says how it went.
func (d *Dispatcher) deliver(ctx context.Context, w *Webhook, e *Event, attempt int) *Delivery {
	start := d.now()
	rec := &Delivery{ID: uuid.Must(uuid.NewV7()).String(), Webhook: w.Name, Event: e.ID, EventType: e.Type,
		Account: e.Account, Attempt: attempt, At: start.UTC()}
	body, _ := json.Marshal(cloudEvent{SpecVersion: "1.0", ID: e.ID, Source: d.Source, Type: e.Type, Subject: e.Account,
		Time: e.Time, DataContentType: "application/json", Data: e.Data})
	req, err := http.NewRequestWithContext(ctx, "POST", w.URL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/cloudevents+json")
		req.Header.Set("Steward-Signature", Sign(w.Secret, start, body))
		var resp *http.Response
		if resp, err = d.client.Do(req); err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			rec.Status = resp.StatusCode
			switch {
			case resp.StatusCode/100 == 3:
				err = fmt.Errorf("the receiver answered %s to Location %q; redirects are not followed", resp.Status, resp.Header.Get("Location"))
			case resp.StatusCode/100 != 2:
				err = fmt.Errorf("the receiver answered %s", resp.Status)
			}
		}
	}
	rec.Duration = d.now().Sub(start)
	switch {
	case err == nil:
		rec.Outcome = Delivered
	case d.now().Sub(e.Time) > d.GiveUp:
		rec.Outcome, rec.Error = Abandoned, err.Error()
	default:
		rec.Outcome, rec.Error = Retrying, err.Error()
	}
	return rec
}

// noRedirects makes a 3xx the answer to a delivery: following it would turn the POST
// into a bodiless GET (301, 302, 303) that a receiver's 200 would have us count as
// delivered. A receiver that moved is told by its URL, not by a redirect.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
