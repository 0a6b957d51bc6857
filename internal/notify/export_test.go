package notify

import (
	"context"
	"net/netip"
)

// WithLookup returns r resolving host names at put time with lookup.
func WithLookup(r Reach, lookup func(ctx context.Context, host string) ([]netip.Addr, error)) Reach {
	r.lookup = lookup
	return r
}
