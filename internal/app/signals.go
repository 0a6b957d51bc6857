package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stewardhq/steward/internal/bulk"
)

// Signals is what an operator watches of the workers, read from the database at once,
// so that every process sharing it shows the same.
type Signals struct {
	AuditPending   int64          // audit entries the sequencer has not integrated
	AuditOldest    time.Time      // when the oldest of them was recorded; zero when none
	Outbox         []OutboxLag    // by webhook name
	BulkStates     map[string]int // bulk actions by state
	AppealBreaches int64          // appeals whose SLA deadline passed undecided, ever
}

// OutboxLag is how far one webhook's delivery is behind the outbox.
type OutboxLag struct {
	Webhook string
	Events  int64     // events put in the outbox after the last one it was given (for it or not)
	Oldest  time.Time // when the first of them was made; zero when none
}

// SignalStore reads Signals.
type SignalStore interface {
	Signals(ctx context.Context) (*Signals, error)
}

// signalCollector serves Signals, and the rate of each bulk action at work, on
// /metrics, reading them at each scrape.
type signalCollector struct {
	store SignalStore
	bulk  *bulk.Service
	log   *slog.Logger
	now   func() time.Time
}

var (
	descUp            = prometheus.NewDesc("steward_signals_up", "1 when the last scrape read the workers' signals from the database, else 0.", nil, nil)
	descAuditLag      = prometheus.NewDesc("steward_audit_sequencer_lag_entries", "Audit entries committed and not yet in the tree.", nil, nil)
	descAuditLagSec   = prometheus.NewDesc("steward_audit_sequencer_lag_seconds", "Age of the oldest audit entry not yet in the tree (0 when none).", nil, nil)
	descOutboxLag     = prometheus.NewDesc("steward_webhook_outbox_lag_events", "Outbox events after the last one given to the webhook.", []string{"webhook"}, nil)
	descOutboxLagSec  = prometheus.NewDesc("steward_webhook_outbox_lag_seconds", "Age of the first outbox event not yet given to the webhook (0 when none).", []string{"webhook"}, nil)
	descBulkStates    = prometheus.NewDesc("steward_bulk_actions", "Bulk actions by state.", []string{"state"}, nil)
	descBulkRate      = prometheus.NewDesc("steward_bulk_rate", "Targets (accounts while preparing) per second of each bulk action at work, in its current phase.", []string{"action", "state"}, nil)
	descAppealBreach  = prometheus.NewDesc("steward_appeal_sla_breaches_total", "Appeals whose SLA deadline passed undecided.", nil, nil)
	signalDescs       = []*prometheus.Desc{descUp, descAuditLag, descAuditLagSec, descOutboxLag, descOutboxLagSec, descBulkStates, descBulkRate, descAppealBreach}
	bulkStatesAlways  = []bulk.State{bulk.Draft, bulk.Preparing, bulk.Running, bulk.Canary, bulk.Paused, bulk.Done, bulk.Reverting, bulk.Reverted}
	signalScrapeLimit = 5 * time.Second
)

func (c *signalCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range signalDescs {
		ch <- d
	}
}

func (c *signalCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), signalScrapeLimit)
	defer cancel()
	sg, err := c.store.Signals(ctx)
	if err != nil {
		c.log.Warn("metrics: read the workers' signals", "err", err)
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	now := c.now()
	ch <- prometheus.MustNewConstMetric(descAuditLag, prometheus.GaugeValue, float64(sg.AuditPending))
	ch <- prometheus.MustNewConstMetric(descAuditLagSec, prometheus.GaugeValue, age(now, sg.AuditOldest))
	for _, o := range sg.Outbox {
		ch <- prometheus.MustNewConstMetric(descOutboxLag, prometheus.GaugeValue, float64(o.Events), o.Webhook)
		ch <- prometheus.MustNewConstMetric(descOutboxLagSec, prometheus.GaugeValue, age(now, o.Oldest), o.Webhook)
	}
	for _, st := range bulkStatesAlways {
		ch <- prometheus.MustNewConstMetric(descBulkStates, prometheus.GaugeValue, float64(sg.BulkStates[string(st)]), string(st))
	}
	ch <- prometheus.MustNewConstMetric(descAppealBreach, prometheus.CounterValue, float64(sg.AppealBreaches))
	if sg.BulkStates[string(bulk.Preparing)]+sg.BulkStates[string(bulk.Running)]+sg.BulkStates[string(bulk.Reverting)] == 0 {
		return
	}
	working, err := c.bulk.Working(ctx)
	if err != nil {
		c.log.Warn("metrics: read the bulk actions at work", "err", err)
		return
	}
	for _, st := range working {
		ch <- prometheus.MustNewConstMetric(descBulkRate, prometheus.GaugeValue, st.Rate, st.ID, string(st.State))
	}
}

// age returns how many seconds before now t was; 0 for the zero time.
func age(now, t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return max(now.Sub(t).Seconds(), 0)
}
