package ledger

import (
	"context"
	"time"
)

// HoldEvent names a change to a hold that its account's holder is told of.
type HoldEvent string

const (
	HoldPlaced   HoldEvent = "hold.placed"
	HoldReleased HoldEvent = "hold.released" // some or all of it
)

// HoldNotice is one change to a hold, as announced to the account's holder: what is
// held, under whose order, and (for a release) what is free again.
type HoldNotice struct {
	Event   HoldEvent
	Hold    *Hold    // as it stands after the change
	Release *Release // the release applied; nil when placed
	At      time.Time
}

// Announcer tells account holders of the holds on their wallets and their releases.
// AnnounceHolds is called inside the change's write transaction, so the notices commit
// with it or not at all.
type Announcer interface {
	AnnounceHolds(ctx context.Context, ns ...HoldNotice) error
}

// announce tells of ns, when the service has an announcer.
func (s *Service) announce(ctx context.Context, ns ...HoldNotice) error {
	if s.announcer == nil {
		return nil
	}
	return s.announcer.AnnounceHolds(ctx, ns...)
}
