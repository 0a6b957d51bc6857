package httpapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// manyAttributes returns n valid attributes.
func manyAttributes(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("a%d", i)] = i
	}
	return m
}

// longAttributes returns n attributes of size-byte strings.
func longAttributes(n, size int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("a%d", i)] = strings.Repeat("v", size)
	}
	return m
}

// manyLinks returns n valid links.
func manyLinks(n int) []any {
	var ls []any
	for i := range n {
		ls = append(ls, map[string]any{"service": "game", "account": fmt.Sprintf("g-%d", i)})
	}
	return ls
}

// TestPutAccountBadInput sends bad requests to replace an existing account and to create
// a new one: each is a 4xx problem naming the field at fault, and nothing is written.
func TestPutAccountBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		wantStatus(t, api.put(t, "acct-1", with(map[string]any{"region": "seeded"})), http.StatusCreated)
		before := api.rows(t)
		seeded := api.get(t, "/v1/accounts/acct-1").Body.String()
		for _, tt := range badPuts {
			t.Run(tt.name, func(t *testing.T) {
				ids := []string{tt.id}
				if tt.id == "" {
					ids = []string{"acct-1", "acct-new"} // replace and create
				}
				status := tt.status
				if status == 0 {
					status = http.StatusBadRequest
				}
				for _, id := range ids {
					w := api.do(t, request{method: "PUT", target: "/v1/accounts/" + id, key: api.keys[principal.Service], body: tt.body, header: tt.header})
					wantProblem(t, w, status, tt.field)
					api.wantRows(t, before)
				}
				if got := api.get(t, "/v1/accounts/acct-1").Body.String(); got != seeded {
					t.Fatalf("a refused PUT changed the account:\n got %s\nwant %s", got, seeded)
				}
			})
		}
	})
}

// badPuts are bad requests to PUT /v1/accounts/{id}, and the field each must name.
var badPuts = []struct {
	name   string
	id     string // the path's ID, escaped; acct-1 when empty
	body   string
	header http.Header
	status int // 400 when zero
	field  string
}{
	{name: "empty body", body: "", field: "body"},
	{name: "whitespace body", body: " \n\t", field: "body"},
	{name: "malformed JSON", body: `{"region": "yn",`, field: "body"},
	{name: "bad token", body: `{"region": yn}`, field: "body"},
	{name: "not an object", body: `["yn"]`, field: "body"},
	{name: "string", body: `"yn"`, field: "body"},
	{name: "null", body: `null`, field: "created_at"}, // decodes as {}: every field missing
	{name: "two objects", body: validBody + validBody, field: "body"},
	{name: "trailing garbage", body: validBody + "x", field: "body"},
	{name: "unknown field", body: with(map[string]any{"colour": "red"}), field: "colour"},
	{name: "unknown field in a link", body: with(map[string]any{"linked": []any{map[string]any{"service": "game", "account": "g", "x": 1}}}), field: "x"},
	{name: "updated_at is not an input", body: with(map[string]any{"updated_at": "2024-01-01T00:00:00Z"}), field: "updated_at"},
	{name: "region number", body: with(map[string]any{"region": 5}), field: "region"},
	{name: "verified string", body: with(map[string]any{"verified": "yes"}), field: "verified"},
	{name: "created_at number", body: with(map[string]any{"created_at": 1700000000}), field: "created_at"},
	{name: "attributes array", body: with(map[string]any{"attributes": []any{"a"}}), field: "attributes"},
	{name: "attributes string", body: with(map[string]any{"attributes": "a=1"}), field: "attributes"},
	{name: "linked object", body: with(map[string]any{"linked": map[string]any{}}), field: "linked"},
	{name: "link service number", body: with(map[string]any{"linked": []any{map[string]any{"service": 1, "account": "g"}}}), field: "linked.service"},
	{name: "number overflow", body: `{"region":"yn","created_at":"2021-03-04T05:06:07Z","locale":"en","attributes":{"a":1e400}}`, field: "attributes"},
	{name: "field name in capitals", body: strings.Replace(validBody, `"region"`, `"REGION"`, 1), field: "REGION"},
	{name: "field name in mixed case", body: strings.Replace(validBody, `"locale"`, `"loCAle"`, 1), field: "loCAle"},
	{name: "field name folded by Unicode", body: strings.Replace(validBody, `"linked"`, `"lin\u212Aed"`, 1), field: "lin\u212Aed"}, // \u212A: the Kelvin sign, which folds to k
	{name: "link field in capitals", body: strings.Replace(validBody, `"service"`, `"Service"`, 1), field: "Service"},
	{name: "duplicate field", body: strings.Replace(validBody, `"region":"yn"`, `"region":"yn","region":"zz"`, 1), field: "region"},
	{name: "duplicate field, escaped", body: strings.Replace(validBody, `"region":"yn"`, `"region":"yn","\u0072egion":"zz"`, 1), field: "region"},
	{name: "duplicate field, case variant", body: strings.Replace(validBody, `"region":"yn"`, `"region":"yn","Region":"zz"`, 1), field: "Region"},
	{name: "duplicate attribute", body: strings.Replace(validBody, `"tier":"gold"`, `"tier":"gold","tier":"iron"`, 1), field: "attributes.tier"},
	{name: "duplicate field in a link", body: strings.Replace(validBody, `"service":"game"`, `"service":"game","service":"chat"`, 1), field: "linked[0].service"},

	{name: "id differs from the path", body: with(map[string]any{"id": "acct-2"}), field: "id"},
	{name: "bad id: leading dash", id: "-acct", body: validBody, field: "id"},
	{name: "bad id: space", id: "acct%201", body: validBody, field: "id"},
	{name: "bad id: slash", id: "acct%2F1", body: validBody, field: "id"},
	{name: "bad id: non-ASCII", id: "%C3%BC", body: validBody, field: "id"},
	{name: "bad id: NUL", id: "a%00", body: validBody, field: "id"},
	{name: "bad id: too long", id: strings.Repeat("a", 129), body: validBody, field: "id"},

	{name: "created_at missing", body: with(map[string]any{"created_at": absent}), field: "created_at"},
	{name: "created_at empty", body: with(map[string]any{"created_at": ""}), field: "created_at"},
	{name: "created_at not RFC 3339", body: with(map[string]any{"created_at": "2021-03-04 05:06:07"}), field: "created_at"},
	{name: "created_at no zone", body: with(map[string]any{"created_at": "2021-03-04T05:06:07"}), field: "created_at"},
	{name: "created_at month 13", body: with(map[string]any{"created_at": "2021-13-04T05:06:07Z"}), field: "created_at"},
	{name: "created_at before 1970", body: with(map[string]any{"created_at": "1969-12-31T23:59:59Z"}), field: "created_at"},
	{name: "created_at zero time", body: with(map[string]any{"created_at": "0001-01-01T00:00:00Z"}), field: "created_at"},
	{name: "created_at after 2261", body: with(map[string]any{"created_at": "2262-04-12T00:00:00Z"}), field: "created_at"},
	{name: "created_at year 7000", body: with(map[string]any{"created_at": "7000-01-01T00:00:00Z"}), field: "created_at"},
	{name: "created_at year 10000 in UTC", body: with(map[string]any{"created_at": "9999-12-31T23:00:00-05:00"}), field: "created_at"},

	{name: "locale missing", body: with(map[string]any{"locale": absent}), field: "locale"},
	{name: "locale fr", body: with(map[string]any{"locale": "fr"}), field: "locale"},
	{name: "locale wrong case", body: with(map[string]any{"locale": "zh-cn"}), field: "locale"},
	{name: "locale number", body: with(map[string]any{"locale": 1}), field: "locale"},

	{name: "region missing", body: with(map[string]any{"region": absent}), field: "region"},
	{name: "region too long", body: with(map[string]any{"region": strings.Repeat("r", 33)}), field: "region"},

	{name: "attribute object", body: with(map[string]any{"attributes": map[string]any{"a": map[string]any{"b": 1}}}), field: "attributes.a"},
	{name: "attribute array", body: with(map[string]any{"attributes": map[string]any{"a": []any{1}}}), field: "attributes.a"},
	{name: "attribute null", body: with(map[string]any{"attributes": map[string]any{"a": nil}}), field: "attributes.a"},
	{name: "attribute name", body: with(map[string]any{"attributes": map[string]any{"Tier": "gold"}}), field: "attributes.Tier"},
	{name: "attribute value too long", body: with(map[string]any{"attributes": map[string]any{"a": strings.Repeat("x", accounts.MaxAttributeValue+1)}}), field: "attributes.a"},
	{name: "too many attributes", body: with(map[string]any{"attributes": manyAttributes(accounts.MaxAttributes + 1)}), field: "attributes"},
	{name: "attributes over 32 KiB", body: with(map[string]any{"attributes": longAttributes(40, 1000)}), field: "attributes"},
	{name: "too many links", body: with(map[string]any{"linked": manyLinks(accounts.MaxLinked + 1)}), field: "linked"},
	{name: "link service", body: with(map[string]any{"linked": []any{map[string]any{"service": "", "account": "g"}}}), field: "linked[0].service"},
	{name: "link account", body: with(map[string]any{"linked": []any{map[string]any{"service": "game", "account": "g 1"}}}), field: "linked[0].account"},
	{name: "link null", body: with(map[string]any{"linked": []any{nil}}), field: "linked[0].service"},

	{name: "body over the limit", body: with(map[string]any{"region": strings.Repeat("r", maxJSONBody)}), status: http.StatusRequestEntityTooLarge},
	{name: "Idempotency-Key too long", body: validBody, header: http.Header{"Idempotency-Key": {strings.Repeat("k", 256)}}, field: "Idempotency-Key"},
	{name: "Idempotency-Key with a space", body: validBody, header: http.Header{"Idempotency-Key": {"a b"}}, field: "Idempotency-Key"},
}

// A number too large for its field is out of range, not "not a number".
func TestDecodeNumberOutOfRange(t *testing.T) {
	var v struct {
		F float64        `json:"f"`
		N int            `json:"n"`
		A map[string]any `json:"a"`
	}
	for _, tt := range []struct{ body, field, message string }{
		{`{"f":1e309}`, "f", "1e309 is out of range"},
		{`{"a":{"x":-1e309}}`, "a", "-1e309 is out of range"},
		{`{"n":99999999999999999999}`, "n", "99999999999999999999 is out of range for an integer"},
		{`{"n":1.5}`, "n", "must be an integer, not number 1.5"},
	} {
		fs := errs.FieldsOf(decodeJSON([]byte(tt.body), &v))
		if len(fs) != 1 || fs[0].Field != tt.field || !strings.HasPrefix(fs[0].Message, tt.message) {
			t.Errorf("%s: %+v, want %s: %s…", tt.body, fs, tt.field, tt.message)
		}
	}
}
