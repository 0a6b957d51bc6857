package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// runBulk runs the bulk action runner until the returned stop is called: it resumes
// any action a previous process left preparing, running or reverting, then runs those
// started through the API. Stop waits for the batch in flight to commit.
func (a *app) runBulk(ctx context.Context, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { a.bulk.Run(ctx, log, 2*time.Second) })
	return func() {
		cancel()
		wg.Wait()
	}
}
