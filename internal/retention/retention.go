// Package retention removes records Steward keeps only for a while: idempotency records
// after their time to live, webhook delivery history and notices past their horizon, and
// most of the audit log's old signed checkpoints (see thin.go). A Sweeper is a worker that deletes them in small batches, each its own transaction, so
// that it never holds the database's writer for long.
package retention

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stewardhq/steward/internal/txn"
)

// The records a Sweeper removes, as Store.Expire and the metrics name them.
const (
	Idempotency = "idempotency"        // answers kept for retries with an Idempotency-Key
	Deliveries  = "webhook_deliveries" // webhook delivery history
	Notices     = "notices"            // notices to users
	Checkpoints = "audit_checkpoints"  // the audit log's signed checkpoints, thinned
)

// Store deletes expired records.
type Store interface {
	// Expire deletes at most limit records of kind (Idempotency, Deliveries or Notices)
	// made before before, oldest first, and returns how many it deleted. It must be
	// called inside a write transaction (see package txn).
	Expire(ctx context.Context, kind string, before time.Time, limit int) (int, error)
	// CheckpointStamps returns up to limit of the audit log's checkpoints of trees
	// larger than after, by size. It must be called inside a write transaction.
	CheckpointStamps(ctx context.Context, after int64, limit int) ([]Stamp, error)
	// DeleteCheckpoints deletes the checkpoints of the trees of these sizes and returns
	// how many it deleted. It must be called inside a write transaction.
	DeleteCheckpoints(ctx context.Context, sizes []int64) (int, error)
}

// Config says how long records are kept and how the sweeper works. Zero fields take the
// defaults in brackets.
type Config struct {
	Idempotency time.Duration // how long an idempotency record answers retries [7 days]
	Deliveries  time.Duration // how long webhook delivery history is kept [90 days]
	Notices     time.Duration // how long notices are kept [2 years]
	// How long one checkpoint an hour is kept; older ones are thinned to one a day [30 days].
	HourlyCheckpoints time.Duration

	Every  time.Duration    // time between sweeps, ±10% [10 minutes]
	Batch  int              // records deleted per transaction [10,000]
	Now    func() time.Time // the clock [time.Now]
	Logger *slog.Logger     // [none]
}

// Defaults of Config.
const (
	DefaultIdempotency = 7 * 24 * time.Hour
	DefaultDeliveries  = 90 * 24 * time.Hour
	DefaultNotices     = 2 * 365 * 24 * time.Hour
	DefaultHourly      = 30 * 24 * time.Hour
)

// A batch of 10,000 deletes in tens of milliseconds on SQLite, short enough that API
// writes queued behind it wait no longer than behind a bulk batch.
const defaultBatch = 10_000

// maxBackoff is the longest a failing sweeper waits before trying again.
const maxBackoff = time.Hour

// Sweeper is the worker that deletes expired records. It is a prometheus.Collector of
// its counts: steward_retention_deleted_total{record} and
// steward_retention_last_sweep_timestamp_seconds.
type Sweeper struct {
	store   Store
	tx      txn.Runner
	cfg     Config
	kinds   []kindAge
	deleted *prometheus.CounterVec
	last    prometheus.Gauge
}

type kindAge struct {
	kind string
	age  time.Duration
}

// NewSweeper returns a sweeper over st with cfg's horizons.
func NewSweeper(st Store, tx txn.Runner, cfg Config) *Sweeper {
	cfg.Idempotency = orDefault(cfg.Idempotency, DefaultIdempotency)
	cfg.Deliveries = orDefault(cfg.Deliveries, DefaultDeliveries)
	cfg.Notices = orDefault(cfg.Notices, DefaultNotices)
	cfg.HourlyCheckpoints = orDefault(cfg.HourlyCheckpoints, DefaultHourly)
	cfg.Every = orDefault(cfg.Every, 10*time.Minute)
	if cfg.Batch <= 0 {
		cfg.Batch = defaultBatch
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sweeper{store: st, tx: tx, cfg: cfg, kinds: []kindAge{
		{Idempotency, cfg.Idempotency}, {Deliveries, cfg.Deliveries}, {Notices, cfg.Notices},
	}}
	s.deleted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "steward_retention_deleted_total", Help: "Expired records deleted, by record.",
	}, []string{"record"})
	for _, k := range s.kinds {
		s.deleted.WithLabelValues(k.kind) // present at 0 before the first deletion
	}
	s.deleted.WithLabelValues(Checkpoints)
	s.last = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "steward_retention_last_sweep_timestamp_seconds", Help: "When the last complete sweep ended (Unix seconds).",
	})
	return s
}

// IdempotencyTTL returns how long cfg keeps idempotency records.
func IdempotencyTTL(cfg Config) time.Duration {
	return orDefault(cfg.Idempotency, DefaultIdempotency)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Sweep deletes every expired record now, one batch per transaction, thins the audit
// log's checkpoints, and returns how many of each kind it deleted.
func (s *Sweeper) Sweep(ctx context.Context) (map[string]int, error) {
	now := s.cfg.Now()
	counts := map[string]int{}
	for _, k := range s.kinds {
		before := now.Add(-k.age)
		for {
			var n int
			err := s.tx.Write(ctx, func(ctx context.Context) (err error) {
				n, err = s.store.Expire(ctx, k.kind, before, s.cfg.Batch)
				return err
			})
			if err != nil {
				return counts, err
			}
			counts[k.kind] += n
			s.deleted.WithLabelValues(k.kind).Add(float64(n))
			if n < s.cfg.Batch {
				break
			}
		}
	}
	n, err := s.thin(ctx, now)
	counts[Checkpoints] += n
	if err != nil {
		return counts, err
	}
	s.last.Set(float64(s.cfg.Now().UnixNano()) / 1e9)
	return counts, nil
}

// Run sweeps at once and then every Config.Every (±10%) until ctx ends, and returns nil.
// A failed sweep is logged and tried again after a wait that doubles with each failure,
// up to an hour: a database that is down or full does not stop the API.
func (s *Sweeper) Run(ctx context.Context) error {
	wait := time.Duration(0)
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		counts, err := s.Sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			failures++
			wait = min(s.cfg.Every<<min(failures-1, 10), maxBackoff)
			s.cfg.Logger.Warn("retention sweep failed", "err", err, "deleted", counts, "retry_in", wait)
			continue
		}
		failures = 0
		wait = jitter(s.cfg.Every)
		if counts[Idempotency]+counts[Deliveries]+counts[Notices]+counts[Checkpoints] > 0 {
			s.cfg.Logger.Info("retention sweep", "deleted", counts)
		}
	}
}

// jitter returns d ±10%, so that processes started together do not sweep together.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}

// Describe implements prometheus.Collector.
func (s *Sweeper) Describe(ch chan<- *prometheus.Desc) {
	s.deleted.Describe(ch)
	s.last.Describe(ch)
}

// Collect implements prometheus.Collector.
func (s *Sweeper) Collect(ch chan<- prometheus.Metric) {
	s.deleted.Collect(ch)
	s.last.Collect(ch)
}
