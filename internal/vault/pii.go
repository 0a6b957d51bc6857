package vault

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stewardhq/steward/internal/errs"
)

// PII is an account's personal data. Every field is optional; Put validates each by its
// type and stores it normalised (a phone in E.164, an e-mail in lower case, an ID number
// or plate in upper case without spaces).
type PII struct {
	Name     string            `json:"name,omitempty"`
	Phone    string            `json:"phone,omitempty"`     // E.164, or a Chinese mobile or landline number
	Email    string            `json:"email,omitempty"`     //
	IDNumber string            `json:"id_number,omitempty"` // 18-digit resident ID with its check digit
	Address  string            `json:"address,omitempty"`   //
	BankCard string            `json:"bank_card,omitempty"` // 12 to 19 digits passing Luhn
	Plate    string            `json:"plate,omitempty"`     // a Chinese licence plate
	Extra    map[string]string `json:"extra,omitempty"`     // other named values, masked whole
}

// Field names, as requests and audit entries name them.
const (
	FieldName     = "name"
	FieldPhone    = "phone"
	FieldEmail    = "email"
	FieldIDNumber = "id_number"
	FieldAddress  = "address"
	FieldBankCard = "bank_card"
	FieldPlate    = "plate"
	FieldExtra    = "extra"
)

// Fields lists every field, in a stable order.
var Fields = []string{FieldName, FieldPhone, FieldEmail, FieldIDNumber, FieldAddress, FieldBankCard, FieldPlate, FieldExtra}

// Indexed lists the fields a lookup may search: those with a blind index.
var Indexed = []string{FieldPhone, FieldEmail, FieldIDNumber, FieldBankCard, FieldPlate}

// ptr returns where p keeps field f's value, nil for extra (a map) or an unknown name.
func (p *PII) ptr(f string) *string {
	switch f {
	case FieldName:
		return &p.Name
	case FieldPhone:
		return &p.Phone
	case FieldEmail:
		return &p.Email
	case FieldIDNumber:
		return &p.IDNumber
	case FieldAddress:
		return &p.Address
	case FieldBankCard:
		return &p.BankCard
	case FieldPlate:
		return &p.Plate
	}
	return nil
}

// get returns the value of field f ("" for extra).
func (p *PII) get(f string) string {
	if v := p.ptr(f); v != nil {
		return *v
	}
	return ""
}

// Present returns the names of the fields p holds, in Fields order.
func (p *PII) Present() []string {
	var out []string
	for _, f := range Fields {
		if p.get(f) != "" || (f == FieldExtra && len(p.Extra) > 0) {
			out = append(out, f)
		}
	}
	return out
}

// only returns a copy of p holding only the named fields.
func (p *PII) only(fields []string) *PII {
	q := &PII{}
	for _, f := range fields {
		if v := q.ptr(f); v != nil {
			*v = p.get(f)
		} else if f == FieldExtra {
			q.Extra = p.Extra
		}
	}
	return q
}

// Limits on free-text fields.
const (
	maxName     = 100  // runes
	maxAddress  = 500  // runes
	maxExtra    = 32   // keys
	maxExtraLen = 1000 // runes per value
)

var extraKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Normalize checks every field of p and returns p with each in its normal form, or an
// errs.Invalid naming every field at fault. An empty value is no value.
func Normalize(p PII) (*PII, error) {
	var fs errs.Fields
	var err error
	p.Name = text(&fs, FieldName, p.Name, maxName)
	p.Address = text(&fs, FieldAddress, p.Address, maxAddress)
	if p.Phone, err = NormalizeValue(FieldPhone, p.Phone); err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	}
	if p.Email, err = NormalizeValue(FieldEmail, p.Email); err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	}
	if p.IDNumber, err = NormalizeValue(FieldIDNumber, p.IDNumber); err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	}
	if p.BankCard, err = NormalizeValue(FieldBankCard, p.BankCard); err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	}
	if p.Plate, err = NormalizeValue(FieldPlate, p.Plate); err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	}
	if len(p.Extra) > maxExtra {
		fs.Add(FieldExtra, "holds at most %d values", maxExtra)
	}
	keys := make([]string, 0, len(p.Extra))
	for k := range p.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !extraKey.MatchString(k) {
			fs.Add(FieldExtra+"."+k, "a key is a lower-case letter, then up to 63 lower-case letters, digits or _")
			continue
		}
		p.Extra[k] = text(&fs, FieldExtra+"."+k, p.Extra[k], maxExtraLen)
		if p.Extra[k] == "" {
			delete(p.Extra, k)
		}
	}
	if len(p.Extra) == 0 {
		p.Extra = nil
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return &p, nil
}

// text checks a free-text value: valid UTF-8, no control characters, at most max runes;
// it returns it without surrounding space.
func text(fs *errs.Fields, field, v string, max int) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
	case !utf8.ValidString(v):
		fs.Add(field, "is not valid UTF-8")
	case strings.ContainsFunc(v, unicode.IsControl):
		fs.Add(field, "holds a control character")
	case utf8.RuneCountInString(v) > max:
		fs.Add(field, "is longer than %d characters", max)
	}
	return v
}

var (
	e164        = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	cnMobile    = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	cnLandline  = regexp.MustCompile(`^0[1-9][0-9]{1,2}[2-9][0-9]{6,7}$`)
	plateNormal = regexp.MustCompile(`^[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z]([A-HJ-NP-Z0-9]{4}[A-HJ-NP-Z0-9挂学警港澳]|[A-HJ-NP-Z0-9]{6})$`)
	separators  = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", "·", "", ".", "")
)

// NormalizeValue returns v, a value of field, in the normal form Put stores and blind
// indexes hash, or an errs.Invalid naming field. "" stays "".
func NormalizeValue(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	switch field {
	case FieldPhone:
		d := separators.Replace(v)
		switch {
		case e164.MatchString(d):
			return d, nil
		case cnMobile.MatchString(d):
			return "+86" + d, nil
		case cnLandline.MatchString(d):
			return "+86" + d[1:], nil
		}
		return "", errs.Field(field, "must be an E.164 number (+8613812345678) or a Chinese mobile or landline number")
	case FieldEmail:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || a.Name != "" || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") || len(v) > 254 {
			return "", errs.Field(field, "must be an address such as name@example.com")
		}
		return strings.ToLower(v), nil
	case FieldIDNumber:
		d := strings.ToUpper(strings.ReplaceAll(v, " ", ""))
		if !validID(d) {
			return "", errs.Field(field, "must be an 18-character resident ID number whose last character is its check digit")
		}
		return d, nil
	case FieldBankCard:
		d := separators.Replace(v)
		if len(d) < 12 || len(d) > 19 || !allDigits(d) || !luhn(d) {
			return "", errs.Field(field, "must be a card number of 12 to 19 digits that passes the Luhn check")
		}
		return d, nil
	case FieldPlate:
		d := strings.ToUpper(separators.Replace(v))
		if !plateNormal.MatchString(d) {
			return "", errs.Field(field, "must be a Chinese plate such as 浙B12345 or 粤BD12345")
		}
		return d, nil
	}
	return "", errs.Field("field", "must be one of %v", Indexed)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// luhn reports whether the digits of s pass the Luhn check.
func luhn(s string) bool {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// validID checks an 18-character resident ID (GB 11643): 17 digits with a plausible
// birth date, then the ISO 7064 MOD 11-2 check character.
func validID(s string) bool {
	if len(s) != 18 || !allDigits(s[:17]) {
		return false
	}
	month, day := (s[10]-'0')*10+s[11]-'0', (s[12]-'0')*10+s[13]-'0'
	if month < 1 || month > 12 || day < 1 || day > 31 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	return s[17] == "10X98765432"[sum%11]
}
