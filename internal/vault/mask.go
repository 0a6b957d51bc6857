package vault

import (
	"strings"
	"unicode/utf8"
)

// Mask returns p as staff see it by default: enough to recognise, not to use. A phone
// keeps its first three and last four digits (138****5678), a name its first character
// (张*), an ID number its first four and last four (1101**********1234), a card its last
// four (****1234), an address up to its district (浙江省杭州市西湖区****), a plate its
// province, letter and last two (浙B***12), an e-mail its first character and domain;
// extra values are hidden whole.
func Mask(p *PII) *PII {
	m := &PII{
		Name:     maskName(p.Name),
		Phone:    maskPhone(p.Phone),
		Email:    maskEmail(p.Email),
		IDNumber: keepEnds(p.IDNumber, 4, 4),
		Address:  maskAddress(p.Address),
		BankCard: keepEnds(p.BankCard, 0, 4),
		Plate:    keepEnds(p.Plate, 2, 2),
	}
	if len(p.Extra) > 0 {
		m.Extra = make(map[string]string, len(p.Extra))
		for k := range p.Extra {
			m.Extra[k] = "****"
		}
	}
	return m
}

// keepEnds shows the first head and last tail runes of s and stars between them; a
// value too short to hide anything that way is all stars.
func keepEnds(s string, head, tail int) string {
	if s == "" {
		return ""
	}
	r := []rune(s)
	if len(r) <= head+tail {
		return strings.Repeat("*", len(r))
	}
	hidden := len(r) - head - tail
	if head == 0 {
		hidden = 4 // a card shows as ****1234 whatever its length
	}
	return string(r[:head]) + strings.Repeat("*", hidden) + string(r[len(r)-tail:])
}

func maskName(s string) string {
	if s == "" {
		return ""
	}
	first, size := utf8.DecodeRuneInString(s)
	return string(first) + strings.Repeat("*", max(1, utf8.RuneCountInString(s[size:])))
}

// maskPhone masks a normalised (E.164) number; a Chinese one shows as its national
// number, 138****5678.
func maskPhone(s string) string {
	if s == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(s, "+86"); ok {
		return keepEnds(rest, 3, 4)
	}
	return "+" + keepEnds(s[1:], 3, 4)
}

func maskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 1 {
		return keepEnds(s, 0, 0)
	}
	first, _ := utf8.DecodeRuneInString(s)
	return string(first) + "***" + s[at:]
}

// maskAddress keeps an address up to its district (区, 县 or 旗; else its city, 市) and
// hides the rest; an address without one is hidden whole.
func maskAddress(s string) string {
	if s == "" {
		return ""
	}
	cut := -1
	for _, marker := range []string{"区", "县", "旗"} {
		if i := strings.Index(s, marker); i >= 0 && (cut < 0 || i < cut) {
			cut = i + len(marker)
		}
	}
	if cut < 0 {
		if i := strings.LastIndex(s, "市"); i >= 0 {
			cut = i + len("市")
		}
	}
	if cut < 0 {
		return "****"
	}
	return s[:cut] + "****"
}
