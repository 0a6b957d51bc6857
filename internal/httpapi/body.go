package httpapi

import (
	"cmp"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stewardhq/steward/internal/errs"
)

// How long a request body may take, and how many large ones are read at once. A client
// that declares a body and sends it slowly, or not at all, would otherwise hold its
// connection and goroutine for ever; a few hundred of them took /healthz down. A body
// of a route whose limit is L bytes must arrive within bodyTime + L / bodyRate (11 s
// for the 1 MiB of most writes, 4.5 min for an import's 256 MiB), and only
// largeBodies bodies over largeBody bytes are read at once: each holds up to a chunk of
// an import or a batch of checks in memory.
const (
	bodyTime    = 10 * time.Second
	bodyRate    = 1 << 20 // bytes a second: slow, but honest
	largeBody   = maxJSONBody
	largeBodies = 4
	retryAfter  = 5 // seconds, for a large body refused because others are being read
)

// bodyLimits are the server's limits on reading request bodies (see the constants).
type bodyLimits struct {
	time  time.Duration
	rate  int64
	large chan struct{} // a slot per large body being read
	gauge prometheus.Gauge
}

func newBodyLimits(d Deps) *bodyLimits {
	return &bodyLimits{
		time:  cmp.Or(d.BodyTime, bodyTime),
		rate:  cmp.Or(d.BodyRate, bodyRate),
		large: make(chan struct{}, cmp.Or(d.LargeBodies, largeBodies)),
		gauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "steward_http_large_bodies", Help: "Request bodies over 1 MiB being read now.",
		}),
	}
}

// timeFor returns how long a body of up to limit bytes may take to arrive.
func (l *bodyLimits) timeFor(limit int64) time.Duration {
	return l.time + time.Duration(float64(limit)/float64(l.rate)*float64(time.Second))
}

// body is a request body read under its route's limits: it must arrive by its deadline,
// and past largeBody bytes it takes one of the server's slots for large bodies.
type body struct {
	io.ReadCloser
	w       http.ResponseWriter
	rc      *http.ResponseController
	l       *bodyLimits
	allowed time.Duration // to read it
	read    int64
	held    bool // a large-body slot
	done    bool // read to its end, or refused
}

// openBody puts r's body under the limits of a route that takes up to limit bytes: it
// sets the connection's read deadline for it. Call admit once the caller is known, and
// release when the request is answered.
func (l *bodyLimits) openBody(w http.ResponseWriter, r *http.Request, limit int64) *body {
	b := &body{ReadCloser: r.Body, w: w, rc: http.NewResponseController(w), l: l, allowed: l.timeFor(limit)}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		b.endOfBody() // nothing to wait for
		return b
	}
	r.Body = b
	// A ResponseRecorder has no connection to set a deadline on (http.ErrNotSupported).
	b.rc.SetReadDeadline(time.Now().Add(b.allowed))
	return b
}

// admit refuses at once a body declared larger than limit, and a large one when every
// slot is taken.
func (b *body) admit(declared, limit int64) error {
	switch {
	case declared > limit:
		b.refuse()
		return errs.E(errs.TooLarge, "the request body is over %d bytes", limit)
	case declared > largeBody && !b.held:
		return b.takeSlot()
	}
	return nil
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if b.read > largeBody && !b.held {
		if err := b.takeSlot(); err != nil {
			return n, err
		}
	}
	switch {
	case err == io.EOF:
		b.endOfBody()
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.refuse()
		return n, errs.E(errs.Timeout, "the request body did not arrive within the %s allowed", b.allowed.Round(time.Millisecond))
	}
	return n, err
}

// endOfBody lifts the read deadline once the body is read: the background read that
// watches for the client going away would hit it while a long request runs, and net/http
// then cancels the request's context.
func (b *body) endOfBody() {
	if !b.done {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
}

// refuse says the connection closes after the answer, so net/http answers at once
// rather than first reading what is left of the body, and ends the wait for the rest.
func (b *body) refuse() {
	if !b.done {
		b.done = true
		b.w.Header().Set("Connection", "close")
		b.rc.SetReadDeadline(time.Now())
	}
}

// takeSlot takes a large-body slot, or refuses the request when none is free.
func (b *body) takeSlot() error {
	select {
	case b.l.large <- struct{}{}:
		b.held = true
		b.l.gauge.Inc()
		return nil
	default:
		b.refuse()
		b.w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		return errs.E(errs.TooMany, "%d request bodies over %d bytes are being read; retry in %d s", cap(b.l.large), largeBody, retryAfter)
	}
}

// release gives back the body's slot, once the request is answered.
func (b *body) release() {
	if b.held {
		b.held = false
		<-b.l.large
		b.l.gauge.Dec()
	}
}
