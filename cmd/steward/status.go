package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/app"
)

func (e *env) statusCmd() *cobra.Command {
	var f dbFlags
	var url string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print what the workers are doing: readiness, sequencer and webhook lag, bulk actions, appeal breaches",
		Long: `Print, for a person, what /readyz and /metrics say of a running server (--url), or
what the database says (without --url: the lags, states and breaches every server sharing it
shows, but not one process's readiness).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if url != "" {
				return e.statusOfServer(cmd.Context(), strings.TrimSuffix(url, "/"))
			}
			return e.statusOfDatabase(cmd.Context(), f)
		},
	}
	e.addDBFlags(cmd, &f)
	cmd.Flags().StringVar(&url, "url", "", "a running server to ask (its /readyz and /metrics need no key)")
	return cmd
}

func (e *env) statusOfServer(ctx context.Context, url string) error {
	hc := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) ([]byte, int, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", url+path, nil)
		if err != nil {
			return nil, 0, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		return b, resp.StatusCode, err
	}
	body, code, err := get("/readyz")
	if err != nil {
		return err
	}
	var rd struct {
		Ready    bool     `json:"ready"`
		Problems []string `json:"problems"`
		Version  string   `json:"version"`
	}
	if err := json.Unmarshal(body, &rd); err != nil {
		return fmt.Errorf("%s/readyz answered %d: %s", url, code, body)
	}
	if rd.Ready {
		fmt.Fprintf(e.stdout, "ready: yes (steward %s at %s)\n", rd.Version, url)
	} else {
		fmt.Fprintf(e.stdout, "ready: NO (steward %s at %s): %s\n", rd.Version, url, strings.Join(rd.Problems, "; "))
	}
	body, code, err = get("/metrics")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s/metrics answered %d", url, code)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("%s/metrics: %w", url, err)
	}
	return printSignals(e.stdout, fams)
}

func (e *env) statusOfDatabase(ctx context.Context, f dbFlags) error {
	f.readOnly = true
	a, err := openApp(ctx, f, slog.New(slog.DiscardHandler), app.Config{})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.db.Ready(ctx); err != nil {
		fmt.Fprintf(e.stdout, "database: %v\n", err)
	} else {
		fmt.Fprintf(e.stdout, "database: %s, answers\n", a.db.Dialect())
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(a.Signals)
	gathered, err := reg.Gather()
	if err != nil {
		return err
	}
	fams := map[string]*dto.MetricFamily{}
	for _, mf := range gathered {
		fams[mf.GetName()] = mf
	}
	return printSignals(e.stdout, fams)
}

// printSignals prints the workers' signals among fams (see app.Signals) for a person.
func printSignals(w io.Writer, fams map[string]*dto.MetricFamily) error {
	one := func(name string) float64 {
		if mf := fams[name]; mf != nil && len(mf.Metric) > 0 {
			return value(mf.Metric[0])
		}
		return 0
	}
	if mf := fams["steward_signals_up"]; mf == nil {
		return fmt.Errorf("no steward_signals_up among the metrics: a server older than steward status")
	} else if one("steward_signals_up") != 1 {
		fmt.Fprintln(w, "signals: the server could not read them from the database (see its log)")
		return nil
	}
	fmt.Fprintf(w, "audit sequencer: %.0f entries behind, the oldest %s old\n",
		one("steward_audit_sequencer_lag_entries"), secs(one("steward_audit_sequencer_lag_seconds")))
	ages := map[string]float64{}
	for _, m := range metrics(fams, "steward_webhook_outbox_lag_seconds") {
		ages[label(m, "webhook")] = value(m)
	}
	for _, m := range metrics(fams, "steward_webhook_outbox_lag_events") {
		fmt.Fprintf(w, "webhook %s: %.0f outbox events behind, the first %s old\n", label(m, "webhook"), value(m), secs(ages[label(m, "webhook")]))
	}
	var states []string
	for _, m := range metrics(fams, "steward_bulk_actions") {
		if v := value(m); v > 0 {
			states = append(states, fmt.Sprintf("%s %.0f", label(m, "state"), v))
		}
	}
	if len(states) == 0 {
		states = []string{"none"}
	}
	fmt.Fprintf(w, "bulk actions: %s\n", strings.Join(states, ", "))
	for _, m := range metrics(fams, "steward_bulk_rate") {
		fmt.Fprintf(w, "bulk action %s: %s at %.0f/s\n", label(m, "action"), label(m, "state"), value(m))
	}
	fmt.Fprintf(w, "appeal SLA breaches: %.0f\n", one("steward_appeal_sla_breaches_total"))
	if sw := metrics(fams, "steward_retention_deleted_total"); len(sw) > 0 {
		var parts []string
		for _, m := range sw {
			parts = append(parts, fmt.Sprintf("%s %.0f", label(m, "record"), value(m)))
		}
		fmt.Fprintf(w, "retention (this process): deleted %s\n", strings.Join(parts, ", "))
	}
	return nil
}

// metrics returns the series of family name, sorted by their labels.
func metrics(fams map[string]*dto.MetricFamily, name string) []*dto.Metric {
	mf := fams[name]
	if mf == nil {
		return nil
	}
	ms := slices.Clone(mf.Metric)
	slices.SortFunc(ms, func(a, b *dto.Metric) int { return strings.Compare(a.String(), b.String()) })
	return ms
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

func secs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(100 * time.Millisecond).String()
}
