package takeout

import "github.com/prometheus/client_golang/prometheus"

// metrics count what the builder did, for /metrics.
type metrics struct {
	exports  *prometheus.CounterVec // by outcome: done, failed, expired
	attempts *prometheus.CounterVec // source calls by result: answered, failed
}

func newMetrics() metrics {
	return metrics{
		exports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steward_takeout_exports_total", Help: "Data exports finished by this process, by outcome (done, failed, expired).",
		}, []string{"outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steward_takeout_source_calls_total", Help: "Calls to export sources by this process, by result (answered, failed).",
		}, []string{"result"}),
	}
}

// Describe implements prometheus.Collector.
func (s *Service) Describe(ch chan<- *prometheus.Desc) {
	s.m.exports.Describe(ch)
	s.m.attempts.Describe(ch)
}

// Collect implements prometheus.Collector.
func (s *Service) Collect(ch chan<- prometheus.Metric) {
	s.m.exports.Collect(ch)
	s.m.attempts.Collect(ch)
}
