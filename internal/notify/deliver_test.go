package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// receiver is a webhook endpoint that fails its first failures requests, then accepts.
type receiver struct {
	mu       sync.Mutex
	failures int
	seen     []string // event IDs of every request, in arrival order
	accepted []string // event IDs accepted, in order
	subjects map[string]string
	bad      []string // what was wrong with a request
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev struct {
		SpecVersion, ID, Source, Type, Subject string
		Data                                   json.RawMessage
	}
	json.Unmarshal(body, &ev)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	sig := r.Header.Get("Steward-Signature")
	ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	t := time.Unix(atoi(ts), 0)
	if want := notify.Sign("0123456789abcdef-secret", t, body); sig != want || ev.SpecVersion != "1.0" ||
		r.Header.Get("Content-Type") != "application/cloudevents+json" || len(ev.Data) == 0 {
		rc.bad = append(rc.bad, string(body))
	}
	rc.seen = append(rc.seen, ev.ID)
	if rc.failures > 0 {
		rc.failures--
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if !slices.Contains(rc.accepted, ev.ID) {
		rc.accepted = append(rc.accepted, ev.ID)
		rc.subjects[ev.ID] = ev.Subject
	}
}

func atoi(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}

// A receiver that fails, then recovers, gets every event, in order per account; a
// retried event keeps its CloudEvents id; the history shows every attempt.
func TestWebhooksDeliverAfterFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := principal.NewContext(context.Background(), principal.Principal{Name: "rita", Role: principal.Reviewer})
		a := storetest.NewApp(t, db, allowPrivate)
		rc := &receiver{failures: 4, subjects: map[string]string{}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		hooks, svc, d := a.Webhooks, a.Enforce, a.Dispatcher
		if _, err := hooks.Put(ctx, &notify.Webhook{Name: "platform", URL: srv.URL, Secret: "0123456789abcdef-secret",
			Events: []string{"sanction.created", "sanction.lifted", "notice.created"}}); err != nil {
			t.Fatal(err)
		}
		d.Poll, d.Backoff, d.MaxBackoff = 20*time.Millisecond, 5*time.Millisecond, 40*time.Millisecond
		dctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.Run(dctx) }()
		defer func() { cancel(); <-done }()

		for _, acct := range []string{"a1", "a2", "a3"} {
			if _, err := a.Accounts.Put(ctx, &accounts.Account{ID: acct, Region: "cn", Locale: "en", CreatedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
			sn, err := svc.Impose(ctx, &enforce.Sanction{Account: acct, Kind: enforce.Ban, ReasonCode: "fraud",
				Scope: enforce.Scope{Services: []string{"*"}}, Authority: authority.Authority{Kind: authority.Automated, Rule: "r"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Lift(ctx, sn.ID, enforce.LiftRequest{Reason: "appeal upheld"}); err != nil {
				t.Fatal(err)
			}
		}
		// 3 accounts × (created, notice, lifted, notice) = 12 events.
		want, err := db.Webhooks().Pending(context.Background(), 0, 100)
		if err != nil || len(want) != 12 {
			t.Fatalf("outbox holds %d events, want 12: %v", len(want), err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			rc.mu.Lock()
			n := len(rc.accepted)
			rc.mu.Unlock()
			if n == len(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("receiver accepted %d of %d events", n, len(want))
			}
			time.Sleep(10 * time.Millisecond)
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(rc.bad) > 0 {
			t.Fatalf("badly formed or signed deliveries: %v", rc.bad)
		}
		inOrderPerAccount(t, want, rc.accepted)
		// The dispatcher records an attempt after the receiver has answered it: wait for
		// the last record.
		var hist []*notify.Delivery
		for {
			hist, err = hooks.Deliveries(context.Background(), "platform", "", 100)
			if err != nil || len(hist) >= 16 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil || len(hist) != 16 {
			t.Fatalf("history holds %d attempts, want 16 (4 failed, 12 delivered): %v", len(hist), err)
		}
		if last := hist[len(hist)-1]; last.Outcome != notify.Retrying || last.Status != 503 || last.Attempt != 1 {
			t.Fatalf("first attempt recorded as %+v", last)
		}
		// Every attempt at an event carried its id, and is numbered in turn.
		attempts := map[string]int{}
		for i := len(hist) - 1; i >= 0; i-- {
			if attempts[hist[i].Event]++; hist[i].Attempt != attempts[hist[i].Event] {
				t.Fatalf("attempt %d at %s recorded as attempt %d", attempts[hist[i].Event], hist[i].Event, hist[i].Attempt)
			}
		}
		for _, id := range rc.seen {
			attempts[id]--
		}
		for id, n := range attempts {
			if n != 0 {
				t.Fatalf("the receiver saw %d requests carrying %s more than the history holds attempts at it", -n, id)
			}
		}
	})
}

// Events go into the outbox only for types some webhook receives; a webhook created
// between preparing an announcement and writing it still gets its events.
func TestOutboxHoldsOnlySubscribedEvents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		notifier := notify.NewNotifier(db.Notices(), db.Webhooks(), db.Accounts(), "en")
		change := func(id string) enforce.Change {
			sn := &enforce.Sanction{ID: id, Account: "a1", Kind: enforce.Suspend, ReasonCode: "fraud", Scope: enforce.Scope{Services: []string{"pay"}}}
			return enforce.Change{Event: enforce.Created, Sanction: sn, At: time.Now()}
		}
		announce := func(between func(), cs ...enforce.Change) {
			t.Helper()
			a, err := notifier.Prepare(ctx, cs...)
			if err != nil {
				t.Fatal(err)
			}
			between()
			if err := db.Write(ctx, a.Write); err != nil {
				t.Fatal(err)
			}
		}
		pending := func() []string {
			t.Helper()
			es, err := db.Webhooks().Pending(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, e := range es {
				types = append(types, e.Type+" "+e.Account)
			}
			return types
		}

		announce(func() {}, change("s1"), change("s2"))
		if got := pending(); len(got) != 0 {
			t.Fatalf("with no webhooks the outbox holds %q", got)
		}
		if n, err := db.Count(ctx, "notices"); err != nil || n != 2 {
			t.Fatalf("%d notices (%v), want 2", n, err)
		}

		announce(func() {
			if err := db.Write(ctx, func(ctx context.Context) error {
				_, err := db.Webhooks().PutWebhook(ctx, &notify.Webhook{Name: "late", URL: "http://127.0.0.1:1/", Secret: "0123456789abcdef-secret",
					Events: []string{notify.NoticeCreated}, CreatedAt: time.Now(), UpdatedAt: time.Now()})
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}, change("s3"), change("s4"))
		if got := pending(); !slices.Equal(got, []string{"notice.created a1", "notice.created a1"}) {
			t.Fatalf("outbox holds %q, want the two notice.created events of the announcement written after the webhook", got)
		}
	})
}

// A receiver that redirects is not followed (that would turn the POST into a bodiless
// GET its 200 would have us count as delivered): the 3xx is a failed attempt, recorded
// with its Location, and retried until the receiver itself accepts.
func TestWebhookRedirectIsAFailedAttempt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		var mu sync.Mutex
		redirects, moved := 2, 0
		var accepted []string
		mux := http.NewServeMux()
		mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			moved++
		})
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			if redirects > 0 {
				redirects--
				http.Redirect(w, r, "/moved?"+strings.Repeat("x", 2000), http.StatusFound)
				return
			}
			var ev struct{ ID string }
			json.NewDecoder(r.Body).Decode(&ev)
			accepted = append(accepted, ev.ID)
		})
		srv := httptest.NewServer(mux)
		defer srv.Close()
		a := storetest.NewApp(t, db, allowPrivate)
		putHook(t, a, srv.URL)
		enqueue(t, db, event("e1", "a1"))
		defer run(t, a.Dispatcher)()

		hist := waitHistory(t, a, 3)
		mu.Lock()
		defer mu.Unlock()
		if moved != 0 || !slices.Equal(accepted, []string{"e1"}) {
			t.Fatalf("the redirect target got %d requests and the receiver accepted %q, want 0 and [e1]", moved, accepted)
		}
		for i, d := range hist {
			attempt := len(hist) - i
			want := notify.Retrying
			if attempt == 3 {
				want = notify.Delivered
			}
			if d.Attempt != attempt || d.Outcome != want {
				t.Fatalf("attempt %d recorded as %+v, want %s", attempt, d, want)
			}
			if want == notify.Retrying && (d.Status != http.StatusFound || !strings.Contains(d.Error, `"/moved?xxx`) || len(d.Error) > 700) {
				t.Fatalf("redirected attempt recorded as %+v, want status 302 and the Location, clipped, in its error", d)
			}
		}
	})
}

// inOrderPerAccount fails t unless accepted holds the IDs of want, each once, and those
// of each account in want's order.
func inOrderPerAccount(t *testing.T, want []*notify.Event, accepted []string) {
	t.Helper()
	of := map[string]string{} // event ID → account
	for _, e := range want {
		of[e.ID] = e.Account
	}
	if len(accepted) != len(want) {
		t.Fatalf("accepted %d events, want %d: %v", len(accepted), len(want), accepted)
	}
	next := map[string][]string{} // account → its event IDs still to come, in order
	for _, e := range want {
		next[e.Account] = append(next[e.Account], e.ID)
	}
	for i, id := range accepted {
		acct := of[id]
		if q := next[acct]; len(q) == 0 || q[0] != id {
			t.Fatalf("accepted %s (of %q) at %d, want %v next of that account: %v", id, acct, i, q, accepted)
		}
		next[acct] = next[acct][1:]
	}
}

const testSecret = "0123456789abcdef-secret"

func putHook(t *testing.T, a *app.App, url string) {
	t.Helper()
	ctx := principal.NewContext(context.Background(), principal.Principal{Name: "ada", Role: principal.Admin})
	if _, err := a.Webhooks.Put(ctx, &notify.Webhook{Name: "platform", URL: url, Secret: testSecret,
		Events: []string{"sanction.created"}}); err != nil {
		t.Fatal(err)
	}
}

func event(id, account string) *notify.Event {
	return &notify.Event{ID: id, Type: "sanction.created", Account: account, Time: time.Now(), Data: json.RawMessage(`{}`)}
}

// enqueue writes events to the outbox, as a change's transaction would.
func enqueue(t *testing.T, db *sqlstore.DB, events ...*notify.Event) {
	t.Helper()
	if err := db.Write(context.Background(), func(ctx context.Context) error { return db.Webhooks().Enqueue(ctx, events...) }); err != nil {
		t.Fatal(err)
	}
}

// run starts d with short waits, unless backoff says otherwise, and returns a func
// that stops it and waits for it.
func run(t *testing.T, d *notify.Dispatcher, backoff ...time.Duration) (stop func()) {
	t.Helper()
	d.Poll, d.Backoff, d.MaxBackoff = 20*time.Millisecond, 5*time.Millisecond, 40*time.Millisecond
	if len(backoff) > 0 {
		d.Backoff, d.MaxBackoff = backoff[0], backoff[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	return func() { cancel(); <-done }
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// waitHistory waits until the webhook's history holds n attempts and returns them,
// newest first.
func waitHistory(t *testing.T, a *app.App, n int) []*notify.Delivery {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		hist, err := a.Webhooks.Deliveries(context.Background(), "platform", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) > n || len(hist) < n && time.Now().After(deadline) {
			var lines []string
			for _, d := range hist {
				lines = append(lines, fmt.Sprintf("%s %s attempt %d: %s %d %s", d.Event, d.Account, d.Attempt, d.Outcome, d.Status, d.Error))
			}
			t.Fatalf("history holds %d attempts, want %d:\n%s", len(hist), n, strings.Join(lines, "\n"))
		}
		if len(hist) == n {
			return hist
		}
	}
}

// flaky is a webhook receiver that fails an event while fail says so, given how many
// times it has had it before.
type flaky struct {
	mu       sync.Mutex
	fail     func(id string, had int) bool
	had      map[string]int
	accepted []string // in order, repeats included
}

func newFlaky(fail func(id string, had int) bool) *flaky {
	return &flaky{fail: fail, had: map[string]int{}}
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct{ ID string }
	json.NewDecoder(r.Body).Decode(&ev)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.had[ev.ID]++
	if f.fail(ev.ID, f.had[ev.ID]-1) {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	f.accepted = append(f.accepted, ev.ID)
}

// holds reports whether the receiver has accepted every one of ids and been sent id
// at least n times.
func (f *flaky) holds(ids []string, id string, n int) func() bool {
	return func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, a := range ids {
			if !slices.Contains(f.accepted, a) {
				return false
			}
		}
		return f.had[id] >= n
	}
}

func (f *flaky) acceptedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.accepted)
}

// events returns an event for each "account-n" id, in order.
func events(ids ...string) []*notify.Event {
	var out []*notify.Event
	for _, id := range ids {
		acct, _, _ := strings.Cut(id, "-")
		out = append(out, event(id, acct))
	}
	return out
}

// One account's failing event holds back that account's later events only: the other
// accounts' events are delivered while it is retried, and each account's arrive in order.
func TestWebhookFailingEventHoldsBackOnlyItsAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		const n = 3 // failures of a1's first event
		rc := newFlaky(func(id string, had int) bool { return id == "a1-1" && had < n })
		srv := httptest.NewServer(rc)
		defer srv.Close()
		a := storetest.NewApp(t, db, allowPrivate)
		putHook(t, a, srv.URL)
		want := events("a1-1", "a2-1", "a3-1", "a1-2", "a2-2", "a3-2", "a1-3", "a2-3", "a3-3")
		enqueue(t, db, want...)
		defer run(t, a.Dispatcher)()

		waitFor(t, "every event accepted", rc.holds([]string{"a1-1", "a1-2", "a1-3", "a2-1", "a2-2", "a2-3", "a3-1", "a3-2", "a3-3"}, "a1-1", n+1))
		got := rc.acceptedIDs()
		inOrderPerAccount(t, want, got)
		if i := slices.Index(got, "a1-1"); i != 6 {
			t.Fatalf("a1's failing event was accepted at %d of %v, want after every event of a2 and a3", i, got)
		}
		hist := waitHistory(t, a, len(want)+n)
		for _, d := range hist {
			if d.Outcome == notify.Retrying && (d.Event != "a1-1" || d.Status != http.StatusServiceUnavailable) {
				t.Fatalf("failed attempt recorded as %+v, want only a1-1's, 503", d)
			}
			if d.Event == "a1-1" && d.Outcome == notify.Delivered && d.Attempt != n+1 {
				t.Fatalf("a1-1 delivered at attempt %d, want %d", d.Attempt, n+1)
			}
		}
	})
}

// Held events are in the store: a new dispatcher (a restart, or another process taking
// the lease) delivers what was held and what came since, and sends again nothing that
// was delivered.
func TestWebhookHeldEventsSurviveARestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		var mu sync.Mutex
		down := true // a1-1 fails until the restart
		rc := newFlaky(func(id string, _ int) bool { mu.Lock(); defer mu.Unlock(); return id == "a1-1" && down })
		srv := httptest.NewServer(rc)
		defer srv.Close()
		a := storetest.NewApp(t, db, allowPrivate)
		putHook(t, a, srv.URL)
		before, since := events("a1-1", "a2-1", "a1-2", "a3-1", "a2-2"), events("a1-3", "a2-3", "a3-2")
		enqueue(t, db, before...)

		stop := run(t, a.Dispatcher)
		waitFor(t, "a2's and a3's events accepted, a1-1 retried", rc.holds([]string{"a2-1", "a3-1", "a2-2"}, "a1-1", 2))
		waitFor(t, "their deliveries recorded", func() bool {
			hist, err := a.Webhooks.Deliveries(context.Background(), "platform", "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			return len(slices.DeleteFunc(hist, func(d *notify.Delivery) bool { return d.Outcome != notify.Delivered })) == 3
		})
		// The next process waits for the lease, which the first hands over as it stops.
		next := run(t, notify.NewDispatcher(db.Webhooks(), a.Stores.Tx, allowPrivate.Webhooks, nil))
		defer next()
		stop()
		enqueue(t, db, since...)
		mu.Lock()
		down = false
		mu.Unlock()

		waitFor(t, "every event accepted", rc.holds([]string{"a1-1", "a1-2", "a1-3", "a2-1", "a2-2", "a2-3", "a3-1", "a3-2"}, "a1-1", 1))
		inOrderPerAccount(t, append(before, since...), rc.acceptedIDs())
	})
}

// An event older than GiveUp that fails is given up, with a recorded outcome, and its
// account's next event follows; a held event is given up the same way.
func TestWebhookGivesUpPerAccount(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		rc := newFlaky(func(id string, had int) bool { return id == "a1-1" && had < 2 || id == "a1-2" || id == "a2-1" })
		srv := httptest.NewServer(rc)
		defer srv.Close()
		a := storetest.NewApp(t, db, allowPrivate)
		putHook(t, a, srv.URL)
		old := time.Now().Add(-2 * time.Hour)
		es := events("a1-1", "a2-1", "a1-2", "a2-2", "a1-3")
		es[1].Time, es[2].Time = old, old // a2-1 fails when read, a1-2 once a1-1 is through
		enqueue(t, db, es...)
		a.Dispatcher.GiveUp = time.Hour
		defer run(t, a.Dispatcher)()

		waitFor(t, "the events not given up accepted", rc.holds([]string{"a1-1", "a2-2", "a1-3"}, "a1-1", 3))
		if got := rc.acceptedIDs(); !slices.Equal(got, []string{"a2-2", "a1-1", "a1-3"}) {
			t.Fatalf("accepted %v, want [a2-2 a1-1 a1-3]", got)
		}
		hist := waitHistory(t, a, 7) // a1-1 ×3, a2-1, a1-2, a2-2, a1-3
		for _, d := range hist {
			if given := d.Event == "a2-1" || d.Event == "a1-2"; given != (d.Outcome == notify.Abandoned) || given && d.Attempt != 1 {
				t.Fatalf("attempt recorded as %+v", d)
			}
		}
	})
}

// A receiver that fails the first events of as many accounts is taken for down: the
// webhook backs off as a whole instead of sending it every other account's event.
func TestWebhookBacksOffFromADownReceiver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		rc := newFlaky(func(string, int) bool { return true })
		srv := httptest.NewServer(rc)
		defer srv.Close()
		a := storetest.NewApp(t, db, allowPrivate)
		putHook(t, a, srv.URL)
		enqueue(t, db, events("a1-1", "a2-1", "a3-1", "a4-1", "a5-1", "a6-1")...)
		stop := run(t, a.Dispatcher, time.Hour)
		waitHistory(t, a, 3)
		stop()
		waitHistory(t, a, 3)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(rc.had) != 3 {
			t.Fatalf("a down receiver was sent %d events, want 3: %v", len(rc.had), rc.had)
		}
	})
}

// A webhook whose host resolves to a loopback address by the time of delivery (one put
// with --webhook-allow-private, or a name rebound since) is not reached by a dispatcher
// without the flag: the dial is refused, a failed attempt recorded with the reason.
func TestWebhookDeliveryRefusesPrivateAddresses(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		rc := newFlaky(func(string, int) bool { return false })
		srv := httptest.NewServer(rc)
		defer srv.Close()
		putHook(t, storetest.NewApp(t, db, allowPrivate), strings.Replace(srv.URL, "127.0.0.1", "localhost", 1))
		a := storetest.NewApp(t, db, app.Config{})
		enqueue(t, db, event("e1", "a1"))
		defer run(t, a.Dispatcher, time.Hour)()

		hist := waitHistory(t, a, 1)
		if d := hist[0]; d.Outcome != notify.Retrying || d.Status != 0 || !strings.Contains(d.Error, "127.0.0.1 is a loopback address") ||
			!strings.Contains(d.Error, "--webhook-allow-private") {
			t.Fatalf("attempt recorded as %+v, want a failed one saying the address is loopback", d)
		}
		if got := rc.acceptedIDs(); len(got) != 0 {
			t.Fatalf("the receiver on loopback accepted %v", got)
		}
	})
}

// Deleting a webhook stops its deliveries and drops what it held back; its history
// stays readable. A webhook made again under the name starts afresh: it gets the events
// written after it, not those its predecessor held or had yet to send.
func TestWebhookDeleteStopsDelivery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := principal.NewContext(context.Background(), principal.Principal{Name: "ada", Role: principal.Admin})
		old := newFlaky(func(id string, _ int) bool { return id == "a1-1" })
		oldSrv := httptest.NewServer(old)
		defer oldSrv.Close()
		a := storetest.NewApp(t, db, allowPrivate)
		putHook(t, a, oldSrv.URL)
		enqueue(t, db, events("a1-1", "a2-1")...)
		defer run(t, a.Dispatcher, time.Hour)()
		waitHistory(t, a, 2)
		if n, err := db.Count(ctx, "webhook_held"); err != nil || n != 1 {
			t.Fatalf("%d held events (%v), want a1-1's", n, err)
		}

		w, err := a.Webhooks.Delete(ctx, "platform")
		if err != nil || w.Name != "platform" || w.URL != oldSrv.URL {
			t.Fatalf("delete: %+v, %v", w, err)
		}
		if _, err := a.Webhooks.Delete(ctx, "platform"); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("deleting it again: %v, want not found", err)
		}
		if n, err := db.Count(ctx, "webhook_held"); err != nil || n != 0 {
			t.Fatalf("%d held events after the delete (%v), want none", n, err)
		}
		if list, err := a.Webhooks.List(ctx); err != nil || len(list) != 0 {
			t.Fatalf("after the delete the list holds %d webhooks (%v)", len(list), err)
		}
		if hist, err := a.Webhooks.Deliveries(ctx, "platform", "", 10); err != nil || len(hist) != 2 {
			t.Fatalf("after the delete the history holds %d attempts (%v), want 2", len(hist), err)
		}
		rows, err := a.Stores.Audit.Pending(ctx, 100) // no sequencer runs: every entry
		if err != nil || len(rows) == 0 || !strings.Contains(string(rows[len(rows)-1].Leaf), `"webhook.delete"`) ||
			!strings.Contains(string(rows[len(rows)-1].Leaf), `"webhook:platform"`) {
			t.Fatalf("the last audit entry is not the delete (%v)", err)
		}

		enqueue(t, db, events("a3-1")...) // no webhook wants it
		next := newFlaky(func(string, int) bool { return false })
		nextSrv := httptest.NewServer(next)
		defer nextSrv.Close()
		putHook(t, a, nextSrv.URL)
		enqueue(t, db, events("a4-1")...)
		waitFor(t, "the new webhook's event accepted", next.holds([]string{"a4-1"}, "a4-1", 1))
		if got := next.acceptedIDs(); !slices.Equal(got, []string{"a4-1"}) {
			t.Fatalf("the new webhook's receiver accepted %v, want [a4-1] alone", got)
		}
		// The new webhook's worker starts once the old one has stopped: nothing more
		// can reach the old receiver.
		if got := old.acceptedIDs(); !slices.Equal(got, []string{"a2-1"}) {
			t.Fatalf("the deleted webhook's receiver accepted %v, want [a2-1] alone", got)
		}
	})
}
