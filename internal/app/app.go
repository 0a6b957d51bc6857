// Package app builds Steward's services and workers from its stores: the one wiring that
// cmd/steward and every test use. A new domain is one edit here: its store in Stores
// (which sqlstore fills), its service in App, its workers in Workers.
package app

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/idempotency"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/reports"
	"github.com/stewardhq/steward/internal/retention"
	"github.com/stewardhq/steward/internal/review"
	"github.com/stewardhq/steward/internal/takeout"
	"github.com/stewardhq/steward/internal/txn"
	"github.com/stewardhq/steward/internal/vault"
)

// Stores is every store the services need, over one database.
type Stores struct {
	Tx          txn.Runner
	Accounts    accounts.Store
	Audit       AuditStore
	Keys        auth.Store
	Idempotency idempotency.Store
	Sanctions   SanctionStore
	Notices     notify.Store
	Webhooks    notify.WebhookStore
	BulkActions bulk.Store
	Review      review.Store
	Appeals     appeals.Store
	Reports     reports.Store
	Ledger      ledger.Store
	Vault       vault.Store
	Retention   retention.Store
	Takeout     takeout.Store
	Leak        leak.Store
	Incidents   leak.IncidentStore
	Evidence    leak.EvidenceStore
	Users       auth.UserStore // the console's staff users, sessions and portal links
	Signals     SignalStore    // the workers' signals for /metrics; none when nil
}

// AuditStore is the audit log's store: entries appended by every change, and the tree
// the sequencer builds over them.
type AuditStore interface {
	audit.Store
	audit.TreeStore
}

// SanctionStore keeps sanctions and is the feed every process's decision index follows.
type SanctionStore interface {
	enforce.Store
	enforce.Feed
}

// Config is what the wiring takes besides the stores. The zero value serves tests.
type Config struct {
	Logger *slog.Logger // none when nil
	// Locale is the notices' language for accounts whose own is not offered; "en" when
	// empty.
	Locale string
	// AuditKey signs the audit log's checkpoints; without it there is no Sequencer.
	AuditKey *audit.Key
	// Bulk tunes the bulk runner; its Logger defaults to Logger.
	Bulk bulk.Config
	// Webhooks says which addresses webhooks may reach (serve --webhook-allow-private).
	Webhooks notify.Reach
	// Appeals tunes appeals (clock, polling, the quality-review draw); its Announcer
	// and Logger are filled in.
	Appeals appeals.Config
	// Reports tunes reporter weights and brigade detection.
	Reports reports.Config
	// MasterKey wraps the vault's data keys (serve reads STEWARD_MASTER_KEY_FILE or
	// master.key in the data directory); the process's memory key when nil, for tests.
	MasterKey *vault.Master
	// Vault tunes the vault: Names says how its entries, which users' access logs show,
	// name the staff who acted (serve --access-log-names); its Master (MasterKey) and
	// Alerter are filled in.
	Vault vault.Config
	// Retention says how long idempotency records, delivery history and notices are
	// kept (serve --idempotency-ttl, --delivery-history, --notice-history); its Logger
	// defaults to Logger.
	Retention retention.Config
	// Takeout says where archives are written (serve: <data dir>/exports) and how long
	// they download (serve --export-ttl); without a Dir there is no takeout worker. Its
	// Logger defaults to Logger and its Locale to Locale.
	Takeout takeout.Config
	// Incidents tunes incidents (deadlines per grade, the timer's clock and polling);
	// its Announcer, Logger and Leaks (the leak investigations, for
	// {"leak": ID}) are filled in.
	Incidents leak.IncidentConfig
	// Staff tunes console sign-in and portal sessions.
	Staff auth.StaffConfig
}

// App is Steward's services and workers wired over one set of stores.
type App struct {
	loaded atomic.Bool // Start has loaded the decision index

	Stores   Stores
	Recorder *audit.Recorder // every change's audit entry
	Audit    *audit.Log      // checkpoints, entries and proofs
	Keys     *auth.Keyring
	Accounts *accounts.Service
	Index    *enforce.Index // the check API's decisions, kept by Follower
	Enforce  *enforce.Service
	Notices  *notify.Notifier
	Webhooks *notify.Webhooks
	Bulk     *bulk.Service
	Appeals  *appeals.Service
	Reports  *reports.Service
	Ledger   *ledger.Service
	Vault    *vault.Service
	Takeout  *takeout.Service
	Leak     *leak.Service
	// Incidents declares breaches, tells their users, renders their reports.
	Incidents *leak.Incidents
	// Evidence keeps chat transcripts and call hashes sealed and anchored in the audit log.
	Evidence *leak.EvidenceService
	Staff    *auth.Staff // console sign-in and portal sessions

	// Workers (see Workers).
	Sequencer  *audit.Sequencer // nil without Config.AuditKey
	Follower   *enforce.Follower
	Dispatcher *notify.Dispatcher
	Retention  *retention.Sweeper // deletes expired records; a prometheus.Collector of its counts
	// Backups takes backups on schedule (sqlstore.DB.BackupWorker, which serve sets with
	// --backup-dir); nil without. A prometheus.Collector of its progress.
	Backups Worker

	// Signals serves the workers' lags, states and rates on /metrics (signals.go); nil
	// without Stores.Signals.
	Signals prometheus.Collector
}

// New wires the services over st.
func New(st Stores, cfg Config) (*App, error) {
	if ttl, ok := st.Idempotency.(interface {
		WithTTL(time.Duration) idempotency.Store
	}); ok {
		// Lookups ignore records older than the sweeper keeps, swept or not.
		st.Idempotency = ttl.WithTTL(retention.IdempotencyTTL(cfg.Retention))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Locale == "" {
		cfg.Locale = "en"
	}
	rec := audit.NewRecorder(st.Audit)
	ix := enforce.NewIndex()
	cfg.Vault.Master, cfg.Vault.Alerter = cfg.MasterKey, securityAlerts{st.Webhooks}
	vlt, err := vault.NewService(st.Vault, st.Accounts, st.Tx, rec, cfg.Vault)
	if err != nil {
		return nil, err
	}
	st.Webhooks = sealedWebhooks{st.Webhooks, vlt}
	a := &App{
		Vault:      vlt,
		Stores:     st,
		Recorder:   rec,
		Audit:      audit.NewLog(st.Audit, st.Tx),
		Keys:       auth.NewKeyring(st.Keys, st.Accounts, st.Tx, rec),
		Staff:      auth.NewStaff(st.Users, st.Accounts, st.Tx, rec, cfg.Staff),
		Accounts:   accounts.NewService(st.Accounts, st.Tx, rec),
		Index:      ix,
		Notices:    notify.NewNotifier(st.Notices, st.Webhooks, st.Accounts, cfg.Locale),
		Webhooks:   notify.NewWebhooks(st.Webhooks, st.Tx, rec, cfg.Webhooks),
		Follower:   enforce.NewFollower(st.Sanctions, ix, log),
		Dispatcher: notify.NewDispatcher(st.Webhooks, st.Tx, cfg.Webhooks, log),
	}
	// Sanction changes are announced to the users (notify) and to appeals, which closes
	// the open appeals of a sanction lifted by anyone else.
	told := &announcers{a.Notices}
	a.Enforce = enforce.NewService(st.Sanctions, st.Accounts, st.Tx, rec, ix, enforce.Config{Announcer: told})
	a.Ledger = ledger.NewService(st.Ledger, st.Accounts, st.Tx, rec, ledger.Config{Announcer: a.Notices})
	if cfg.AuditKey != nil {
		a.Sequencer = audit.NewSequencer(a.Audit, cfg.AuditKey, log)
	}
	if cfg.Bulk.Logger == nil {
		cfg.Bulk.Logger = log
	}
	if cfg.Bulk.Holder == nil {
		cfg.Bulk.Holder = ledgerHolds{a.Ledger}
	}
	if cfg.Retention.Logger == nil {
		cfg.Retention.Logger = log
	}
	a.Retention = retention.NewSweeper(st.Retention, st.Tx, cfg.Retention)
	if a.Bulk, err = bulk.NewService(st.BulkActions, st.Accounts, a.Enforce, st.Tx, rec, cfg.Bulk); err != nil {
		return nil, err
	}
	cfg.Appeals.Announcer = a.Notices
	if cfg.Appeals.Funds == nil {
		cfg.Appeals.Funds = heldFunds{a.Ledger}
	}
	if cfg.Appeals.Logger == nil {
		cfg.Appeals.Logger = log
	}
	if st.Signals != nil {
		a.Signals = &signalCollector{store: st.Signals, bulk: a.Bulk, log: log, now: time.Now}
	}
	a.Appeals = appeals.NewService(st.Appeals, st.Review, a.Enforce, a.Bulk, st.Accounts, st.Tx, rec, cfg.Appeals)
	*told = append(*told, a.Appeals)
	a.Reports = reports.NewService(reports.Deps{Store: st.Reports, Accounts: st.Accounts, Sanctions: sanctioned{a.Enforce},
		Tx: st.Tx, Audit: rec, Announcer: a.Notices, Queue: st.Review, Imposer: imposer{a.Enforce}}, cfg.Reports)
	a.Takeout = newTakeout(a, cfg, log)
	a.Leak = leak.NewService(st.Leak, vlt, st.Tx, rec, leak.Config{Alerter: leakAlerts{st.Webhooks}})
	if cfg.Incidents.Announcer == nil {
		cfg.Incidents.Announcer = a.Notices
	}
	if cfg.Incidents.Leaks == nil {
		cfg.Incidents.Leaks = a.Leak
	}
	if cfg.Incidents.Logger == nil {
		cfg.Incidents.Logger = log
	}
	a.Incidents = leak.NewIncidents(st.Incidents, st.Accounts, st.Tx, rec, cfg.Incidents)
	a.Evidence = leak.NewEvidence(st.Evidence, st.Accounts, st.Tx, rec, vlt)
	return a, nil
}

// announcers announces each sanction change to every one of them, in order.
type announcers []enforce.Announcer

func (as *announcers) Prepare(ctx context.Context, cs ...enforce.Change) (enforce.Announcement, error) {
	out := make(announcements, 0, len(*as))
	for _, a := range *as {
		p, err := a.Prepare(ctx, cs...)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

type announcements []enforce.Announcement

func (as announcements) Write(ctx context.Context) error {
	for _, a := range as {
		if err := a.Write(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Worker is long-running background work: it runs until ctx ends, then finishes what it
// has in hand and returns nil; a failure it cannot retry is its error.
type Worker interface {
	Run(ctx context.Context) error
}

// Workers returns the workers serve runs beside the API, each with its name: the audit
// sequencer (with an AuditKey), the sanction feed's follower, webhook delivery, the
// bulk runner and the retention sweeper. Call Start first.
func (a *App) Workers() map[string]Worker {
	w := map[string]Worker{
		"sanction follower":   a.Follower,
		"webhook delivery":    a.Dispatcher,
		"bulk runner":         a.Bulk,
		"appeal re-screening": a.Appeals.Rescreener(),
		"appeal SLA timer":    a.Appeals.Timer(),
		"retention sweeper":   a.Retention,
		"incident deadlines":  a.Incidents.Timer(),
		"insider alerts":      a.Leak.Insiders(),
	}
	if a.Sequencer != nil {
		w["audit sequencer"] = a.Sequencer
	}
	if b := a.Takeout.Builder(); b != nil {
		w["takeout"] = b
	}
	if a.Backups != nil {
		w["backups"] = a.Backups
	}
	return w
}

// Start does what must succeed before the API serves and the workers run: it checks
// the audit signing key against the log's (registering it the first time) and loads the
// decision index with every active sanction, returning how many.
func (a *App) Start(ctx context.Context) (sanctions int, err error) {
	if a.Sequencer != nil {
		if err := a.Sequencer.Register(ctx); err != nil {
			return 0, err
		}
	}
	if err := a.Vault.Start(ctx); err != nil {
		return 0, err
	}
	n, err := a.Follower.Load(ctx)
	if err == nil {
		a.loaded.Store(true)
	}
	return n, err
}

// Loaded reports whether Start has loaded the decision index, so that checks answer
// from every sanction in force.
func (a *App) Loaded() bool { return a.loaded.Load() }

// heldFunds tells appeals whether an account has money held, which raises its appeals'
// priority (appeals may not import the ledger).
type heldFunds struct{ l *ledger.Service }

func (h heldFunds) Held(ctx context.Context, account string) (bool, error) {
	bs, err := h.l.Wallets(ctx, account)
	if err != nil {
		return false, err
	}
	for _, b := range bs {
		if b.Held > 0 {
			return true, nil
		}
	}
	return false, nil
}

// ledgerHolds places and releases bulk actions' wallet holds (bulk may not import the
// ledger).
type ledgerHolds struct{ l *ledger.Service }

func (h ledgerHolds) HoldTargets(ctx context.Context, hs []bulk.TargetHold) error {
	ids := make([]string, len(hs))
	reqs := make([]ledger.HoldRequest, len(hs))
	for i, t := range hs {
		ids[i] = t.ID
		reqs[i] = ledger.HoldRequest{Account: t.Account, Currency: t.Spec.Currency, All: true, Reason: t.Reason,
			Authority: ledger.HoldAuthority{Authority: t.Authority, DocumentSHA256: t.Spec.DocumentSHA256}}
	}
	return h.l.HoldMany(ctx, ids, reqs)
}

func (h ledgerHolds) ReleaseTargets(ctx context.Context, ids []string, reason string) error {
	_, err := h.l.ReleaseMany(ctx, ids, reason)
	return err
}

// securityAlerts puts the vault's security alerts in the webhook outbox.
type securityAlerts struct{ outbox notify.Outbox }

func (s securityAlerts) Alert(ctx context.Context, a vault.Alert) error {
	return notify.EnqueueAlert(ctx, s.outbox, a.Subject, a.Time, a)
}

// leakAlerts puts leak tracing's security alerts (a canary reached) in the webhook outbox.
type leakAlerts struct{ outbox notify.Outbox }

func (s leakAlerts) Alert(ctx context.Context, a leak.Alert) error {
	return notify.EnqueueAlert(ctx, s.outbox, a.Subject(), a.At, a)
}
