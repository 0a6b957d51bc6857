package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// followSanctions loads the decision index with every active sanction, then keeps it
// current with the writes of every process sharing the database until the returned
// stop is called.
func (a *app) followSanctions(ctx context.Context, log *slog.Logger) (stop func(), err error) {
	start := time.Now()
	n, err := a.follower.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load sanctions: %w", err)
	}
	log.Info("sanctions loaded", "active", n, "accounts", a.index.Len(), "duration_ms", time.Since(start).Milliseconds())
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.follower.Run(ctx)
	}()
	return func() { cancel(); <-done }, nil
}
