// Package authority names the ground on which Steward denies something to an account: a
// platform policy, a legal order (a court or regulator), or an automated rule. Sanctions
// and bulk actions carry one, and so will the ledger's legal holds; it is a leaf so that
// they need not import each other to share it.
package authority

import "github.com/stewardhq/steward/internal/errs"

// Kind says on what grounds something was imposed.
type Kind string

const (
	Policy     Kind = "policy"      // a platform policy; what it is imposed on names it
	LegalOrder Kind = "legal_order" // a court or regulator; issuer and reference
	Automated  Kind = "automated"   // an automated rule; its ID
)

// MaxRef is the most bytes of an issuer, reference or rule.
const MaxRef = 256

// Authority is the ground of a sanction, a bulk action or a hold.
type Authority struct {
	Kind      Kind   `json:"kind"`
	Issuer    string `json:"issuer,omitempty"`    // legal_order: who issued it
	Reference string `json:"reference,omitempty"` // legal_order: the order's number
	Rule      string `json:"rule,omitempty"`      // automated: the rule's ID
}

// Validate adds to fs every way a is malformed, naming fields prefix+"kind",
// prefix+"issuer" and so on. A policy authority needs the policy's ID, which the
// holder of a carries; checking it is the holder's part.
func (a Authority) Validate(fs *errs.Fields, prefix string) {
	long := func(field, v string) {
		if len(v) > MaxRef {
			fs.Add(prefix+field, "at most %d bytes", MaxRef)
		}
	}
	long("issuer", a.Issuer)
	long("reference", a.Reference)
	long("rule", a.Rule)
	switch a.Kind {
	case Policy:
	case LegalOrder:
		if a.Issuer == "" {
			fs.Add(prefix+"issuer", "is required for a legal order")
		}
		if a.Reference == "" {
			fs.Add(prefix+"reference", "is required for a legal order: the order's number")
		}
	case Automated:
		if a.Rule == "" {
			fs.Add(prefix+"rule", "is required for an automated sanction: the rule's ID")
		}
	default:
		fs.Add(prefix+"kind", `must be one of "policy", "legal_order", "automated"`)
	}
}
