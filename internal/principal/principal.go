// Package principal names who acts in Steward: a member of staff (or a platform backend)
// holding a key with one role, an end user holding a token scoped to their own account,
// or Steward itself (the bulk runner, re-screening, SLA timers, sweepers). The audit log
// records the principal of every change, the API checks it against each route's roles,
// and four-eyes rules compare principals.
package principal

import (
	"context"

	"github.com/stewardhq/steward/internal/errs"
)

// Role is what a principal may do. Every route lists the roles that may call it.
type Role string

// Staff roles: a key carries exactly one.
const (
	Admin      Role = "admin"      // runs Steward: keys, webhooks, everything
	Service    Role = "service"    // the platform's backends
	Reviewer   Role = "reviewer"   // decides reports and appeals
	Agent      Role = "agent"      // customer service
	Compliance Role = "compliance" // legal orders, bulk actions
	Security   Role = "security"   // leak investigations, insider alerts
	Auditor    Role = "auditor"    // reads the audit log
)

// The roles that are not staff.
const (
	User   Role = "user"   // an end user, through a token scoped to one account
	System Role = "system" // Steward itself
)

// Roles lists every staff role, in a stable order: the roles a key may have.
var Roles = []Role{Admin, Service, Reviewer, Agent, Compliance, Security, Auditor}

// Staff lists the roles of people and systems that may read accounts.
var Staff = Roles

// ParseRole returns the staff role named s. Returns errs.Invalid for any other name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", errs.Field("role", "must be one of %v", Roles)
}

// Principal is who acts. Its JSON form, {"name", "role"} and "team" when there is one,
// is what the audit log and stored records (a sanction's author) hold.
type Principal struct {
	// Name is the staff key's name, the end user's account ID, or "steward".
	Name string `json:"name"`
	// Role is a staff role, User or System.
	Role Role `json:"role"`
	// Team is the staff member's team (a key's team), "" when none was given. Absent
	// from the JSON when empty, so records from before it existed keep their bytes.
	Team string `json:"team,omitempty"`
	// Credential is the ID of the key or token that authenticated the principal, "" for
	// Steward itself. It scopes idempotency keys; it is not recorded.
	Credential string `json:"-"`
}

// Steward is Steward itself: changes made by its workers or at the command line.
var Steward = Principal{Name: "steward", Role: System}

// Key returns the principal of a staff key.
func Key(name string, role Role, keyID string) Principal {
	return Principal{Name: name, Role: role, Credential: keyID}
}

// EndUser returns the principal of an end user's token for account.
func EndUser(account, tokenID string) Principal {
	return Principal{Name: account, Role: User, Credential: tokenID}
}

// IsUser reports whether p is an end user.
func (p Principal) IsUser() bool { return p.Role == User }

// IsSystem reports whether p is Steward itself.
func (p Principal) IsSystem() bool { return p.Role == System }

// IsStaff reports whether p holds a staff key.
func (p Principal) IsStaff() bool { return !p.IsUser() && !p.IsSystem() && p.Role != "" }

// Account returns the account an end user acts for, and "" for any other principal.
func (p Principal) Account() string {
	if p.IsUser() {
		return p.Name
	}
	return ""
}

// Is reports whether p and q are the same person or system, whatever role each holds
// now: the comparison four-eyes rules make. Staff are known by their key's name, which
// survives key rotation.
func (p Principal) Is(q Principal) bool {
	return p.kind() == q.kind() && p.Name == q.Name
}

// Identity returns who p is for four-eyes rules, as Is compares: "staff:rita" for a
// member of staff whatever their role, "user:u-1001" for an end user. Stores keep it to
// compare principals in a query.
func (p Principal) Identity() string { return string(p.kind()) + ":" + p.Name }

func (p Principal) kind() Role {
	if p.IsStaff() {
		return "staff"
	}
	return p.Role
}

// String returns "role:name", e.g. "reviewer:rita" or "user:u-1001".
func (p Principal) String() string { return string(p.Role) + ":" + p.Name }

type ctxKey struct{}

// NewContext returns a context whose work is done by p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal set by NewContext, or Steward when none was.
func FromContext(ctx context.Context) Principal {
	if p, ok := ctx.Value(ctxKey{}).(Principal); ok {
		return p
	}
	return Steward
}
