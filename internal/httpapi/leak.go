package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/vault"
)

// The leak-tracing routes: shares of personal data to partners, the canary pool and its
// hits, and investigations of leaked samples.
//
// A share's answer holds values in clear, so, like a reveal, it is never a `write`
// route: it takes no Idempotency-Key (a retry makes, and records, a second share). An
// investigation's answer holds no value (account IDs, suspects, evidence) and is a
// write like any other.

var (
	sharers      = []principal.Role{principal.Compliance, principal.Security, principal.Service}
	securityOnly = []principal.Role{principal.Security}
	hitReporters = []principal.Role{principal.Service}
)

// Body limits: a share names up to leak.MaxAccounts IDs; a sample is NDJSON of up to
// leak.MaxRows rows of a few hundred bytes.
const (
	maxShareBody  = 8 << 20
	maxSampleBody = 32 << 20
	maxSampleLine = 16 << 10
)

func (s *server) leakRoutes() []route {
	return []route{
		{Method: "POST", Path: "/v1/shares", Roles: sharers, MaxBody: maxShareBody,
			Summary: "Shares fields of up to 100,000 accounts with a recipient for a vault purpose (one reveal per account against the caller's daily limit), with canaries blended in and, with phone_mode relay, a relay number per recipient and customer; answers the records in ref order. Takes no Idempotency-Key.",
			Request: leak.ShareRequest{}, Reply: leak.Shared{}, Status: http.StatusCreated, handle: s.createShare},
		{Method: "GET", Path: "/v1/shares/{id}", Roles: sharers,
			Summary: "A share: recipient, purpose, fields, phone mode, who made it and when, its counts and the commitment its audit entry holds; no values.",
			Reply:   leak.Share{}, handle: s.getShare},
		{Method: "PUT", Path: "/v1/canaries/{id}", Roles: securityOnly,
			Summary: "Creates (201) or replaces (200) a canary: an identity whose phone, mailbox and address the platform controls (name, phone, email, address, id_number, bank_card, plate).",
			Request: vault.PII{}, Reply: leak.Canary{}, Status: http.StatusCreated, write: s.putCanary},
		{Method: "GET", Path: "/v1/canaries/{id}", Roles: securityOnly, Summary: "Returns a canary.", Reply: leak.Canary{}, handle: s.getCanary},
		{Method: "POST", Path: "/v1/canaries/{id}/hits", Roles: hitReporters,
			Summary: "Records that a call, message or visit reached a canary and raises a leak.canary_hit security alert naming the shares that carried it.",
			Request: leak.Hit{}, Reply: leak.HitReply{}, write: s.canaryHit},
		{Method: "POST", Path: "/v1/leaks", Roles: securityOnly, MaxBody: maxSampleBody,
			Query:   []param{{"seen_at", "string", "when the sample was seen (RFC 3339): copies made after it are no suspects"}, {"note", "string", "a note kept with the investigation"}},
			Summary: "Investigates a leaked sample (NDJSON rows of name, phone, email, address, id_number, bank_card, card_last4, plate, order): matches rows through the blind indexes, canaries and relay numbers, and ranks shares and staff reveals by the guilt model, with each suspect's evidence.",
			Request: leak.Row{}, Reply: leak.Leak{}, Status: http.StatusCreated, write: s.investigate},
		{Method: "GET", Path: "/v1/leaks/{id}", Roles: securityOnly, Summary: "Returns an investigation.", Reply: leak.Leak{}, handle: s.getLeak},
	}
}

func (s *server) createShare(r *http.Request) (int, any, error) {
	var req leak.ShareRequest
	if err := decodeUnreplayed(r, maxShareBody, &req); err != nil {
		return 0, nil, err
	}
	out, err := s.Leak.CreateShare(r.Context(), req)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, out, nil
}

func (s *server) getShare(r *http.Request) (int, any, error) {
	sh, err := s.Leak.GetShare(r.Context(), r.PathValue("id"))
	return http.StatusOK, sh, err
}

func (s *server) putCanary(r *http.Request, body []byte) (applyFunc, error) {
	var p vault.PII
	if err := decodeJSON(body, &p); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		c, created, err := s.Leak.PutCanary(ctx, id, p)
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return status, c, err
	}, nil
}

func (s *server) getCanary(r *http.Request) (int, any, error) {
	c, err := s.Leak.GetCanary(r.Context(), r.PathValue("id"))
	return http.StatusOK, c, err
}

func (s *server) canaryHit(r *http.Request, body []byte) (applyFunc, error) {
	var h leak.Hit
	if err := decodeJSON(body, &h); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		out, err := s.Leak.RecordHit(ctx, id, h)
		return http.StatusOK, out, err
	}, nil
}

func (s *server) investigate(r *http.Request, body []byte) (applyFunc, error) {
	var fs errs.Fields
	seen, err := parseTime("seen_at", r.URL.Query().Get("seen_at"))
	if err != nil {
		fs = append(fs, errs.FieldsOf(err)...)
	}
	note := r.URL.Query().Get("note")
	if len(note) > 1000 {
		fs.Add("note", "must be at most 1000 bytes")
	}
	rows, lines, rfs := sampleRows(body)
	fs = append(fs, rfs...)
	if err := fs.Err(); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		l, err := s.Leak.Investigate(ctx, leak.Investigation{Rows: rows, SeenAt: seen, Note: note})
		if bad := errs.FieldsOf(err); len(bad) > 0 {
			return 0, nil, errs.Fields(byLine(bad, lines)).Err()
		}
		return http.StatusCreated, l, err
	}, nil
}

// sampleRows reads the NDJSON rows of a sample, with the line of each, naming every bad
// line's fields as line[N].field.
func sampleRows(body []byte) ([]leak.Row, []int, errs.Fields) {
	var fs errs.Fields
	var rows []leak.Row
	var lines []int
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), maxSampleLine+2)
	n := 0
	for sc.Scan() {
		n++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if len(rows) == leak.MaxRows {
			fs.Add("body", "holds more than %d rows", leak.MaxRows)
			return nil, nil, fs
		}
		var row leak.Row
		if err := decodeJSON(raw, &row); err != nil {
			for _, f := range fieldsOf(err) {
				fs.Add(fmt.Sprintf("line[%d].%s", n, f.Field), "%s", f.Message)
			}
			continue
		}
		rows, lines = append(rows, row), append(lines, n)
	}
	if err := sc.Err(); err != nil {
		fs.Add(fmt.Sprintf("line[%d]", n+1), "is over %d bytes", maxSampleLine)
	}
	return rows, lines, fs
}

// byLine renames the domain's rows[i] fields by the NDJSON line of row i.
func byLine(fs []errs.FieldError, lines []int) []errs.FieldError {
	for i, f := range fs {
		rest, ok := strings.CutPrefix(f.Field, "rows[")
		if !ok {
			continue
		}
		end := strings.IndexByte(rest, ']')
		if k, err := strconv.Atoi(rest[:max(end, 0)]); err == nil && k < len(lines) {
			fs[i].Field = fmt.Sprintf("line[%d]%s", lines[k], rest[end+1:])
		}
	}
	return fs
}

func (s *server) getLeak(r *http.Request) (int, any, error) {
	l, err := s.Leak.GetLeak(r.Context(), r.PathValue("id"))
	return http.StatusOK, l, err
}
