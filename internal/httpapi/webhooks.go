package httpapi

import (
	"context"
	"net/http"

	"github.com/stewardhq/steward/internal/notify"
)

// webhookBody is the body of PUT /v1/webhooks/{name}; the path names the webhook.
type webhookBody struct {
	URL    string   `json:"url"`
	Secret string   `json:"secret"` // signs deliveries: Steward-Signature: t=UNIX,v1=HEX(HMAC-SHA256(secret, "t.body"))
	Events []string `json:"events"` // sanction.created, sanction.lifted, sanction.amended, notice.created
}

type webhookReply = notify.Webhook

// webhookList is the reply of GET /v1/webhooks: every webhook, in name order, without
// their secrets.
type webhookList struct {
	Webhooks []*notify.Webhook `json:"webhooks"`
}

type deliveryPage struct {
	Deliveries []*notify.Delivery `json:"deliveries"`
	Next       string             `json:"next,omitempty"` // cursor of the next page; absent on the last
}

func (s *server) putWebhook(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	var b webhookBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	w := &notify.Webhook{Name: r.PathValue("name"), URL: b.URL, Secret: b.Secret, Events: b.Events}
	// Resolving the URL's host may take a while: not inside the write transaction.
	if err := s.Webhooks.Check(r.Context(), w); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		created, err := s.Webhooks.Put(ctx, w)
		if created {
			return http.StatusCreated, w, err
		}
		return http.StatusOK, w, err
	}, nil
}

func (s *server) listDeliveries(r *http.Request) (int, any, error) {
	after, limit, err := pageQuery(r, anyKey) // Webhooks.Deliveries checks it
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Webhooks.Deliveries(r.Context(), r.PathValue("name"), after, limit+1)
	if err != nil {
		return 0, nil, err
	}
	var p deliveryPage
	p.Deliveries, p.Next = page(list, limit, func(d *notify.Delivery) string { return d.ID })
	return http.StatusOK, p, nil
}

func (s *server) listWebhooks(r *http.Request) (int, any, error) {
	list, err := s.Webhooks.List(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, webhookList{Webhooks: append([]*notify.Webhook{}, list...)}, nil
}

func (s *server) deleteWebhook(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	if err := noBody(body); err != nil {
		return nil, err
	}
	name := r.PathValue("name")
	return func(ctx context.Context) (int, any, error) {
		w, err := s.Webhooks.Delete(ctx, name)
		return http.StatusOK, w, err
	}, nil
}
