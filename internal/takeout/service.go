package takeout

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/txn"
	"github.com/stewardhq/steward/internal/vault"
)

// Notices reads the notices sent to an account (takeout may not import notify, which
// keeps them).
type Notices interface {
	// EachNotice calls each with every notice sent to account, newest first: the
	// sanction it tells of and the notice as it is exported (its JSON form).
	EachNotice(ctx context.Context, account string, each func(sanction string, notice any) error) error
}

// Deps is what a Service reads and writes. A domain left nil is not exported: its part
// is absent from every archive and its manifest.
type Deps struct {
	Store    Store
	Accounts accounts.Store
	Tx       txn.Runner
	Audit    *audit.Recorder
	Log      *audit.Log // the checkpoint and the access log

	Enforce *enforce.Service // the sanctions part, with Notices
	Notices Notices
	Appeals *appeals.Service
	Reports bool // the reports the account filed, read through Store
	Ledger  *ledger.Service
	Vault   *vault.Service // personal data, and the access log's subject
}

// Config is what a Service takes besides its dependencies. The zero value serves tests
// that build no archive.
type Config struct {
	// Dir is where archives are written (<data dir>/exports); without it there is no
	// Builder.
	Dir    string
	TTL    time.Duration // how long an archive downloads (DefaultTTL when zero)
	Poll   time.Duration // how often the builder looks for work (a second when zero)
	Lease  time.Duration // how long a builder holds an export before another may take it (10 minutes when zero)
	Locale string        // index.html's language for an account without one offered ("en" when empty)
	Now    func() time.Time
	Logger *slog.Logger

	// Sources (see connect.go). Reach and Sign are notify's; BaseURL is this server's
	// address as sources reach it (the upload URLs start with it).
	Reach   Reach
	Sign    Signer
	BaseURL string
	// A source that fails is asked again after Backoff, doubling up to MaxBackoff; one
	// that answered but sent nothing is asked again after Recall; after GiveUp from the
	// export's start its part is listed missing. 1 s, 10 min, 1 h and 24 h when zero.
	Backoff, MaxBackoff, Recall, GiveUp time.Duration
	MaxPart                             int64 // the largest part a source may upload (DefaultMaxPart when zero)
}

// DefaultMaxPart is the largest part a source may upload by default.
const DefaultMaxPart = 4 << 30

// Service starts exports, shows them and serves their archives; its Builder makes them.
type Service struct {
	d   Deps
	cfg Config
	m   metrics
}

// NewService returns a Service over d.
func NewService(d Deps, cfg Config) *Service {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Minute
	}
	if cfg.Locale == "" {
		cfg.Locale = "en"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.Backoff, time.Second}, {&cfg.MaxBackoff, 10 * time.Minute}, {&cfg.Recall, time.Hour}, {&cfg.GiveUp, 24 * time.Hour}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if cfg.MaxPart <= 0 {
		cfg.MaxPart = DefaultMaxPart
	}
	return &Service{d: d, cfg: cfg, m: newMetrics()}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

// Start queues an export of the account's data, for the principal in ctx: the account's
// own holder, or staff acting on their behalf (recorded so). It is allowed whatever the
// account's sanctions. Returns errs.Invalid for a malformed account ID and errs.NotFound
// when there is no such account.
func (s *Service) Start(ctx context.Context, account string) (*Export, error) {
	if err := accounts.CheckID("id", account); err != nil {
		return nil, err
	}
	who := principal.FromContext(ctx)
	if who.IsUser() && who.Account() != account {
		return nil, errs.E(errs.NotFound, "no account %q", account)
	}
	now := s.now()
	e := &Export{ID: uuid.Must(uuid.NewV7()).String(), Account: account, State: Queued, CreatedBy: who,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.cfg.TTL), Progress: Progress{Total: len(s.parts())}}
	var cx map[string]string
	if !who.IsUser() {
		cx = map[string]string{"on_behalf_of": account}
	}
	err := s.d.Tx.Write(ctx, func(ctx context.Context) error {
		if _, err := s.d.Accounts.Get(ctx, account); err != nil {
			return err
		}
		if err := s.d.Store.InsertExport(ctx, e); err != nil {
			return err
		}
		return s.d.Audit.Record(ctx, audit.Change{Action: ActionStart, Subject: account, Value: e, Context: cx})
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Get returns the export. An end user gets only their own, and staff asking with account
// set only that account's: errs.NotFound for any other. Returns errs.Invalid for a
// malformed ID.
func (s *Service) Get(ctx context.Context, account, id string) (*Export, error) {
	if err := CheckID("id", id); err != nil {
		return nil, err
	}
	e, err := s.d.Store.GetExport(ctx, id)
	if err != nil {
		return nil, err
	}
	if p := principal.FromContext(ctx); p.IsUser() {
		account = p.Account()
	}
	if account != "" && e.Account != account {
		return nil, errs.E(errs.NotFound, "export %s not found", id)
	}
	return e, nil
}

// List returns up to limit exports of the account, newest first, after the export with
// ID after. An end user lists only their own.
func (s *Service) List(ctx context.Context, account, after string, limit int) ([]*Export, error) {
	if p := principal.FromContext(ctx); p.IsUser() {
		account = p.Account()
	}
	if after != "" {
		if err := CheckID("cursor", after); err != nil {
			return nil, err
		}
	}
	return s.d.Store.ListExports(ctx, account, after, limit)
}

// Archive opens the finished archive of the export (see Get for who may). Returns
// errs.Conflict while it is being made or when it failed, and errs.Gone once it expired.
func (s *Service) Archive(ctx context.Context, account, id string) (*Export, *os.File, error) {
	e, err := s.Get(ctx, account, id)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case e.State == Expired || (e.State == Done && !s.now().Before(e.ExpiresAt)):
		return nil, nil, errs.E(errs.Gone, "export %s expired at %s: its archive was deleted; start another", id, e.ExpiresAt.Format(time.RFC3339))
	case e.State == Failed:
		return nil, nil, errs.E(errs.Conflict, "export %s failed (%s): start another", id, e.Error)
	case e.State != Done:
		return nil, nil, errs.E(errs.Conflict, "export %s is %s (%d of %d parts): its archive is not ready", id, e.State, e.Progress.Done, e.Progress.Total)
	}
	f, err := os.Open(s.archivePath(id))
	if err != nil {
		return nil, nil, errs.E(errs.Gone, "export %s has no archive on this server", id)
	}
	return e, f, nil
}

func (s *Service) archivePath(id string) string { return filepath.Join(s.cfg.Dir, id+".zip") }
