package leak

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/vault"
)

// Row is one row of a leaked sample: any subset of these.
type Row struct {
	Name      string         `json:"name,omitempty"`
	Phone     string         `json:"phone,omitempty"`
	Email     string         `json:"email,omitempty"`
	Address   string         `json:"address,omitempty"`
	IDNumber  string         `json:"id_number,omitempty"`
	BankCard  string         `json:"bank_card,omitempty"`
	CardLast4 string         `json:"card_last4,omitempty"` // what a masked view shows too
	Plate     string         `json:"plate,omitempty"`
	Order     map[string]any `json:"order,omitempty"` // order fields: kept as the sample has them, not matched
}

// MaxRows is the most rows one investigation takes.
const MaxRows = 100_000

// Investigation is what an investigation is asked: the sample, and when it was seen
// (no copy made after that can be its source; now when zero).
type Investigation struct {
	Rows   []Row
	SeenAt time.Time
	Note   string
}

// Leak is an investigation of a leaked sample: how its rows matched, and its suspects
// ranked by the guilt model.
type Leak struct {
	ID        string              `json:"id"`
	Actor     principal.Principal `json:"actor"`
	CreatedAt time.Time           `json:"created_at"`
	SeenAt    time.Time           `json:"seen_at"`
	Note      string              `json:"note,omitempty"`
	Rows      int                 `json:"rows"`
	Matched   int                 `json:"matched"`  // rows matched to an account, a canary or a relay
	Canaries  []string            `json:"canaries"` // canaries found in the sample
	Relays    int                 `json:"relays"`   // rows whose phone is a relay number
	Accounts  []string            `json:"accounts"` // the accounts the sample matched, sorted
	Suspects  []Suspect           `json:"suspects"` // by Weight, highest first
	// P is the model's probability that a leaked record reached the leaker some other
	// way (guessed, or from the person); a canary's or relay's is 0.
	P float64 `json:"p"`
}

// Suspect is a share, or a member of staff who revealed accounts of the sample.
type Suspect struct {
	Kind      string          `json:"kind"`                // share or staff
	ID        string          `json:"id"`                  // the share's ID, or the staff key's name
	Pseudonym string          `json:"pseudonym,omitempty"` // staff: the name the vault's entries (and users' access logs) give them
	Recipient string          `json:"recipient,omitempty"`
	Role      string          `json:"role,omitempty"`
	Score     float64         `json:"score"`  // Pr{guilty | sample}, the model's estimate
	Weight    float64         `json:"weight"` // -Σ log(1 - term): the ranking key, which does not saturate at 1 as Score does
	Evidence  SuspectEvidence `json:"evidence"`
}

// SuspectEvidence is what a suspect's score rests on.
type SuspectEvidence struct {
	Rows     int       `json:"rows"`     // sample rows it had received in the leaked form
	Share    float64   `json:"share"`    // Rows over the rows matched
	Unmasked []string  `json:"unmasked"` // the sample's fields it had seen in clear
	Canaries []string  `json:"canaries"` // canaries of the sample it carried: decisive
	Relays   int       `json:"relays"`   // sample rows holding the relay number given to it: decisive
	Excluded int       `json:"excluded"` // rows it received, but not in the leaked form (a relay recipient, a real number)
	First    time.Time `json:"first"`    // when it first received one of the rows
	Last     time.Time `json:"last"`
}

// DefaultP is Leak.P: the chance that a record of the sample reached the leaker other
// than through a suspect.
const DefaultP = 0.2

// maxSuspects is the most suspects an answer lists.
const maxSuspects = 100

// item is a sample row as matched.
type item struct {
	account   string   // "" when it matched none
	canary    string   // a canary's ID
	relay     *Relay   // the relay its phone is
	fields    []string // the fields it leaks that only a clear view shows, sorted
	realPhone bool     // it holds a phone that is no relay
}

// clearFields are the fields a masked view does not show whole.
var clearFields = []string{vault.FieldName, vault.FieldPhone, vault.FieldEmail, vault.FieldIDNumber, vault.FieldAddress, vault.FieldBankCard, vault.FieldPlate}

// normalize checks the rows, normalising their values; every bad value is named.
func normalize(rows []Row) error {
	var fs errs.Fields
	if len(rows) == 0 {
		fs.Add("rows", "the sample holds no rows")
	}
	if len(rows) > MaxRows {
		fs.Add("rows", "holds %d rows; an investigation takes at most %d", len(rows), MaxRows)
		return fs.Err()
	}
	for i := range rows {
		r := &rows[i]
		for _, v := range []struct {
			field string
			p     *string
		}{{vault.FieldPhone, &r.Phone}, {vault.FieldEmail, &r.Email}, {vault.FieldIDNumber, &r.IDNumber}, {vault.FieldBankCard, &r.BankCard}, {vault.FieldPlate, &r.Plate}} {
			n, err := vault.NormalizeValue(v.field, *v.p)
			if err != nil {
				for _, f := range errs.FieldsOf(err) {
					fs.Add("rows["+strconv.Itoa(i)+"]."+f.Field, "%s", f.Message)
				}
				continue
			}
			*v.p = n
		}
		r.Name, r.Address = strings.TrimSpace(r.Name), strings.TrimSpace(r.Address)
		if c := strings.TrimSpace(r.CardLast4); c != "" && (len(c) != 4 || strings.Trim(c, "0123456789") != "") {
			fs.Add("rows["+strconv.Itoa(i)+"].card_last4", "must be four digits")
		}
		if r.Name == "" && r.Phone == "" && r.Email == "" && r.Address == "" && r.IDNumber == "" && r.BankCard == "" && r.Plate == "" && r.CardLast4 == "" {
			fs.Add("rows["+strconv.Itoa(i)+"]", "holds none of name, phone, email, address, id_number, bank_card, card_last4, plate")
		}
	}
	return fs.Err()
}

// Investigate matches the sample's rows to accounts (through the blind indexes), to
// canaries and to relay numbers, and ranks the shares and staff who had received them
// by the guilt model of Papadimitriou and Garcia-Molina: for each row t and each suspect
// i among the V_t that received it in the leaked form, Pr{G_i} = 1 - Π (1 - (1-p_t)/|V_t|),
// where p_t is the chance the leaker had t some other way (0 for a canary or relay: nobody
// else has it). A suspect that saw only some of a row's fields in clear counts that row
// in proportion. The investigation is stored and audited in one transaction.
// Returns errs.Invalid naming every bad row value.
func (s *Service) Investigate(ctx context.Context, inv Investigation) (*Leak, error) {
	if err := normalize(inv.Rows); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if inv.SeenAt.IsZero() || inv.SeenAt.After(now) {
		inv.SeenAt = now
	}
	l := &Leak{ID: newID(), Actor: principal.FromContext(ctx), CreatedAt: now, SeenAt: inv.SeenAt.UTC(), Note: inv.Note,
		Rows: len(inv.Rows), Canaries: []string{}, Accounts: []string{}, Suspects: []Suspect{}, P: DefaultP}
	items, err := s.match(ctx, inv.Rows)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		switch {
		case it.account != "":
			l.Matched++
			l.Accounts = append(l.Accounts, it.account)
		case it.canary != "":
			l.Matched++
			l.Canaries = append(l.Canaries, it.canary)
		}
		if it.relay != nil {
			l.Relays++
		}
	}
	l.Accounts = slices.Compact(slices.Sorted(slices.Values(l.Accounts)))
	l.Canaries = slices.Compact(slices.Sorted(slices.Values(l.Canaries)))
	g, err := s.received(ctx, items, l.Accounts, l.SeenAt)
	if err != nil {
		return nil, err
	}
	l.Suspects = g.rank(items, l.P, l.Matched)
	top := make([]map[string]any, 0, min(10, len(l.Suspects)))
	for _, sp := range l.Suspects[:min(10, len(l.Suspects))] {
		top = append(top, map[string]any{"kind": sp.Kind, "id": sp.ID, "score": sp.Score})
	}
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.store.PutLeak(ctx, l); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: ActionInvestigate, Subject: "leak:" + l.ID,
			Value: map[string]any{"rows": l.Rows, "matched": l.Matched, "canaries": l.Canaries, "relays": l.Relays, "suspects": top}})
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// GetLeak returns an investigation. Returns errs.NotFound when there is none.
func (s *Service) GetLeak(ctx context.Context, id string) (*Leak, error) {
	return s.store.GetLeak(ctx, id)
}

// LeakAccounts returns the IDs of the accounts an investigation matched, sorted.
// Returns errs.NotFound when there is no such investigation.
func (s *Service) LeakAccounts(ctx context.Context, leakID string) ([]string, error) {
	l, err := s.store.GetLeak(ctx, leakID)
	if err != nil {
		return nil, err
	}
	return l.Accounts, nil
}

// match matches each row to a relay, a canary or an account.
func (s *Service) match(ctx context.Context, rows []Row) ([]item, error) {
	cs, err := s.store.Canaries(ctx)
	if err != nil {
		return nil, err
	}
	canaryOf := map[string]string{} // field + "\x00" + value → canary ID
	for _, c := range cs {
		for _, f := range clearFields {
			if v := get(c.PII, f); v != "" {
				canaryOf[f+"\x00"+v] = c.ID
			}
		}
	}
	items := make([]item, len(rows))
	for i, r := range rows {
		p := vault.PII{Name: r.Name, Phone: r.Phone, Email: r.Email, IDNumber: r.IDNumber, Address: r.Address, BankCard: r.BankCard, Plate: r.Plate}
		it := &items[i]
		it.fields = p.Present()
		if r.Phone != "" {
			rl, err := s.store.RelayOf(ctx, r.Phone)
			switch {
			case err == nil:
				it.relay = rl
				if c, ok := strings.CutPrefix(rl.Account, "canary:"); ok {
					it.canary = c
				} else {
					it.account = rl.Account
				}
				continue
			case errs.CodeOf(err) != errs.NotFound:
				return nil, err
			}
			it.realPhone = true
		}
		for _, f := range clearFields {
			if v := get(p, f); v != "" && canaryOf[f+"\x00"+v] != "" {
				it.canary = canaryOf[f+"\x00"+v]
				break
			}
		}
		if it.canary != "" {
			continue
		}
		votes := map[string]int{}
		for _, f := range vault.Indexed {
			v := get(p, f)
			if v == "" {
				continue
			}
			found, err := s.vault.Match(ctx, f, v)
			if err != nil {
				return nil, err
			}
			for _, a := range found {
				votes[a]++
			}
		}
		best := 0
		for a, n := range votes {
			if n > best || n == best && a < it.account {
				it.account, best = a, n
			}
		}
	}
	return items, nil
}

func get(p vault.PII, f string) string {
	q := only(p, []string{f})
	for _, v := range []string{q.Name, q.Phone, q.Email, q.IDNumber, q.Address, q.BankCard, q.Plate} {
		if v != "" {
			return v
		}
	}
	return ""
}

// suspectKey names a suspect: "share:" and its ID, or "staff:" and the key's name.
type suspectKey string

// holding is what one suspect received of one row.
type holding struct {
	w        float64 // the share of the row's clear fields it saw in the leaked form
	excluded bool
	at       time.Time
}

// guilt is what every suspect received of the sample's rows.
type guilt struct {
	suspects map[suspectKey]*Suspect
	held     map[suspectKey]map[int]holding // by row
}

func (g *guilt) hold(k suspectKey, sp Suspect, row int, h holding) {
	if g.suspects[k] == nil {
		s := sp
		g.suspects[k] = &s
		g.held[k] = map[int]holding{}
	}
	if old, ok := g.held[k][row]; ok && (old.w > h.w || old.w == h.w && !old.at.After(h.at)) {
		return
	}
	g.held[k][row] = h
}

// seen is the fraction of fields, the row's clear fields, that have is among.
func seen(fields, have []string) float64 {
	if len(fields) == 0 {
		return 0
	}
	n := 0
	for _, f := range fields {
		if slices.Contains(have, f) {
			n++
		}
	}
	return float64(n) / float64(len(fields))
}

// received finds which suspects received which rows before seenAt: the shares (their
// ordinal sets and canaries) and the staff reveals of the accounts.
func (s *Service) received(ctx context.Context, items []item, accts []string, seenAt time.Time) (*guilt, error) {
	g := &guilt{suspects: map[suspectKey]*Suspect{}, held: map[suspectKey]map[int]holding{}}
	ords, err := s.store.OrdinalsOf(ctx, accts)
	if err != nil {
		return nil, err
	}
	err = s.store.EachShare(ctx, seenAt, func(sh *Share) error {
		k := suspectKey("share:" + sh.ID)
		sp := Suspect{Kind: "share", ID: sh.ID, Recipient: sh.Recipient}
		for i, it := range items {
			got := false
			switch {
			case it.canary != "":
				got = slices.Contains(sh.Canaries, it.canary)
			case it.account != "":
				o, ok := ords[it.account]
				got = ok && sh.Set.Contains(o)
			}
			if !got {
				continue
			}
			h := holding{w: seen(it.fields, sh.Fields), at: sh.CreatedAt}
			relayed := sh.PhoneMode == PhoneRelay && slices.Contains(sh.Fields, vault.FieldPhone)
			switch {
			case it.relay != nil && it.relay.Recipient != sh.Recipient, it.relay == nil && it.realPhone && relayed:
				h.w, h.excluded = 0, true // it holds another form of the phone than the leaked one
			}
			g.hold(k, sp, i, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Staff reveals: the vault's entries name the account by its commitment.
	rowsOf := map[string][]int{}
	for i, it := range items {
		if it.account == "" {
			continue
		}
		c, err := s.vault.Commitment(ctx, it.account)
		if err != nil {
			return nil, err
		}
		rowsOf[c] = append(rowsOf[c], i)
	}
	subjects := make([]string, 0, len(rowsOf))
	for c := range rowsOf {
		subjects = append(subjects, c)
	}
	slices.Sort(subjects)
	reveals, err := s.store.Reveals(ctx, subjects)
	if err != nil {
		return nil, err
	}
	// A person who revealed an account's fields over several reveals saw their union.
	type seenKey struct {
		actor, subject string
	}
	union := map[seenKey][]string{}
	first := map[seenKey]time.Time{}
	staff := staffNames{v: s.vault, known: map[string]string{}}
	for _, r := range reveals {
		if !r.Time.Before(seenAt) {
			continue
		}
		name, err := staff.name(ctx, r.Actor.Name)
		if err != nil {
			return nil, err
		}
		sk := seenKey{name, r.Account}
		union[sk] = append(union[sk], r.Fields...)
		if t, ok := first[sk]; !ok || r.Time.Before(t) {
			first[sk] = r.Time
		}
		k := suspectKey("staff:" + name)
		sp := Suspect{Kind: "staff", ID: name, Role: string(r.Actor.Role)}
		if name != r.Actor.Name {
			sp.Pseudonym = r.Actor.Name
		}
		for _, i := range rowsOf[r.Account] {
			it := items[i]
			h := holding{w: seen(it.fields, union[sk]), at: first[sk]}
			if it.relay != nil {
				h.w, h.excluded = 0, true // staff see the real number, never a recipient's relay
			}
			g.hold(k, sp, i, h)
		}
	}
	return g, nil
}

// staffNames names the staff the vault's entries name by pseudonym (see
// vault.Service.WhoIs), asking the vault once per pseudonym.
type staffNames struct {
	v     *vault.Service
	known map[string]string
}

// name returns the key name of the member of staff an entry names as recorded: a
// pseudonym's person, or recorded itself when it is a name (or a pseudonym the vault
// cannot name, which stays a suspect under it).
func (n *staffNames) name(ctx context.Context, recorded string) (string, error) {
	if !strings.HasPrefix(recorded, "staff-") {
		return recorded, nil
	}
	if name, ok := n.known[recorded]; ok {
		return name, nil
	}
	name := recorded
	p, err := n.v.WhoIs(ctx, recorded)
	switch errs.CodeOf(err) {
	case "":
		name = p.Name
	case errs.NotFound:
	default:
		return "", err
	}
	n.known[recorded] = name
	return name, nil
}

// rank scores every suspect by the guilt model and returns the maxSuspects most likely.
func (g *guilt) rank(items []item, p float64, matched int) []Suspect {
	holders := make([]int, len(items)) // |V_t|
	for _, rows := range g.held {
		for i, h := range rows {
			if h.w > 0 {
				holders[i]++
			}
		}
	}
	out := make([]Suspect, 0, len(g.suspects))
	for k, sp := range g.suspects {
		e := SuspectEvidence{Unmasked: []string{}, Canaries: []string{}}
		logMiss := 0.0
		for i, h := range g.held[k] {
			it := items[i]
			if h.excluded {
				e.Excluded++
			}
			if h.w <= 0 {
				continue
			}
			e.Rows++
			if e.First.IsZero() || h.at.Before(e.First) {
				e.First = h.at
			}
			if h.at.After(e.Last) {
				e.Last = h.at
			}
			pt := p
			if it.canary != "" || it.relay != nil {
				pt = 0
			}
			if it.canary != "" && !slices.Contains(e.Canaries, it.canary) {
				e.Canaries = append(e.Canaries, it.canary)
			}
			if it.relay != nil {
				e.Relays++
			}
			for _, f := range it.fields {
				if !slices.Contains(e.Unmasked, f) {
					e.Unmasked = append(e.Unmasked, f)
				}
			}
			term := h.w * (1 - pt) / float64(holders[i])
			if term >= 1 {
				logMiss = math.Inf(-1)
			} else {
				logMiss += math.Log1p(-term)
			}
		}
		if e.Rows == 0 {
			continue
		}
		slices.Sort(e.Unmasked)
		slices.Sort(e.Canaries)
		if matched > 0 {
			e.Share = float64(e.Rows) / float64(matched)
		}
		sp.Evidence = e
		sp.Score = -math.Expm1(logMiss)
		sp.Weight = -logMiss
		if math.IsInf(sp.Weight, 1) {
			sp.Weight = math.MaxFloat64 // JSON has no infinity: decisive
		}
		out = append(out, *sp)
	}
	decide(out)
	slices.SortFunc(out, func(a, b Suspect) int {
		switch {
		case a.Weight != b.Weight:
			if a.Weight > b.Weight {
				return -1
			}
			return 1
		case a.Evidence.Rows != b.Evidence.Rows:
			return b.Evidence.Rows - a.Evidence.Rows
		}
		return strings.Compare(a.Kind+a.ID, b.Kind+b.ID)
	})
	return out[:min(len(out), maxSuspects)]
}

// decide makes the one suspect that carried every canary of the sample certain: each
// share's set of canaries is its own (no two shares carry the same), so canaries that
// only one share's set holds all of name it, even when each canary alone is in several.
func decide(ss []Suspect) {
	var all []string
	for _, s := range ss {
		for _, c := range s.Evidence.Canaries {
			if !slices.Contains(all, c) {
				all = append(all, c)
			}
		}
	}
	if len(all) == 0 {
		return
	}
	only := -1
	for i, s := range ss {
		if len(s.Evidence.Canaries) == len(all) {
			if only >= 0 {
				return
			}
			only = i
		}
	}
	if only >= 0 {
		ss[only].Score, ss[only].Weight = 1, math.MaxFloat64
	}
}
