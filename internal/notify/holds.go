package notify

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/language"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/ledger"
)

//go:embed holds/messages/*.tmpl
var holdFiles embed.FS

var _ ledger.Announcer = (*Notifier)(nil)

// holdMessages are the templates of hold notices, one set per locale like Messages.
var holdMessages = func() *Messages {
	sub, err := fs.Sub(holdFiles, "holds")
	if err == nil {
		var m *Messages
		if m, err = loadMessages(sub); err == nil {
			return m
		}
	}
	panic(err) // a test catches a broken template before release
}()

// holdView is what a hold notice's template sees.
type holdView struct {
	Event, Kind, Issuer, Reference, Reason, HoldID string
	Currency, Amount                               string
	All                                            bool
	At                                             time.Time
	ExpiresAt                                      *time.Time
	ReleasedAll                                    bool
	Released, Remaining, ReleaseReason             string // for a release; Remaining "" when none is left
}

// zeroDecimals lists the ISO 4217 currencies without minor units that notices show.
var zeroDecimals = map[string]bool{"JPY": true, "KRW": true, "VND": true, "CLP": true, "ISK": true}

// money writes n minor units of currency as a person reads them, e.g. "1,234.50 CNY".
func money(n int64, currency string) string {
	if zeroDecimals[currency] {
		return fmt.Sprintf("%d %s", n, currency)
	}
	return fmt.Sprintf("%d.%02d %s", n/100, n%100, currency)
}

func holdViewOf(n ledger.HoldNotice) holdView {
	h := n.Hold
	v := holdView{Event: string(n.Event), Kind: string(h.Authority.Kind), Issuer: h.Authority.Issuer, Reference: h.Authority.Reference,
		Reason: h.Reason, HoldID: h.ID, Currency: h.Currency, All: h.All, At: n.At, ExpiresAt: h.ExpiresAt}
	if !h.All {
		v.Amount = money(h.Amount, h.Currency)
	}
	if r := n.Release; r != nil {
		v.Amount = ""
		v.ReleasedAll, v.ReleaseReason = r.All || h.ReleasedAt != nil, r.Reason
		v.Released = money(r.Amount, h.Currency)
		if h.ReleasedAt == nil {
			v.Remaining = money(h.Amount, h.Currency)
		}
	}
	return v
}

// AnnounceHolds writes a notice to each hold's account, in its locale, saying what is
// held or released, under whose order, and how to contest it. It implements
// ledger.Announcer; call it inside the hold's write transaction.
func (n *Notifier) AnnounceHolds(ctx context.Context, ns ...ledger.HoldNotice) error {
	ids := make([]string, len(ns))
	for i, h := range ns {
		ids[i] = h.Hold.Account
	}
	locales, err := n.accounts.Locales(ctx, ids)
	if err != nil {
		return err
	}
	notices := make([]*Notice, len(ns))
	for i, h := range ns {
		locale, ok := locales[h.Hold.Account]
		if !ok {
			locale = n.fallback
		}
		want, _ := language.Parse(locale)
		_, at, _ := holdMessages.matcher.Match(want)
		tag := holdMessages.tags[at]
		var parts [2]string
		for j, part := range []string{"subject", "body"} {
			var sb strings.Builder
			if err := holdMessages.sets[tag].ExecuteTemplate(&sb, part, holdViewOf(h)); err != nil {
				return fmt.Errorf("notify: hold %s %s: %w", tag, part, err)
			}
			parts[j] = sb.String()
		}
		notices[i] = &Notice{ID: uuid.Must(uuid.NewV7()).String(), Account: h.Hold.Account, Event: enforce.Event(h.Event),
			Locale: tag.String(), Subject: strings.TrimSpace(parts[0]), Body: tidy(parts[1]), CreatedAt: h.At.UTC()}
	}
	return n.store.Insert(ctx, notices...)
}
