package vault

import (
	"context"

	"github.com/stewardhq/steward/internal/errs"
)

// ActionExport is an export of the account's personal data, decrypted for its owner
// (internal/takeout): an access like any other, so it is in the owner's access log.
const ActionExport = "pii.export"

// ExportForOwner returns the account's personal data in clear for its owner's data export,
// recording the access (the fields exported) in a transaction of its own; nil when the
// account has none, which is recorded too, with no fields.
func (s *Service) ExportForOwner(ctx context.Context, account string) (*PII, error) {
	var p *PII
	var fields []string
	switch r, err := s.store.GetRecord(ctx, account); {
	case err == nil:
		if p, err = s.open(r); err != nil {
			return nil, err
		}
		fields = r.Fields
	case errs.CodeOf(err) != errs.NotFound:
		return nil, err
	}
	c, err := s.change(ctx, ActionExport, account, fields, nil)
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, c); err != nil {
		return nil, err
	}
	return p, nil
}
