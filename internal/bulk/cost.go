package bulk

import (
	"strings"

	"cel.dev/cel-go/common/cost"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/enforce"
)

// sizes tells CEL's cost estimator how large what an expression sees of an account can
// be: the limits accounts.Validate and enforce.CheckNew enforce, and for the active
// sanctions, which nothing limits, a generous bound (an account over it is still judged,
// under the runtime cost limit).
type sizes struct{}

// maxActiveSanctions bounds, for the estimate only, the active sanctions of one account.
const maxActiveSanctions = 64

// subjectSizes are the largest sizes (elements, or bytes of a string) along each path
// from `account`, as CEL's estimator names them.
var subjectSizes = map[string]uint64{
	"account.id": 128, "account.region": 32, "account.locale": 16,
	"account.attributes": accounts.MaxAttributes, "account.attributes.@keys": 64,
	"account.attributes.@values": accounts.MaxAttributeValue,
	"account.linked":             accounts.MaxLinked, "account.linked.@items.service": 32, "account.linked.@items.account": 128,
	"account.sanctions": maxActiveSanctions, "account.sanctions.@items.kind": 16,
	"account.sanctions.@items.services": enforce.MaxScope, "account.sanctions.@items.services.@items": 64,
	"account.sanctions.@items.capabilities": enforce.MaxScope, "account.sanctions.@items.capabilities.@items": 64,
	"account.sanctions.@items.reason_code": enforce.MaxRef, "account.sanctions.@items.policy": enforce.MaxRef,
	// What appeal screens see of an appeal, at the limits package appeals enforces.
	"appeal.statement": 4 * 5000, "appeal.channel": 8, "appeal.evidence": 20,
	"appeal.evidence.@items.kind": 64, "appeal.evidence.@items.text": 4 * 2000, "appeal.evidence.@items.sha256": 64,
}

func (sizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	path := n.Path()
	if len(path) == 0 {
		return nil
	}
	key := strings.Join(path, ".")
	if len(path) == 3 && path[1] == "attributes" && path[2] != "@keys" && path[2] != "@values" {
		key = "account.attributes.@values" // account.attributes.name
	}
	if n, ok := subjectSizes[key]; ok {
		return &cost.SizeEstimate{Min: 0, Max: n}
	}
	return nil
}

func (sizes) EstimateCallCost(function, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	return nil // CEL's own estimates
}
