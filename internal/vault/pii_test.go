package vault_test

import (
	"slices"
	"testing"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/vault"
)

func TestNormalizeValues(t *testing.T) {
	good := []struct{ field, in, want string }{
		{"phone", "+8613812345678", "+8613812345678"},
		{"phone", "138 1234 5678", "+8613812345678"},
		{"phone", "010-62345678", "+861062345678"},
		{"phone", "+44 20 7946 0958", "+442079460958"},
		{"email", "Li.Ming@Example.COM", "li.ming@example.com"},
		{"id_number", "11010519491231002x", "11010519491231002X"},
		{"id_number", "110101199003074477", "110101199003074477"},
		{"bank_card", "4111 1111 1111 1111", "4111111111111111"},
		{"bank_card", "6222021234567890128", "6222021234567890128"},
		{"plate", "浙B·12312", "浙B12312"},
		{"plate", "粤bd12345", "粤BD12345"},
	}
	for _, c := range good {
		got, err := vault.NormalizeValue(c.field, c.in)
		if err != nil || got != c.want {
			t.Errorf("%s %q = %q, %v; want %q", c.field, c.in, got, err, c.want)
		}
	}
	bad := []struct{ field, in string }{
		{"phone", "12345"}, {"phone", "+0123456789"}, {"phone", "23812345678"}, {"phone", "1381234567a"},
		{"email", "no-at-sign"}, {"email", "a@b"}, {"email", "Li <li@example.com>"}, {"email", "a b@example.com"},
		{"id_number", "110105194912310021"}, // wrong check digit
		{"id_number", "11010519491331002X"}, // month 13
		{"id_number", "1101051949123100"},
		{"bank_card", "4111111111111112"}, {"bank_card", "41111111"}, {"bank_card", "4111-1111-1111-111a"},
		{"plate", "ZB12345"}, {"plate", "浙I12345"}, {"plate", "浙B1234"}, {"plate", "浙B1234567"},
	}
	for _, c := range bad {
		if got, err := vault.NormalizeValue(c.field, c.in); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s %q = %q, %v; want invalid", c.field, c.in, got, err)
		}
	}
}

func TestNormalizeNamesEveryBadField(t *testing.T) {
	_, err := vault.Normalize(vault.PII{Name: "ok", Phone: "1", Email: "x", IDNumber: "2", BankCard: "3", Plate: "4",
		Address: string(make([]byte, 600)), Extra: map[string]string{"Bad Key": "v", "fine": "\x01"}})
	var got []string
	for _, f := range errs.FieldsOf(err) {
		got = append(got, f.Field)
	}
	want := []string{"address", "phone", "email", "id_number", "bank_card", "plate", "extra.Bad Key", "extra.fine"}
	if !slices.Equal(got, want) {
		t.Fatalf("fields at fault = %v, want %v (%v)", got, want, err)
	}
}

func TestMask(t *testing.T) {
	p, err := vault.Normalize(vault.PII{Name: "张三", Phone: "13812345678", Email: "liming@example.com",
		IDNumber: "110105194912310021"[:17] + "X", Address: "浙江省杭州市西湖区文三路100号", BankCard: "6222021234567890128",
		Plate: "浙B12312", Extra: map[string]string{"wechat": "liming88"}})
	if err != nil {
		// the check digit of 11010519491231002 is X
		t.Fatal(err)
	}
	m := vault.Mask(p)
	want := vault.PII{Name: "张*", Phone: "138****5678", Email: "l***@example.com", IDNumber: "1101**********002X",
		Address: "浙江省杭州市西湖区****", BankCard: "****0128", Plate: "浙B***12", Extra: map[string]string{"wechat": "****"}}
	if m.Name != want.Name || m.Phone != want.Phone || m.Email != want.Email || m.IDNumber != want.IDNumber ||
		m.Address != want.Address || m.BankCard != want.BankCard || m.Plate != want.Plate || m.Extra["wechat"] != "****" {
		t.Fatalf("masked = %+v\nwant     %+v", *m, want)
	}
	if got := vault.Mask(&vault.PII{Phone: "+442079460958", Address: "10 Downing St, London"}); got.Phone != "+442*****0958" || got.Address != "****" {
		t.Fatalf("masked = %+v", *got)
	}
}
