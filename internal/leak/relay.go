package leak

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// relays returns the relay number recipient holds for each key (an account ID or a
// canary's key), making one for each key without: a recipient keeps one number per
// customer across its shares, and no two recipients share one.
func (s *Service) relays(ctx context.Context, sh *Share, keys []string) (map[string]Relay, error) {
	have, err := s.store.RelaysFor(ctx, sh.Recipient, keys)
	if err != nil {
		return nil, err
	}
	var added []Relay
	for _, k := range keys {
		if _, ok := have[k]; ok {
			continue
		}
		r := Relay{Phone: relayNumber(), Recipient: sh.Recipient, Account: k, Share: sh.ID, CreatedAt: sh.CreatedAt}
		have[k] = r
		added = append(added, r)
	}
	return have, s.store.PutRelays(ctx, added)
}

// relayNumber is a random number in the 170 block, where Chinese virtual operators (and
// so relay services) number: it reads as a mobile number, as the real ones do.
func relayNumber() string {
	return fmt.Sprintf("+86170%08d", rand.IntN(100_000_000))
}
