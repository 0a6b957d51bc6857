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
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/txn"
)

// Dispatcher delivers outbox events to webhooks as CloudEvents 1.0 (structured JSON
// mode), signed, at least once and in order per account. Each webhook has its own
// worker, so a dead receiver holds back only its own events, and never an API request:
// the outbox is written in the change's transaction and read here, apart from it. With
// several processes, a lease gives each webhook one worker.
//
// A worker reads the outbox in order. An event that fails is held, with every later
// event of its account behind it, and retried with backoff; other accounts' events go on
// being delivered. Held events and the cursor are in the store, so a restart, or another
// process taking the lease, carries on where the last left off.
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

// downAfter is how many new events, of as many accounts, must fail in a row for a worker
// to take the receiver for down and back off as a whole, rather than send it every
// account's next event.
const downAfter = 3

// pageSize is how many events a worker reads at a time.
const pageSize = 100

// NewDispatcher returns a dispatcher over store, connecting only to addresses reach
// allows (a refused address is a failed attempt), with the defaults: retries from one
// second, doubling up to ten minutes, for a day.
func NewDispatcher(store WebhookStore, tx txn.Runner, reach Reach, log *slog.Logger) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{
		store: store, tx: tx, log: log, owner: uuid.Must(uuid.NewV7()).String(), now: time.Now,
		client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirects, Transport: reach.transport()},
		Poll:   time.Second, Backoff: time.Second, MaxBackoff: 10 * time.Minute, GiveUp: 24 * time.Hour,
		Source: "steward",
	}
}

// Run starts a worker for every webhook, and for new ones as they appear, until ctx
// ends, and then returns nil once they have stopped. The worker of a webhook deleted
// (or deleted and made again) is stopped, within Poll.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	type running struct {
		created time.Time // which webhook of the name it delivers
		stop    context.CancelFunc
		done    chan struct{}
	}
	workers := map[string]*running{}
	tick := time.NewTicker(d.Poll)
	defer tick.Stop()
	for {
		hooks, err := d.store.Webhooks(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("webhooks: listing failed", "err", err)
		}
		listed := map[string]time.Time{}
		for _, w := range hooks {
			listed[w.Name] = w.CreatedAt
		}
		for name, r := range workers {
			if created, ok := listed[name]; err == nil && (!ok || !created.Equal(r.created)) {
				r.stop()
			}
			select {
			case <-r.done: // the next webhook of the name, if any, gets a worker of its own
				delete(workers, name)
			default:
			}
		}
		for _, w := range hooks {
			if workers[w.Name] == nil {
				wctx, stop := context.WithCancel(ctx)
				r := &running{created: w.CreatedAt, stop: stop, done: make(chan struct{})}
				workers[w.Name] = r
				wg.Add(1)
				go func() { defer wg.Done(); defer close(r.done); defer stop(); d.work(wctx, w) }()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// worker is the state of one webhook's delivery while this process holds its lease.
type worker struct {
	*Dispatcher
	hook   *Webhook
	cursor int64 // see WebhookStore.Lease
	failed int   // new events that failed in a row
	down   int   // rounds in a row that ended with the receiver taken for down
}

// work delivers the events of one webhook while this process holds its lease, and hands
// the lease over when ctx ends. It returns when the webhook is gone, or replaced by
// another of the same name.
func (d *Dispatcher) work(ctx context.Context, of *Webhook) {
	name := of.Name
	w := &worker{Dispatcher: d}
	var leased time.Time
	mine := false // whether this process holds the lease
	defer func() {
		if mine { // hand the webhook over: another process may carry on at once
			w.write(ctx, func(ctx context.Context) error {
				now := d.now()
				_, _, err := w.store.Lease(ctx, name, d.owner, now, now)
				return err
			})
		}
	}()
	for ctx.Err() == nil {
		if d.now().Sub(leased) > Lease/3 {
			c, held, err := d.lease(ctx, name)
			if errs.CodeOf(err) == errs.NotFound {
				return
			}
			if mine = err == nil && held; !mine {
				sleep(ctx, d.Poll)
				continue
			}
			w.cursor, leased = c, d.now()
		}
		hook, err := d.store.GetWebhook(ctx, name)
		if errs.CodeOf(err) == errs.NotFound || err == nil && !hook.CreatedAt.Equal(of.CreatedAt) {
			return
		}
		if err != nil {
			sleep(ctx, d.Poll)
			continue
		}
		w.hook = hook
		retried, err := w.retry(ctx)
		var scanned bool
		if err == nil {
			scanned, err = w.scan(ctx)
		}
		switch {
		case err != nil:
			if ctx.Err() == nil {
				d.log.Warn("webhooks: recording deliveries failed", "webhook", name, "err", err)
			}
			leased = time.Time{} // read the cursor again: the store has the truth
			sleep(ctx, d.Poll)
		case w.failed >= downAfter:
			w.failed, w.down = 0, w.down+1
			sleep(ctx, d.backoff(w.down))
		case !retried && !scanned:
			sleep(ctx, d.Poll)
		}
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

// backoff is the wait after the attempt-th failure in a row.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	return min(d.Backoff<<min(attempt-1, 30), d.MaxBackoff)
}

// retry tries again the held events that are due, and says whether any left the held
// ones (so that the next of its account may be due now).
func (w *worker) retry(ctx context.Context) (settled bool, err error) {
	due, err := w.store.Due(ctx, w.hook.Name, w.now(), pageSize)
	if err != nil {
		return false, err
	}
	for _, h := range due {
		if !slices.Contains(w.hook.Events, h.Event.Type) { // unsubscribed since it was held
			if err := w.write(ctx, func(ctx context.Context) error { return w.store.Release(ctx, w.hook.Name, w.owner, h.Event, w.now()) }); err != nil {
				return settled, err
			}
			settled = true
			continue
		}
		rec := w.deliver(ctx, w.hook, h.Event, h.Attempt+1)
		if ctx.Err() != nil && rec.Outcome != Delivered {
			return settled, nil // cut short by shutdown: not an attempt to count
		}
		err = w.write(ctx, func(ctx context.Context) error {
			if err := w.store.Record(ctx, w.owner, rec, 0); err != nil {
				return err
			}
			if rec.Outcome == Retrying {
				return w.store.Hold(ctx, w.hook.Name, w.owner, &Held{Event: h.Event, Attempt: rec.Attempt, Next: w.now().Add(w.backoff(rec.Attempt))})
			}
			return w.store.Release(ctx, w.hook.Name, w.owner, h.Event, w.now())
		})
		if err != nil {
			return settled, err
		}
		if rec.Outcome == Delivered {
			w.failed, w.down = 0, 0 // the receiver is up
		}
		settled = settled || rec.Outcome != Retrying
	}
	return settled, nil
}

// scan delivers the events after the cursor, holding those of accounts with an event
// held already and those that fail, and says whether it read a full page (so that
// more may be waiting). It stops early when the receiver looks down.
func (w *worker) scan(ctx context.Context) (full bool, err error) {
	events, err := w.store.Pending(ctx, w.cursor, pageSize)
	if err != nil {
		return false, err
	}
	var accounts []string
	for _, e := range events {
		accounts = append(accounts, e.Account)
	}
	holding, err := w.store.Holding(ctx, w.hook.Name, accounts)
	if err != nil {
		return false, err
	}
	var behind []*Held // events to hold behind their account's, written with the next record
	cursor := w.cursor
	for _, e := range events {
		if w.failed >= downAfter {
			break
		}
		if !slices.Contains(w.hook.Events, e.Type) {
			cursor = e.Seq
			continue
		}
		if holding[e.Account] {
			behind, cursor = append(behind, &Held{Event: e}), e.Seq
			continue
		}
		rec := w.deliver(ctx, w.hook, e, 1)
		if ctx.Err() != nil && rec.Outcome != Delivered {
			break // cut short by shutdown: not an attempt to count
		}
		err = w.write(ctx, func(ctx context.Context) error {
			held := behind
			if rec.Outcome == Retrying {
				held = append(held, &Held{Event: e, Attempt: 1, Next: w.now().Add(w.backoff(1))})
			}
			if err := w.store.Hold(ctx, w.hook.Name, w.owner, held...); err != nil {
				return err
			}
			return w.store.Record(ctx, w.owner, rec, e.Seq)
		})
		if err != nil {
			return false, err
		}
		behind, cursor, w.cursor = nil, e.Seq, e.Seq
		switch rec.Outcome {
		case Delivered:
			w.failed, w.down = 0, 0
		case Retrying:
			w.failed++
			holding[e.Account] = true
		}
	}
	if cursor > w.cursor {
		err = w.write(ctx, func(ctx context.Context) error {
			if err := w.store.Hold(ctx, w.hook.Name, w.owner, behind...); err != nil {
				return err
			}
			return w.store.Advance(ctx, w.hook.Name, w.owner, cursor)
		})
		if err != nil {
			return false, err
		}
		w.cursor = cursor
	}
	return len(events) == pageSize && w.failed < downAfter, nil
}

// write runs f in a write transaction that a shutdown does not cut short: an attempt the
// receiver has answered is recorded, so that it is not made again after a restart.
func (w *worker) write(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return w.tx.Write(ctx, f)
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
				err = fmt.Errorf("the receiver answered %s to Location %q; redirects are not followed", resp.Status, clip(resp.Header.Get("Location"), 512))
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

// clip shortens s, from the receiver, to at most n bytes for the delivery history.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
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
