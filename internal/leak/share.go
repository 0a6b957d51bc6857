package leak

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/vault"
)

// Phone modes of a share.
const (
	PhoneReal  = "real"  // the accounts' own numbers
	PhoneRelay = "relay" // a relay number per recipient and account, mapped back by Steward
)

// MaxAccounts is the most accounts one share carries.
const MaxAccounts = 100_000

// ShareRequest asks for a copy of some accounts' personal data for a recipient.
type ShareRequest struct {
	Recipient string   `json:"recipient"` // e.g. logistics:sf-express
	Purpose   string   `json:"purpose"`   // a vault purpose the caller may state
	Ticket    string   `json:"ticket,omitempty"`
	Fields    []string `json:"fields"`
	Accounts  []string `json:"accounts"`
	PhoneMode string   `json:"phone_mode,omitempty"` // real (default) or relay
}

// Share is a copy of personal data that left Steward: to whom, which fields, which
// accounts (Set, over account ordinals) and canaries, when, by whom.
type Share struct {
	ID         string              `json:"id"`
	Recipient  string              `json:"recipient"`
	Purpose    string              `json:"purpose"`
	Ticket     string              `json:"ticket,omitempty"`
	Fields     []string            `json:"fields"`
	PhoneMode  string              `json:"phone_mode"`
	Actor      principal.Principal `json:"actor"`
	CreatedAt  time.Time           `json:"created_at"`
	Accounts   int                 `json:"accounts"`   // real records
	Records    int                 `json:"records"`    // with the canaries
	Commitment string              `json:"commitment"` // hex SHA-256 of the record set; see Commit

	Set      *roaring.Bitmap `json:"-"` // the accounts' ordinals
	Canaries []string        `json:"-"` // the canaries' IDs, sorted: known to Steward only
	Salt     []byte          `json:"-"` // keys the records' refs
}

// Record is one record of a share as the recipient gets it: an opaque reference and the
// shared fields. A canary's record has the same form.
type Record struct {
	Ref string `json:"ref"`
	vault.PII
}

// Shared is a share as made: the share and its records, in ref order.
type Shared struct {
	Share   *Share   `json:"share"`
	Records []Record `json:"records"`
}

var recipientName = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,127}$`)

// shareable are the fields a share may carry (extra values are not shared).
var shareable = slices.DeleteFunc(slices.Clone(vault.Fields), func(f string) bool { return f == vault.FieldExtra })

// checkShare checks every field of req but the purpose (the vault's), reporting all at
// fault at once; it sorts the fields.
func checkShare(req *ShareRequest) error {
	var fs errs.Fields
	if !recipientName.MatchString(req.Recipient) {
		fs.Add("recipient", "must be a lower-case letter, then up to 127 lower-case letters, digits or _ . : -")
	}
	if req.Purpose == "" {
		fs.Add("purpose", "is required")
	}
	if len(req.Fields) == 0 {
		fs.Add("fields", "must name at least one of %v", shareable)
	}
	for i, f := range req.Fields {
		if !slices.Contains(shareable, f) {
			fs.Add("fields", "[%d] %q is not a field a share carries: one of %v", i, f, shareable)
		}
	}
	req.Fields = slices.Compact(slices.Sorted(slices.Values(req.Fields)))
	switch req.PhoneMode {
	case "":
		req.PhoneMode = PhoneReal
	case PhoneReal:
	case PhoneRelay:
		if !slices.Contains(req.Fields, vault.FieldPhone) {
			fs.Add("phone_mode", "relay needs phone among the fields")
		}
	default:
		fs.Add("phone_mode", "must be real or relay")
	}
	switch n := len(req.Accounts); {
	case n == 0:
		fs.Add("accounts", "must name at least one account")
	case n > MaxAccounts:
		fs.Add("accounts", "names %d accounts; a share carries at most %d", n, MaxAccounts)
	default:
		seen := make(map[string]bool, n)
		for i, a := range req.Accounts {
			switch {
			case a == "" || len(a) > 128 || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f }):
				fs.Add("accounts", "[%d] must be an account ID of 1 to 128 characters without spaces or control characters", i)
			case seen[a]:
				fs.Add("accounts", "[%d] %q is named twice", i, a)
			}
			seen[a] = true
		}
	}
	return fs.Err()
}

// CreateShare reveals the fields of the accounts for the purpose (see vault.Export: the
// share counts as one reveal per account against the caller's daily limit), blends in
// canaries, gives relay numbers when asked, and records the share with one audit entry
// committing to its record set, in one transaction.
// Returns errs.Invalid naming every field at fault, errs.Forbidden when the purpose
// does not let the caller or the fields through, errs.TooMany beyond its daily limit,
// and errs.Conflict when no canary set is left that no other share carries.
func (s *Service) CreateShare(ctx context.Context, req ShareRequest) (*Shared, error) {
	if err := checkShare(&req); err != nil {
		return nil, err
	}
	sh := &Share{ID: newID(), Recipient: req.Recipient, Purpose: req.Purpose, Ticket: strings.TrimSpace(req.Ticket),
		Fields: req.Fields, PhoneMode: req.PhoneMode, Actor: principal.FromContext(ctx), CreatedAt: s.now().UTC(),
		Accounts: len(req.Accounts), Salt: make([]byte, 16)}
	rand.Read(sh.Salt)
	var canaries []*Canary
	var relays map[string]Relay
	within := func(ctx context.Context) error {
		ords, err := s.store.Ordinals(ctx, req.Accounts)
		if err != nil {
			return err
		}
		sh.Set = roaring.BitmapOf(ords...)
		sh.Set.RunOptimize()
		if canaries, err = s.pickCanaries(ctx, req.Fields); err != nil {
			return err
		}
		for _, c := range canaries {
			sh.Canaries = append(sh.Canaries, c.ID)
		}
		sh.Records = sh.Accounts + len(canaries)
		if req.PhoneMode == PhoneRelay {
			keys := slices.Clone(req.Accounts)
			for _, c := range canaries {
				keys = append(keys, canaryKey(c.ID))
			}
			if relays, err = s.relays(ctx, sh, keys); err != nil {
				return err
			}
		}
		if sh.Commitment, err = Commit(sh); err != nil {
			return err
		}
		if err := s.store.PutShare(ctx, sh); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: ActionShare, Subject: "share:" + sh.ID, Value: shareEntry{
			Recipient: sh.Recipient, Purpose: sh.Purpose, Fields: sh.Fields, PhoneMode: sh.PhoneMode,
			Accounts: sh.Accounts, Records: sh.Records, Commitment: sh.Commitment}, Context: map[string]string{"recipient": sh.Recipient}})
	}
	ps, err := s.vault.Export(ctx, req.Accounts, vault.RevealRequest{Fields: req.Fields, Purpose: req.Purpose, Ticket: req.Ticket}, within)
	if err != nil {
		return nil, err
	}
	out := &Shared{Share: sh, Records: make([]Record, 0, sh.Records)}
	add := func(key string, p vault.PII) {
		if r, ok := relays[key]; ok {
			p.Phone = r.Phone
		}
		out.Records = append(out.Records, Record{Ref: ref(sh.Salt, key), PII: p})
	}
	for i, p := range ps {
		add(req.Accounts[i], *p)
	}
	for _, c := range canaries {
		add(canaryKey(c.ID), only(c.PII, req.Fields))
	}
	// Ordered by ref, a keyed hash: canaries fall anywhere, and the order says nothing
	// of the accounts' IDs or of when they joined.
	slices.SortFunc(out.Records, func(a, b Record) int { return strings.Compare(a.Ref, b.Ref) })
	return out, nil
}

// shareEntry is the digested value of a share's audit entry: no value, no account ID.
type shareEntry struct {
	Recipient  string   `json:"recipient"`
	Purpose    string   `json:"purpose"`
	Fields     []string `json:"fields"`
	PhoneMode  string   `json:"phone_mode"`
	Accounts   int      `json:"accounts"`
	Records    int      `json:"records"`
	Commitment string   `json:"commitment"`
}

// Commit returns the commitment to a share's record set: the hex SHA-256 of its ID,
// recipient, fields, phone mode, the portable serialisation of its ordinal bitmap and
// its canaries' IDs. Anyone holding the share's row can recompute it against the audit
// entry; the entry alone reveals nothing of the set.
func Commit(sh *Share) (string, error) {
	var b bytes.Buffer
	b.WriteString("steward/leak/share/v1\n")
	for _, s := range []string{sh.ID, sh.Recipient, strings.Join(sh.Fields, ","), sh.PhoneMode} {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if _, err := sh.Set.WriteTo(&b); err != nil {
		return "", err
	}
	b.WriteString("\n" + strings.Join(sh.Canaries, ","))
	sum := sha256.Sum256(b.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

var refEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ref is a record's reference in a share: the same form for an account and a canary.
func ref(salt []byte, key string) string {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(key))
	return strings.ToLower(refEncoding.EncodeToString(m.Sum(nil))[:16])
}

// only returns the named fields of p.
func only(p vault.PII, fields []string) vault.PII {
	var q vault.PII
	for _, f := range fields {
		switch f {
		case vault.FieldName:
			q.Name = p.Name
		case vault.FieldPhone:
			q.Phone = p.Phone
		case vault.FieldEmail:
			q.Email = p.Email
		case vault.FieldIDNumber:
			q.IDNumber = p.IDNumber
		case vault.FieldAddress:
			q.Address = p.Address
		case vault.FieldBankCard:
			q.BankCard = p.BankCard
		case vault.FieldPlate:
			q.Plate = p.Plate
		}
	}
	return q
}

// GetShare returns a share, without its records' values.
// Returns errs.NotFound when there is none.
func (s *Service) GetShare(ctx context.Context, id string) (*Share, error) {
	return s.store.GetShare(ctx, id)
}
