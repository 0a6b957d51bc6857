package httpapi

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
)

// accountBody is the body of PUT /v1/accounts/{id}. created_at is a string so that a bad
// time is reported against its field.
type accountBody struct {
	ID         string          `json:"id,omitempty"` // optional; must match the path
	Region     string          `json:"region"`
	Verified   bool            `json:"verified"`
	CreatedAt  string          `json:"created_at"` // RFC 3339
	Locale     string          `json:"locale"`
	Attributes map[string]any  `json:"attributes,omitempty"`
	Linked     []accounts.Link `json:"linked,omitempty"`
}

// importLine is one line of an import: an account body with its ID.
type importLine = accountBody

type accountReply = accounts.Account

type accountPage struct {
	Accounts []*accounts.Account `json:"accounts"`
	Next     string              `json:"next,omitempty"` // cursor of the next page; absent on the last
}

type importReply = accounts.ImportResult

// toAccount checks the account, reporting every field at fault at once.
func (b *accountBody) toAccount(id string) (*accounts.Account, error) {
	var fs errs.Fields
	if b.ID != "" && b.ID != id {
		fs.Add("id", "%q does not match the account ID in the path", b.ID)
	}
	a := &accounts.Account{ID: id, Region: b.Region, Verified: b.Verified, Locale: b.Locale, Attributes: b.Attributes, Linked: b.Linked}
	malformed := false
	if b.CreatedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, b.CreatedAt)
		if malformed = err != nil; malformed {
			fs.Add("created_at", "must be an RFC 3339 time such as 2024-05-01T08:00:00Z")
		}
		a.CreatedAt = t
	}
	for _, f := range errs.FieldsOf(a.Validate()) {
		if !(malformed && f.Field == "created_at") { // said already, better
			fs = append(fs, f)
		}
	}
	return a, fs.Err()
}

func (s *server) putAccount(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	id := r.PathValue("id")
	if err := accounts.CheckID("id", id); err != nil {
		return nil, err
	}
	var b accountBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	a, err := b.toAccount(id)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		created, err := s.Accounts.Put(ctx, a)
		if err != nil {
			return 0, nil, err
		}
		if created {
			return http.StatusCreated, a, nil
		}
		return http.StatusOK, a, nil
	}, nil
}

func (s *server) getAccount(r *http.Request) (int, any, error) {
	a, err := s.Accounts.Get(r.Context(), r.PathValue("id"))
	return http.StatusOK, a, err
}

func (s *server) listAccounts(r *http.Request) (int, any, error) {
	after, limit, err := pageQuery(r, accounts.ValidID)
	if err != nil {
		return 0, nil, err
	}
	f := accounts.Filter{Region: r.URL.Query().Get("region"), After: after, Limit: limit + 1}
	list, err := s.Accounts.List(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	var p accountPage
	p.Accounts, p.Next = page(list, limit, func(a *accounts.Account) string { return a.ID })
	return http.StatusOK, p, nil
}

// importAccounts decodes an NDJSON body, one account per line (blank lines are skipped),
// and imports it all or nothing.
func (s *server) importAccounts(r *http.Request, body []byte) (func(context.Context) (int, any, error), error) {
	as := make([]*accounts.Account, 0, bytes.Count(body, []byte{'\n'})+1)
	lines := make([]int, 0, cap(as)) // each account's line: blank lines are skipped
	var fs errs.Fields
	line := 0
	for len(body) > 0 && len(fs) < 100 {
		var raw []byte
		raw, body, _ = bytes.Cut(body, []byte{'\n'})
		line++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		if len(as) == accounts.MaxImport {
			return nil, errs.E(errs.TooLarge, "at most %d accounts per import; split the file (steward accounts import does)", accounts.MaxImport)
		}
		prefix := "line " + strconv.Itoa(line) + ": "
		var b importLine
		if err := decodeJSON(raw, &b); err != nil {
			fs = append(fs, fieldsOf(err).Prefix(prefix)...)
			continue
		}
		if b.ID == "" {
			fs.Add(prefix+"id", "is required")
			continue
		}
		a, err := b.toAccount(b.ID)
		if err != nil {
			fs = append(fs, fieldsOf(err).Prefix(prefix)...)
			continue
		}
		as = append(as, a)
		lines = append(lines, line)
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, errs.Field("body", "no accounts: send one JSON object per line")
	}
	return func(ctx context.Context) (int, any, error) {
		res, err := s.Accounts.Import(ctx, as, lines)
		return http.StatusOK, res, err
	}, nil
}

// fieldsOf returns the field failures of an Invalid error.
func fieldsOf(err error) errs.Fields {
	if fs := errs.FieldsOf(err); len(fs) > 0 {
		return fs
	}
	return errs.Fields{{Field: "body", Message: err.Error()}}
}

type health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

func (s *server) health(r *http.Request) (int, any, error) {
	if err := s.Ready(r.Context()); errs.CodeOf(err) == errs.StorageFull {
		return 0, nil, err
	} else if err != nil {
		return 0, nil, errs.E(errs.Unavailable, "the database does not answer")
	}
	return http.StatusOK, health{Status: "ok", Version: s.Version}, nil
}
