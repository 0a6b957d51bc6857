package app

import (
	"context"
	"log/slog"

	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/takeout"
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
	st := a.Stores
	return takeout.NewService(takeout.Deps{Store: st.Takeout, Accounts: st.Accounts, Tx: st.Tx, Audit: a.Recorder, Log: a.Audit,
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
