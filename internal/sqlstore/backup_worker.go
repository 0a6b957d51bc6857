package sqlstore

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BackupSchedule is when and where a BackupWorker takes backups (serve --backup-dir,
// --backup-every, --backup-keep).
type BackupSchedule struct {
	Dir   string        // each backup is a directory steward-<UTC time> in Dir
	Every time.Duration // from the newest backup's start to the next
	Keep  int           // the newest Keep backups are kept, older ones removed
	// Retry is how long after a failure the next attempt comes, doubling with each
	// failure in a row up to Every (a minute when zero).
	Retry   time.Duration
	Options BackupOptions
	Logger  *slog.Logger
}

// backupPrefix starts the name of every backup a BackupWorker takes; the rest is its UTC
// start time, so names sort by age.
const backupPrefix = "steward-"

const backupNameTime = "20060102T150405.000Z"

// BackupWorker takes a backup on schedule, keeps the newest, and retries a failed one,
// logging each failure. It is a prometheus.Collector of steward_backup_last_success_
// timestamp_seconds, steward_backup_failures_total and steward_backup_last_duration_seconds.
type BackupWorker struct {
	db       *DB
	s        BackupSchedule
	last     prometheus.Gauge
	took     prometheus.Gauge
	failures prometheus.Counter
}

// BackupWorker returns the worker that backs db up on schedule s.
func (db *DB) BackupWorker(s BackupSchedule) *BackupWorker {
	if s.Retry <= 0 {
		s.Retry = time.Minute
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Options.Now == nil {
		s.Options.Now = time.Now
	}
	return &BackupWorker{db: db, s: s,
		last: prometheus.NewGauge(prometheus.GaugeOpts{Name: "steward_backup_last_success_timestamp_seconds",
			Help: "When the last successful backup's snapshot was taken (Unix seconds); 0 before the first."}),
		took: prometheus.NewGauge(prometheus.GaugeOpts{Name: "steward_backup_last_duration_seconds",
			Help: "How long the last successful backup took."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "steward_backup_failures_total",
			Help: "Backups that failed (each is logged and retried)."}),
	}
}

// Describe implements prometheus.Collector.
func (w *BackupWorker) Describe(ch chan<- *prometheus.Desc) {
	w.last.Describe(ch)
	w.took.Describe(ch)
	w.failures.Describe(ch)
}

// Collect implements prometheus.Collector.
func (w *BackupWorker) Collect(ch chan<- prometheus.Metric) {
	w.last.Collect(ch)
	w.took.Collect(ch)
	w.failures.Collect(ch)
}

// Run takes backups until ctx ends. The first comes at once unless the newest backup in
// the directory is younger than Every. A failure is logged, counted and retried after
// Retry, doubling up to Every: a backup is never skipped.
func (w *BackupWorker) Run(ctx context.Context) error {
	now := w.s.Options.Now
	w.removePartial()
	due := now()
	if newest, ok := w.newest(); ok {
		due = newest.Add(w.s.Every)
		w.last.Set(float64(newest.UnixNano()) / 1e9)
	}
	retry := w.s.Retry
	for {
		t := time.NewTimer(max(0, due.Sub(now())))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		start := now()
		if err := w.take(ctx, start); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.failures.Inc()
			w.s.Logger.Error("backup failed: retrying", "dir", w.s.Dir, "err", err, "retry_in", retry.String())
			due, retry = now().Add(retry), min(2*retry, w.s.Every)
			continue
		}
		retry = w.s.Retry
		due = start.Add(w.s.Every)
	}
}

// take takes one backup, named for start, then removes the backups beyond Keep.
func (w *BackupWorker) take(ctx context.Context, start time.Time) error {
	dir := filepath.Join(w.s.Dir, backupPrefix+start.UTC().Format(backupNameTime))
	m, err := w.db.Backup(ctx, dir, w.s.Options)
	if err != nil {
		return err
	}
	took := w.s.Options.Now().Sub(start)
	w.last.Set(float64(start.UnixNano()) / 1e9)
	w.took.Set(took.Seconds())
	w.s.Logger.Info("backup taken", "dir", dir, "audit_size", m.Audit.Size, "duration_ms", took.Milliseconds())
	names := w.backups()
	for len(names) > max(w.s.Keep, 1) {
		if err := os.RemoveAll(filepath.Join(w.s.Dir, names[0])); err != nil {
			w.s.Logger.Error("removing an old backup failed", "dir", names[0], "err", err)
		}
		names = names[1:]
	}
	return nil
}

// backups lists the names of the complete backups in the directory, oldest first.
func (w *BackupWorker) backups() []string {
	ents, _ := os.ReadDir(w.s.Dir)
	var names []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), backupPrefix) {
			if _, err := os.Stat(filepath.Join(w.s.Dir, e.Name(), ManifestFile)); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	return names
}

// newest returns when the newest complete backup in the directory was started.
func (w *BackupWorker) newest() (time.Time, bool) {
	names := w.backups()
	for i := len(names) - 1; i >= 0; i-- {
		if t, err := time.Parse(backupNameTime, strings.TrimPrefix(names[i], backupPrefix)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// removePartial removes what a backup cut short by a crash left in the directory.
func (w *BackupWorker) removePartial() {
	partial, _ := filepath.Glob(filepath.Join(w.s.Dir, "."+backupPrefix+"*.partial-*"))
	for _, p := range partial {
		os.RemoveAll(p)
	}
}
