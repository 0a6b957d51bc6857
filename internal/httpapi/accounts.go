package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/vault"
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

// importLine is one line of an import: an account body with its ID, and optionally
// the account's personal data (see vault_import.go).
type importLine struct {
	accountBody
	PII *vault.PII `json:"pii,omitempty"`
}

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

// importAccounts reads an NDJSON body line by line as it arrives, one account per line
// (blank lines are skipped, each line at most accounts.MaxImportLine bytes), and imports
// it all or nothing.
func (s *server) importAccounts(r *http.Request, body io.Reader) (applyFunc, func(), error) {
	im := s.Accounts.NewImport()
	pii := s.newPIIImport()
	if err := readImport(r.Context(), im, body, pii.add); err != nil {
		return nil, im.Close, err
	}
	return func(ctx context.Context) (res int, _ any, err error) {
		var out accounts.ImportResult
		err = s.Stores.Tx.Write(ctx, func(ctx context.Context) (err error) {
			if out, err = im.Commit(ctx); err == nil {
				err = pii.commit(ctx)
			}
			return err
		})
		return http.StatusOK, out, err
	}, im.Close, nil
}

// readImport gives im the accounts of body, and pii the personal data of those lines that
// carry it, and returns the failures of its lines.
func readImport(ctx context.Context, im *accounts.Import, body io.Reader, pii func(ctx context.Context, account string, p *vault.PII) error) error {
	sc := bufio.NewScanner(body)
	// Room for the longest line allowed with its CR LF: a longer one is refused by name.
	sc.Buffer(make([]byte, 0, 64<<10), accounts.MaxImportLine+2)
	tooLong := errs.FieldError{Field: "body", Message: fmt.Sprintf("is over %d bytes: a line holds one account of at most %d KiB",
		accounts.MaxImportLine, accounts.MaxImportLine>>10)}
	line := 0
	for !im.Full() && sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if err := im.Room(); err != nil {
			return err
		}
		if len(raw) > accounts.MaxImportLine {
			im.Refuse(line, tooLong)
			continue
		}
		var b importLine
		if err := decodeJSON(raw, &b); err != nil {
			fs := fieldsOf(err)
			for i := range fs { // encoding/json names a field of the embedded body by its path
				fs[i].Field = strings.TrimPrefix(fs[i].Field, "accountBody.")
			}
			im.Refuse(line, fs...)
			continue
		}
		if b.ID == "" {
			im.Refuse(line, errs.FieldError{Field: "id", Message: "is required"})
			continue
		}
		a, err := b.accountBody.toAccount(b.ID)
		if err == nil && b.PII != nil {
			if err = pii(ctx, b.ID, b.PII); len(errs.FieldsOf(err)) > 0 {
				err = errs.Fields(errs.FieldsOf(err)).Prefix("pii.").Err()
			}
		}
		if fs := errs.FieldsOf(err); len(fs) > 0 {
			im.Refuse(line, fs...)
			continue
		} else if err != nil {
			return err
		}
		if err := im.Add(ctx, a, line); err != nil {
			return err
		}
	}
	switch err := sc.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		im.Refuse(line+1, tooLong) // and stop: the rest of the line cannot be told from the next
	case err != nil:
		return bodyError(err)
	}
	if err := im.Err(); err != nil {
		return err
	}
	if im.Len() == 0 {
		return errs.Field("body", "no accounts: send one JSON object per line")
	}
	return nil
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
