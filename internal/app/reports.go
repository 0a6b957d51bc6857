package app

import (
	"context"

	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/reports"
)

// sanctioned tells reports whether an account is under an active sanction, from the
// decision index: reports never import enforce.
type sanctioned struct{ e *enforce.Service }

func (s sanctioned) Sanctioned(_ context.Context, account string) (bool, error) {
	return len(s.e.Active(account, s.e.Now())) > 0, nil
}

// imposer imposes what a case's decision (or an allowing rule) asks for through
// enforce: the one place a report's consequences reach a sanction.
type imposer struct{ e *enforce.Service }

func (im imposer) Impose(ctx context.Context, r reports.Imposition) (string, error) {
	if r.Strike {
		sn, err := im.e.Strike(ctx, enforce.StrikeRequest{Account: r.Account, Policy: r.Policy, Evidence: r.Evidence, Detail: r.Detail})
		if err != nil {
			return "", err
		}
		return sn.ID, nil
	}
	sn := &enforce.Sanction{Account: r.Account, Kind: enforce.Kind(r.Kind), ReasonCode: r.ReasonCode, Policy: r.Policy,
		Detail: r.Detail, Evidence: r.Evidence, Source: enforce.FromReport,
		Scope:     enforce.Scope{Services: r.Services, Capabilities: r.Capabilities},
		Authority: authority.Authority{Kind: authority.Policy}}
	if r.For > 0 {
		end := im.e.Clock().Add(r.For)
		sn.End = &end
	}
	if r.Rule != "" {
		// An automated restriction: never more than a restrict, on the rule's authority.
		sn.Kind, sn.Scope.Services, sn.Policy = enforce.Restrict, nil, ""
		sn.Authority = authority.Authority{Kind: authority.Automated, Rule: r.Rule}
	}
	out, err := im.e.Impose(ctx, sn)
	if err != nil {
		return "", err
	}
	return out.ID, nil
}
