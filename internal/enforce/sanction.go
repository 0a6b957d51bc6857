package enforce

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

// Kind is how much a sanction denies.
type Kind string

const (
	Warning  Kind = "warning"  // denies nothing; recorded, and counts as a strike when it is one
	Restrict Kind = "restrict" // denies the capabilities in its scope
	Suspend  Kind = "suspend"  // denies every capability of the services in its scope, until its end
	Ban      Kind = "ban"      // a suspension without end
)

// Kinds lists every kind.
var Kinds = []Kind{Warning, Restrict, Suspend, Ban}

// Scope is what a sanction denies: every capability of Services ("*" for all services),
// and each of Capabilities.
type Scope struct {
	Services     []string `json:"services"`
	Capabilities []string `json:"capabilities"`
}

// Source is how a sanction came about.
type Source string

const (
	Manual      Source = "manual" // a person imposed it directly
	FromStrike  Source = "strike" // a strike under a policy's ladder
	FromReport  Source = "report" // a reviewed report
	FromBulk    Source = "bulk"   // a bulk action
	sourceRules        = `one of "manual", "report", "bulk" ("strike" is set by POST /v1/strikes)`
)

// Via is set on a sanction that reaches a linked account: the account whose conduct it
// answers, and why it must reach this one too. Sanctions never spread by themselves.
type Via struct {
	Account string `json:"account"`
	Reason  string `json:"reason"`
}

// Strike is set on a sanction imposed by a strike under a policy.
type Strike struct {
	Step      int       `json:"step"`      // the ladder step it imposed, from 0
	Until     time.Time `json:"until"`     // it counts towards the next step until then
	Withdrawn bool      `json:"withdrawn"` // the sanction was lifted as wrong: it counts no more
}

// Lift records that a sanction was ended early.
type Lift struct {
	At       time.Time           `json:"at"`
	Reason   string              `json:"reason"`
	Wrongful bool                `json:"wrongful"` // the sanction should never have been imposed
	By       principal.Principal `json:"by"`
}

// Sanction is what is denied to one account, for how long, why and on whose authority.
type Sanction struct {
	ID         string              `json:"id"`
	Account    string              `json:"account"`
	Kind       Kind                `json:"kind"`
	Scope      Scope               `json:"scope"`
	Start      time.Time           `json:"start"`
	End        *time.Time          `json:"end"` // nil: until lifted (always for a ban)
	ReasonCode string              `json:"reason_code"`
	Policy     string              `json:"policy,omitempty"`
	Clause     string              `json:"clause,omitempty"`
	Detail     string              `json:"detail,omitempty"`
	Evidence   []string            `json:"evidence"`
	Authority  authority.Authority `json:"authority"`
	Source     Source              `json:"source"`
	Via        *Via                `json:"via,omitempty"`
	Strike     *Strike             `json:"strike,omitempty"`
	Lifted     *Lift               `json:"lifted,omitempty"`
	Author     principal.Principal `json:"author"`
	CreatedAt  time.Time           `json:"created_at"`
	UpdatedAt  time.Time           `json:"updated_at"`
}

// Until returns when s stops denying: its end or its lift, whichever is first; the
// zero time when neither.
func (s *Sanction) Until() time.Time {
	var t time.Time
	if s.End != nil {
		t = *s.End
	}
	if s.Lifted != nil && (t.IsZero() || s.Lifted.At.Before(t)) {
		t = s.Lifted.At
	}
	return t
}

// ActiveAt reports whether s denies (or, for a warning, stands) at t.
func (s *Sanction) ActiveAt(t time.Time) bool {
	u := s.Until()
	return !t.Before(s.Start) && (u.IsZero() || t.Before(u))
}

// Limits on what one sanction carries.
const (
	MaxScope    = 64   // services plus capabilities
	MaxEvidence = 32   // references
	MaxText     = 4000 // bytes of detail, reasons
	MaxRef      = 256  // bytes of one evidence reference, clause
)

var (
	codePattern    = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
	CodeRule       = "1 to 64 lowercase letters, digits, _ . or -, starting with a letter"
	sanctionIDRule = "a sanction ID (a UUID)"
	maxTime        = time.Date(2261, 12, 31, 0, 0, 0, 0, time.UTC) // times are stored as int64 nanoseconds, which end in 2262
	minTime        = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ValidCode reports whether s is a valid reason code or policy ID (see CodeRule).
func ValidCode(s string) bool { return codePattern.MatchString(s) }

// CheckSanctionID returns an Invalid error naming field unless id is a sanction ID.
func CheckSanctionID(field, id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return errs.Field(field, "must be %s", sanctionIDRule)
	}
	return nil
}

// normalize fills defaults (empty lists rather than null) and puts times in UTC.
func (s *Sanction) normalize() {
	if s.Scope.Services == nil {
		s.Scope.Services = []string{}
	}
	if s.Scope.Capabilities == nil {
		s.Scope.Capabilities = []string{}
	}
	if s.Evidence == nil {
		s.Evidence = []string{}
	}
	s.Start = s.Start.UTC()
	if s.End != nil {
		e := s.End.UTC()
		s.End = &e
	}
}

// validate checks a new sanction and reports every failure at once.
func (s *Sanction) validate() error {
	var fs errs.Fields
	if !accounts.ValidID(s.Account) {
		fs.Add("account", "must be %s", accounts.IDRule)
	}
	if !slices.Contains(Kinds, s.Kind) {
		fs.Add("kind", "must be one of %q", Kinds)
	}
	validateScope(&fs, s.Kind, s.Scope, "scope.")
	switch {
	case s.Start.Before(minTime) || s.Start.After(maxTime):
		fs.Add("start", "must be between 2000 and 2261")
	case s.End != nil && !s.End.After(s.Start):
		fs.Add("end", "must be after start")
	case s.End != nil && s.End.After(maxTime):
		fs.Add("end", "must be before 2261-12-31")
	}
	switch s.Kind {
	case Ban:
		if s.End != nil {
			fs.Add("end", "a ban has no end; impose a suspension for a sanction that ends")
		}
	case Suspend:
		if s.End == nil {
			fs.Add("end", "a suspension needs an end; impose a ban for one without end")
		}
	}
	if !ValidCode(s.ReasonCode) {
		fs.Add("reason_code", "is required: %s", CodeRule)
	}
	if s.Policy != "" && !ValidCode(s.Policy) {
		fs.Add("policy", "must be a policy ID: %s", CodeRule)
	}
	if len(s.Clause) > MaxRef {
		fs.Add("clause", "at most %d bytes", MaxRef)
	}
	if len(s.Detail) > MaxText {
		fs.Add("detail", "at most %d bytes", MaxText)
	}
	if len(s.Evidence) > MaxEvidence {
		fs.Add("evidence", "at most %d references", MaxEvidence)
	}
	for i, e := range s.Evidence {
		if e == "" || len(e) > MaxRef {
			fs.Add(fmt.Sprintf("evidence[%d]", i), "must be 1 to %d bytes", MaxRef)
		}
	}
	validateAuthority(&fs, s)
	switch s.Source {
	case Manual, FromReport, FromBulk, FromStrike:
	default:
		fs.Add("source", "must be %s", sourceRules)
	}
	if s.Via != nil {
		switch {
		case !accounts.ValidID(s.Via.Account):
			fs.Add("via.account", "must be %s", accounts.IDRule)
		case s.Via.Account == s.Account:
			fs.Add("via.account", "must be another account than the one sanctioned")
		}
		if s.Via.Reason == "" || len(s.Via.Reason) > MaxText {
			fs.Add("via.reason", "is required: say why the sanction must reach this linked account (at most %d bytes)", MaxText)
		}
	}
	return fs.Err()
}

func validateScope(fs *errs.Fields, kind Kind, sc Scope, prefix string) {
	if len(sc.Services)+len(sc.Capabilities) > MaxScope {
		fs.Add(prefix+"services", "at most %d services and capabilities in all", MaxScope)
		return
	}
	for i, svc := range sc.Services {
		if svc != AllServices && !ValidService(svc) {
			fs.Add(fmt.Sprintf("%sservices[%d]", prefix, i), "must be * or 1 to 32 lowercase letters, digits, _ or -, starting with a letter")
		}
	}
	for i, c := range sc.Capabilities {
		field := fmt.Sprintf("%scapabilities[%d]", prefix, i)
		switch {
		case !ValidCapability(c):
			fs.Add(field, "must be %s", CapabilityRule)
		case IsProtected(c):
			fs.Add(field, "%s is protected: no sanction may deny it", c)
		}
	}
	switch kind {
	case Restrict:
		if len(sc.Capabilities) == 0 {
			fs.Add(prefix+"capabilities", "a restriction needs at least one capability")
		}
		if len(sc.Services) > 0 {
			fs.Add(prefix+"services", "a restriction denies capabilities only; suspend or ban to deny whole services")
		}
	case Suspend, Ban:
		if len(sc.Services) == 0 {
			fs.Add(prefix+"services", "a %s needs at least one service (* for all)", kind)
		}
	}
}

func validateAuthority(fs *errs.Fields, s *Sanction) {
	s.Authority.Validate(fs, "authority.")
	if s.Authority.Kind == authority.Policy && s.Policy == "" {
		fs.Add("policy", "is required when the authority is a policy")
	}
}
