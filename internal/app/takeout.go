package app

import (
	"context"
	"log/slog"

	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/takeout"
	"github.com/stewardhq/steward/internal/vault"
)

// newTakeout wires data exports over every domain they read.
func newTakeout(a *App, cfg Config, log *slog.Logger) *takeout.Service {
	tc := cfg.Takeout
	if tc.Logger == nil {
		tc.Logger = log
	}
	if tc.Locale == "" {
		tc.Locale = cfg.Locale
	}
	if tc.Reach == nil {
		tc.Reach = cfg.Webhooks // sources are called under the webhooks' policy
	}
	if tc.Sign == nil {
		tc.Sign = notify.Sign
	}
	st := a.Stores
	return takeout.NewService(takeout.Deps{Store: sealedSources{st.Takeout, a.Vault}, Accounts: st.Accounts, Tx: st.Tx, Audit: a.Recorder, Log: a.Audit,
		Enforce: a.Enforce, Notices: noticesOf{st.Notices}, Appeals: a.Appeals, Reports: a.Reports != nil,
		Ledger: a.Ledger, Vault: a.Vault}, tc)
}

// noticesOf reads an account's notices for its export (takeout may not import notify).
type noticesOf struct{ store notify.Store }

func (n noticesOf) EachNotice(ctx context.Context, account string, each func(sanction string, notice any) error) error {
	const page = 500
	for after := ""; ; {
		ns, err := n.store.List(ctx, account, after, page)
		if err != nil {
			return err
		}
		for _, x := range ns {
			if err := each(x.Sanction, x); err != nil {
				return err
			}
		}
		if len(ns) < page {
			return nil
		}
		after = ns[len(ns)-1].ID
	}
}

// sealedSources keeps export sources' secrets sealed under the vault's keys, as
// webhook secrets are (see sealedWebhooks).
type sealedSources struct {
	takeout.Store
	vault *vault.Service
}

func sourceSecret(name string) string { return "export-source:" + name }

func (s sealedSources) PutSource(ctx context.Context, src *takeout.Source) (bool, error) {
	sealed, err := s.vault.SealSecret(ctx, sourceSecret(src.Name), src.Secret)
	if err != nil {
		return false, err
	}
	c := *src
	c.Secret = sealed
	return s.Store.PutSource(ctx, &c)
}

func (s sealedSources) open(ctx context.Context, src *takeout.Source, err error) (*takeout.Source, error) {
	if err != nil {
		return nil, err
	}
	src.Secret, err = s.vault.OpenSecret(ctx, sourceSecret(src.Name), src.Secret)
	return src, err
}

func (s sealedSources) GetSource(ctx context.Context, name string) (*takeout.Source, error) {
	src, err := s.Store.GetSource(ctx, name)
	return s.open(ctx, src, err)
}

func (s sealedSources) DeleteSource(ctx context.Context, name string) (*takeout.Source, error) {
	src, err := s.Store.DeleteSource(ctx, name)
	return s.open(ctx, src, err)
}

func (s sealedSources) Sources(ctx context.Context) ([]*takeout.Source, error) {
	srcs, err := s.Store.Sources(ctx)
	for _, src := range srcs {
		if err == nil {
			_, err = s.open(ctx, src, nil)
		}
	}
	return srcs, err
}
