package app

import (
	"context"

	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/vault"
)

// sealedWebhooks keeps webhook secrets sealed under the vault's keys (see
// vault.Service.SealSecret), so the database holds none in clear; a secret stored
// before, in clear, is read as it is and sealed when the webhook is next put.
type sealedWebhooks struct {
	notify.WebhookStore
	vault *vault.Service
}

func webhookSecret(name string) string { return "webhook:" + name }

func (s sealedWebhooks) PutWebhook(ctx context.Context, w *notify.Webhook) (bool, error) {
	sealed, err := s.vault.SealSecret(ctx, webhookSecret(w.Name), w.Secret)
	if err != nil {
		return false, err
	}
	c := *w
	c.Secret = sealed
	return s.WebhookStore.PutWebhook(ctx, &c)
}

func (s sealedWebhooks) open(ctx context.Context, w *notify.Webhook, err error) (*notify.Webhook, error) {
	if err != nil {
		return nil, err
	}
	w.Secret, err = s.vault.OpenSecret(ctx, webhookSecret(w.Name), w.Secret)
	return w, err
}

func (s sealedWebhooks) GetWebhook(ctx context.Context, name string) (*notify.Webhook, error) {
	w, err := s.WebhookStore.GetWebhook(ctx, name)
	return s.open(ctx, w, err)
}

func (s sealedWebhooks) DeleteWebhook(ctx context.Context, name string) (*notify.Webhook, error) {
	w, err := s.WebhookStore.DeleteWebhook(ctx, name)
	return s.open(ctx, w, err)
}

func (s sealedWebhooks) Webhooks(ctx context.Context) ([]*notify.Webhook, error) {
	ws, err := s.WebhookStore.Webhooks(ctx)
	for _, w := range ws {
		if err == nil {
			_, err = s.open(ctx, w, nil)
		}
	}
	return ws, err
}
