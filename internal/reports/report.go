package reports

import (
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
)

// Report is one account's report about another.
type Report struct {
	ID        string    `json:"id"`
	Case      string    `json:"case"`
	Reporter  string    `json:"reporter"`
	Target    string    `json:"target"`
	Category  string    `json:"category"`
	Text      string    `json:"text"`
	Evidence  []string  `json:"evidence"`
	Context   Context   `json:"context"`
	Facts     Facts     `json:"facts"`
	Weight    float64   `json:"weight"` // the reporter's weight when it reported
	CreatedAt time.Time `json:"created_at"`
	// Discounted is set once the report was found part of a suspected brigade (or its
	// reporter acting in bad faith): the case keeps it but its score no longer counts it.
	Discounted bool `json:"discounted"`
}

// Context is what the platform knows of the reporter's session, when it says.
type Context struct {
	Device   string `json:"device,omitempty"`
	IPPrefix string `json:"ip_prefix,omitempty"`
}

// Facts are what Steward knew of the reporter when the report arrived, kept with the
// report so that brigade detection reads the case's reports and nothing else.
type Facts struct {
	New        bool     `json:"new"`        // the account was younger than Config.NewAge
	Sanctioned bool     `json:"sanctioned"` // the account had an active sanction
	Accuracy   float64  `json:"accuracy"`   // posterior mean in the category
	Reports    int      `json:"reports"`    // decided reports in the category it was judged on
	BadFaith   bool     `json:"bad_faith"`  // the reporter was marked as acting in bad faith
	Linked     []string `json:"linked"`     // the accounts linked to the reporter
}

// Signal is an automated detection about an account: a keyword trigger or a classifier.
type Signal struct {
	ID        string    `json:"id"`
	Case      string    `json:"case"`
	Account   string    `json:"account"`
	Rule      string    `json:"rule"`
	Category  string    `json:"category"`
	Score     float64   `json:"score"`  // 0 to 1, the detector's confidence
	Weight    float64   `json:"weight"` // what it adds to the case: score × the rule's weight
	Detail    string    `json:"detail"`
	CreatedAt time.Time `json:"created_at"`
}

// Categories lists what an account may be reported for.
var Categories = []string{"spam", "fraud", "harassment", "hate", "impersonation", "violence", "sexual", "self_harm", "other"}

// Limits on one report.
const (
	MaxText        = 4000 // characters
	MaxEvidence    = 20
	MaxEvidenceLen = 2048
	MaxContextLen  = 128
	MaxDetail      = 2000
)

var (
	rulePattern = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)
	// RuleRule describes a signal rule's ID.
	RuleRule = "1 to 64 lowercase letters, digits and _ . : -, starting with a letter"
)

// validCategory reports whether c is one of Categories.
func validCategory(c string) bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}

// validate reports every bad field of r at once. Reporter, target and category are
// checked by the caller, which names their fields.
func (r *Report) validate() error {
	var fs errs.Fields
	checkParties(&fs, r.Reporter, r.Target, r.Category)
	if utf8.RuneCountInString(r.Text) > MaxText || !utf8.ValidString(r.Text) {
		fs.Add("text", "at most %d characters of UTF-8", MaxText)
	}
	if len(r.Evidence) > MaxEvidence {
		fs.Add("evidence", "at most %d items", MaxEvidence)
	}
	for i, e := range r.Evidence {
		if e == "" || len(e) > MaxEvidenceLen || !utf8.ValidString(e) {
			fs.Add(fieldIndex("evidence", i), "must be 1 to %d bytes of UTF-8", MaxEvidenceLen)
		}
	}
	if len(r.Context.Device) > MaxContextLen || !utf8.ValidString(r.Context.Device) {
		fs.Add("context.device", "at most %d bytes of UTF-8", MaxContextLen)
	}
	if len(r.Context.IPPrefix) > MaxContextLen || !utf8.ValidString(r.Context.IPPrefix) {
		fs.Add("context.ip_prefix", "at most %d bytes of UTF-8", MaxContextLen)
	}
	return fs.Err()
}

func checkParties(fs *errs.Fields, reporter, target, category string) {
	if !accounts.ValidID(reporter) {
		fs.Add("reporter", "must be %s", accounts.IDRule)
	}
	if !accounts.ValidID(target) {
		fs.Add("target", "must be %s", accounts.IDRule)
	} else if reporter == target {
		fs.Add("target", "an account cannot report itself")
	}
	if !validCategory(category) {
		fs.Add("category", "must be one of %q", Categories)
	}
}

// validate reports every bad field of s at once.
func (s *Signal) validate() error {
	var fs errs.Fields
	if !accounts.ValidID(s.Account) {
		fs.Add("account", "must be %s", accounts.IDRule)
	}
	if !rulePattern.MatchString(s.Rule) {
		fs.Add("rule", "must be %s", RuleRule)
	}
	if !(s.Score >= 0 && s.Score <= 1) {
		fs.Add("score", "must be between 0 and 1")
	}
	if utf8.RuneCountInString(s.Detail) > MaxDetail || !utf8.ValidString(s.Detail) {
		fs.Add("detail", "at most %d characters of UTF-8", MaxDetail)
	}
	return fs.Err()
}

func fieldIndex(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }
