package vault

import (
	"regexp"
	"slices"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// Purpose is a stated reason to reveal personal data: who may give it, which fields it
// may reveal, whether a ticket must be named, and how many reveals one actor may make
// with it in a day (UTC).
type Purpose struct {
	Name           string           `json:"name"`
	Roles          []principal.Role `json:"roles"`
	Fields         []string         `json:"fields"`
	RequiresTicket bool             `json:"requires_ticket"`
	PerActorDaily  int              `json:"per_actor_daily"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
}

var purposeName = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// revealers are the roles a purpose may name: the reveal route's, and the platform's
// backends, which export to partners through shares (see Export).
var revealers = []principal.Role{principal.Agent, principal.Security, principal.Compliance, principal.Service}

// MaxDaily is the largest per_actor_daily a purpose may set.
const MaxDaily = 1_000_000

// CheckPurpose checks every field of p, reporting all at fault at once; it sorts and
// deduplicates the roles and fields.
func CheckPurpose(p *Purpose) error {
	var fs errs.Fields
	if !purposeName.MatchString(p.Name) {
		fs.Add("name", "must be a lower-case letter, then up to 63 lower-case letters, digits, _ . or -")
	}
	if len(p.Roles) == 0 {
		fs.Add("roles", "must name at least one of %v", revealers)
	}
	for i, r := range p.Roles {
		if !slices.Contains(revealers, r) {
			fs.Add("roles", "[%d] %q is not a role that may reveal: one of %v", i, r, revealers)
		}
	}
	if len(p.Fields) == 0 {
		fs.Add("fields", "must name at least one of %v", Fields)
	}
	for i, f := range p.Fields {
		if !slices.Contains(Fields, f) {
			fs.Add("fields", "[%d] %q is not a field: one of %v", i, f, Fields)
		}
	}
	if p.PerActorDaily < 1 || p.PerActorDaily > MaxDaily {
		fs.Add("per_actor_daily", "must be from 1 to %d", MaxDaily)
	}
	slices.Sort(p.Roles)
	p.Roles = slices.Compact(p.Roles)
	slices.Sort(p.Fields)
	p.Fields = slices.Compact(p.Fields)
	return fs.Err()
}
