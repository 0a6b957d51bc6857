package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/stewardhq/steward/internal/notify"
)

// followSanctions loads the decision index with every active sanction, then keeps it
// current with the writes of every process sharing the database, and delivers webhook
// events, until the returned stop is called.
func (a *app) followSanctions(ctx context.Context, log *slog.Logger) (stop func(), err error) {
	start := time.Now()
	n, err := a.follower.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load sanctions: %w", err)
	}
	log.Info("sanctions loaded", "active", n, "accounts", a.index.Len(), "duration_ms", time.Since(start).Milliseconds())
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { a.follower.Run(ctx) })
	// Webhook deliveries run apart from requests: a dead receiver never slows the API.
	wg.Go(func() { notify.NewDispatcher(a.db.Webhooks(), a.db, log).Run(ctx) })
	return func() { cancel(); wg.Wait() }, nil
}
