// Package httpapi serves Steward's JSON API under /v1: authentication by bearer key and
// role, RFC 9457 problem details for every error, idempotent writes, Prometheus metrics,
// one log line per request, and an OpenAPI document generated from the route table.
package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/bearer"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/idempotency"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/problem"
)

// Deps is what the API serves.
type Deps struct {
	*app.App                             // the services (see package app)
	Ready    func(context.Context) error // reports whether the database answers and takes writes
	Logger   *slog.Logger
	Version  string

	// Request bodies (see body.go): each may take BodyTime plus a second per BodyRate
	// bytes of its route's limit to arrive (10 s and 1 MiB/s when zero), and at most
	// LargeBodies bodies over 1 MiB are read at once (4 when zero).
	BodyTime    time.Duration
	BodyRate    int64
	LargeBodies int

	// ReadyLag is how many audit entries may wait for the sequencer before /readyz
	// answers 503 (DefaultReadyLag when zero).
	ReadyLag int64
}

// server holds the dependencies the handlers share.
type server struct {
	Deps
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	registry *prometheus.Registry
	bodies   *bodyLimits
}

// Handler is the API's HTTP handler: every route of the route table, and problem details
// for the paths under /v1/ it does not have.
type Handler struct {
	serve    http.Handler
	patterns []string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.serve.ServeHTTP(w, r) }

// Patterns returns the patterns of a top-level mux that h serves: "/v1/" and each
// operational path outside it (/healthz, /metrics, /openapi.json).
func (h *Handler) Patterns() []string { return h.patterns }

// NewHandler returns the API's HTTP handler.
func NewHandler(d Deps) *Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	s := &server{Deps: d, registry: prometheus.NewRegistry(), bodies: newBodyLimits(d)}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "steward_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"route", "status"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "steward_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route"})
	s.registry.MustRegister(s.requests, s.duration, s.bodies.gauge,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if d.App != nil && d.App.Retention != nil {
		s.registry.MustRegister(d.App.Retention) // the workers' counts, beside the API's
	}
	if d.App != nil {
		if c, ok := d.App.Backups.(prometheus.Collector); ok {
			s.registry.MustRegister(c)
		}
		if d.App.Takeout != nil {
			s.registry.MustRegister(d.App.Takeout)
		}
		if d.App.Signals != nil {
			s.registry.MustRegister(d.App.Signals)
		}
	}

	mux := http.NewServeMux()
	paths := http.NewServeMux() // the same paths without methods, to tell 405 from 404
	allowed := map[string][]string{}
	for _, rt := range s.routes() {
		mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
		if allowed[rt.Path] == nil {
			paths.Handle(rt.Path, http.NotFoundHandler())
		}
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
	}
	unmatched := s.wrap(route{Method: "", Path: "/v1/", Public: true, raw: func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := paths.Handler(r); pattern != "" {
			w.Header().Set("Allow", strings.Join(allowed[pattern], ", "))
			problem.Write(w, problem.Problem{Type: problem.Type("method_not_allowed"), Title: "Method Not Allowed",
				Status: http.StatusMethodNotAllowed, RequestID: w.Header().Get("X-Request-Id"),
				Detail: fmt.Sprintf("%s does not take %s; it takes %s", r.URL.Path, r.Method, strings.Join(allowed[pattern], ", "))})
			return
		}
		problem.Write(w, problem.For(errs.E(errs.NotFound, "no route for %s %s", r.Method, r.URL.Path), w.Header().Get("X-Request-Id"), s.Logger))
	}})
	h := &Handler{serve: Canonical(mux), patterns: []string{"/v1/"}}
	mux.Handle("/v1/", unmatched)
	for path := range allowed {
		if !strings.HasPrefix(path, "/v1/") { // the other methods of an operational path are a 405
			mux.Handle(path, unmatched)
			h.patterns = append(h.patterns, path)
		}
	}
	slices.Sort(h.patterns)
	return h
}

// handler is a JSON route's work: the status and body to answer, or an error.
type handler func(r *http.Request) (status int, body any, err error)

// writeHandler is a write route's work, split so the request body is decoded and checked
// before the write transaction starts; apply runs inside it.
type writeHandler func(r *http.Request, body []byte) (apply applyFunc, err error)

// applyFunc is a write's change, run inside its transaction.
type applyFunc = func(ctx context.Context) (status int, resp any, err error)

// streamHandler is a writeHandler for a body too large to hold (an import's): it reads
// body to its end as it arrives, and close releases whatever it kept meanwhile.
type streamHandler func(r *http.Request, body io.Reader) (apply applyFunc, close func(), err error)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap gives a route everything routes share: request ID, recovery, the limits on its
// body, authentication and role check (before any of the body is read), metrics and the
// log line.
func (s *server) wrap(rt route) http.Handler {
	label := rt.Method + " " + rt.Path
	if rt.Method == "" {
		label = "unmatched"
	}
	// The route's series are looked up once, not per request (label hashing and the
	// vectors' locks cost about 6% of the API handler's CPU on a check).
	observe := s.duration.WithLabelValues(label)
	var counters sync.Map // status → prometheus.Counter
	count := func(status int) {
		c, ok := counters.Load(status)
		if !ok {
			c, _ = counters.LoadOrStore(status, s.requests.WithLabelValues(label, strconv.Itoa(status)))
		}
		c.(prometheus.Counter).Inc()
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// Steward names every request itself; the ID a caller sends is only a label,
		// echoed in X-Client-Request-Id, logged and audited apart from Steward's own.
		reqID := uuid.Must(uuid.NewV7()).String()
		rw.Header().Set("X-Request-Id", reqID)
		clientID := r.Header.Get("X-Request-Id")
		if !requestIDPattern.MatchString(clientID) {
			clientID = ""
		} else {
			rw.Header().Set("X-Client-Request-Id", clientID)
		}
		w := &statusWriter{ResponseWriter: rw}
		var who principal.Principal // the caller, once authenticated
		defer func() {
			if p := recover(); p != nil {
				s.Logger.Error("panic", "request_id", reqID, "panic", p)
				if w.status == 0 {
					problem.Write(w, problem.For(errs.E(errs.Internal, "panic: %v", p), reqID, s.Logger))
				}
			}
			d := time.Since(start)
			count(w.status)
			observe.Observe(d.Seconds())
			if !s.Logger.Enabled(r.Context(), slog.LevelInfo) {
				return
			}
			attrs := []slog.Attr{slog.String("method", r.Method), slog.String("route", label),
				slog.String("path", r.URL.Path), slog.Int("status", w.status),
				slog.Float64("duration_ms", float64(d.Microseconds())/1000), slog.String("request_id", reqID)}
			if clientID != "" {
				attrs = append(attrs, slog.String("client_request_id", clientID))
			}
			if who.Role != "" {
				attrs = append(attrs, slog.String("key", who.Name), slog.String("role", string(who.Role)))
			}
			s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		}()

		body := s.bodies.openBody(rw, r, rt.maxBody())
		defer body.release()
		if rt.Method == "" {
			body.refuse() // an unknown route reads no body: answer without waiting for it
		}
		ctx := r.Context()
		if !rt.Public {
			var err error
			if who, err = bearer.Authenticate(r, s.Keys); err == nil {
				err = bearer.Allow(who, rt.Roles, rt.Method+" "+rt.Path)
			}
			if err != nil {
				who = principal.Principal{}
				body.refuse()
				problem.Write(w, problem.For(err, reqID, s.Logger))
				return
			}
			ctx = principal.NewContext(audit.WithRequestID(ctx, reqID), who)
			if clientID != "" {
				ctx = audit.WithClientRequestID(ctx, clientID)
			}
		}
		if err := body.admit(r.ContentLength, rt.maxBody()); err != nil {
			problem.Write(w, problem.For(err, reqID, s.Logger))
			return
		}
		r = r.WithContext(ctx)
		switch {
		case rt.raw != nil:
			rt.raw(w, r)
		case rt.write != nil, rt.stream != nil:
			s.serveWrite(w, r, rt, who, reqID)
		default:
			status, body, err := rt.handle(r)
			if err != nil {
				problem.Write(w, problem.For(err, reqID, s.Logger))
				return
			}
			writeJSON(w, status, body)
		}
	})
}

var idemKeyPattern = regexp.MustCompile(`^[\x21-\x7e]{1,255}$`)

// serveWrite runs a write route. With an Idempotency-Key, the change and the record of its
// answer commit in one transaction: a retry with the same key and request gets the first
// answer back and changes nothing; the same key with another request is refused.
func (s *server) serveWrite(w http.ResponseWriter, r *http.Request, rt route, who principal.Principal, reqID string) {
	fail := func(err error) { problem.Write(w, problem.For(err, reqID, s.Logger)) }
	idemKey := r.Header.Get("Idempotency-Key")
	if idemKey != "" && !idemKeyPattern.MatchString(idemKey) {
		fail(errs.Field("Idempotency-Key", "must be 1 to 255 visible ASCII characters"))
		return
	}
	// The request's hash is taken as its body is read.
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.RequestURI() + "\n"))
	body := io.TeeReader(&capped{r: r.Body, left: rt.maxBody(), limit: rt.maxBody()}, h)
	ctx := r.Context()
	if idemKey != "" {
		switch prev, err := s.Stores.Idempotency.Lookup(ctx, who.Credential, idemKey); {
		case err == nil: // a replay needs only the body's hash
			if _, err := io.Copy(io.Discard, body); err != nil {
				fail(bodyError(err))
				return
			}
			s.replay(w, prev, h.Sum(nil), idemKey, fail)
			return
		case errs.CodeOf(err) != errs.NotFound:
			fail(err)
			return
		}
	}
	apply, done, err := prepareWrite(r, rt, body)
	defer done()
	if err != nil {
		fail(err)
		return
	}
	if idemKey == "" {
		status, resp, err := apply(ctx)
		if err != nil {
			fail(err)
			return
		}
		writeJSON(w, status, resp)
		return
	}

	sum := h.Sum(nil)
	var rec, prev *idempotency.Record
	err = s.Stores.Tx.Write(ctx, func(ctx context.Context) (err error) {
		// Another request with this key may have committed since the lookup above.
		if prev, err = s.Stores.Idempotency.Lookup(ctx, who.Credential, idemKey); errs.CodeOf(err) != errs.NotFound {
			return err // nil, with prev to replay
		}
		status, resp, err := apply(ctx)
		if err != nil {
			return err
		}
		b, err := json.Marshal(resp)
		if err != nil {
			return err
		}
		rec = &idempotency.Record{Principal: who.Credential, Key: idemKey, RequestHash: sum, Status: status,
			Body: append(b, '\n'), CreatedAt: time.Now().UTC()}
		return s.Stores.Idempotency.Save(ctx, rec)
	})
	if errs.CodeOf(err) == errs.Conflict && rec != nil {
		// Another process committed this key between our lookup and our save.
		prev, err = s.Stores.Idempotency.Lookup(ctx, who.Credential, idemKey)
		if errs.CodeOf(err) == errs.NotFound {
			err = errs.E(errs.Conflict, "Idempotency-Key %q is in use by a concurrent request", idemKey)
		}
	}
	switch {
	case err != nil:
		fail(err)
	case prev != nil:
		s.replay(w, prev, sum, idemKey, fail)
	default:
		writeBody(w, rec.Status, "application/json", rec.Body)
	}
}

// prepareWrite reads and checks a write's body, all of it, and returns its change.
func prepareWrite(r *http.Request, rt route, body io.Reader) (apply applyFunc, done func(), err error) {
	if rt.stream != nil {
		return rt.stream(r, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, func() {}, bodyError(err)
	}
	apply, err = rt.write(r, b)
	return apply, func() {}, err
}

func (s *server) replay(w http.ResponseWriter, prev *idempotency.Record, sum []byte, idemKey string, fail func(error)) {
	if !bytes.Equal(prev.RequestHash, sum) {
		fail(errs.E(errs.Mismatch, "Idempotency-Key %q was used before with a different request", idemKey))
		return
	}
	w.Header().Set("Idempotent-Replayed", "true")
	writeBody(w, prev.Status, "application/json", prev.Body)
}

// metricsHandler serves this handler's Prometheus registry.
func (s *server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}
