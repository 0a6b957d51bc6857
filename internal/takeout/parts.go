package takeout

import (
	"context"
	"encoding/json"
	"io"

	"github.com/stewardhq/steward/internal/appeals"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/reports"
)

// part is one JSON file of the archive, written by one domain's reader.
type part struct {
	name  string // the file is name + ".json"
	write func(ctx context.Context, e *Export, w *jsonWriter) error
}

// pageSize is how many rows a part reads at a time: what it holds in memory.
const pageSize = 500

// parts returns the parts of an archive, one per domain present, in the archive's order.
func (s *Service) parts() []part {
	ps := []part{{"account", s.accountPart}}
	if s.d.Enforce != nil {
		ps = append(ps, part{"sanctions", s.sanctionsPart})
	}
	if s.d.Appeals != nil {
		ps = append(ps, part{"appeals", s.appealsPart})
	}
	if s.d.Reports {
		ps = append(ps, part{"reports", s.reportsPart})
	}
	if s.d.Ledger != nil {
		ps = append(ps, part{"wallet", s.walletPart})
	}
	if s.d.Vault != nil {
		// Personal data first: its export is an access the access log then lists (once
		// the audit sequencer has taken it into a checkpoint).
		ps = append(ps, part{"personal_data", s.personalPart}, part{"access_log", s.accessLogPart})
	}
	return ps
}

// jsonWriter writes JSON a value at a time, so a part of any length streams.
type jsonWriter struct {
	w     io.Writer
	err   error
	comma []bool // per open array: whether an element was written
}

func (j *jsonWriter) raw(s string) {
	if j.err == nil {
		_, j.err = io.WriteString(j.w, s)
	}
}

// value writes v, as an array's next element when inside one.
func (j *jsonWriter) value(v any) {
	j.sep()
	if j.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		j.err = err
		return
	}
	_, j.err = j.w.Write(b)
}

func (j *jsonWriter) sep() {
	if n := len(j.comma); n > 0 {
		if j.comma[n-1] {
			j.raw(",\n")
		}
		j.comma[n-1] = true
	}
}

// key writes "name": inside an object; first says it is the object's first member.
func (j *jsonWriter) key(name string, first bool) {
	if !first {
		j.raw(",\n")
	}
	b, _ := json.Marshal(name)
	j.raw(string(b) + ":")
}

func (j *jsonWriter) openArray() {
	j.sep()
	j.raw("[")
	j.comma = append(j.comma, false)
}

func (j *jsonWriter) closeArray() {
	j.comma = j.comma[:len(j.comma)-1]
	j.raw("]")
}

func (s *Service) accountPart(ctx context.Context, e *Export, j *jsonWriter) error {
	a, err := s.d.Accounts.Get(ctx, e.Account)
	if err != nil {
		return err
	}
	j.value(a)
	return j.err
}

// sanctionsPart writes {"sanctions": [{"sanction": …, "notices": […]}, …], "notices":
// […]}: every sanction, newest first, with the notices that told of it, and the notices
// that tell of no sanction.
func (s *Service) sanctionsPart(ctx context.Context, e *Export, j *jsonWriter) error {
	bySanction := map[string][]any{}
	if s.d.Notices != nil {
		if err := s.d.Notices.EachNotice(ctx, e.Account, func(sanction string, n any) error {
			bySanction[sanction] = append(bySanction[sanction], n)
			return nil
		}); err != nil {
			return err
		}
	}
	j.raw("{")
	j.key("sanctions", true)
	j.openArray()
	err := writePages(j, func(after string) ([]*enforce.Sanction, error) {
		return s.d.Enforce.List(ctx, e.Account, after, pageSize)
	}, func(sn *enforce.Sanction) (string, any) {
		ns := bySanction[sn.ID]
		delete(bySanction, sn.ID)
		if ns == nil {
			ns = []any{}
		}
		return sn.ID, struct {
			Sanction any   `json:"sanction"`
			Notices  []any `json:"notices"`
		}{sn, ns}
	})
	if err != nil {
		return err
	}
	j.closeArray()
	j.key("other_notices", false)
	j.openArray()
	for _, ns := range bySanction {
		for _, n := range ns {
			j.value(n)
		}
	}
	j.closeArray()
	j.raw("}")
	return j.err
}

func (s *Service) appealsPart(ctx context.Context, e *Export, j *jsonWriter) error {
	j.openArray()
	err := writePages(j, func(after string) ([]*appeals.Appeal, error) {
		return s.d.Appeals.List(ctx, appeals.Filter{Account: e.Account, After: after, Limit: pageSize})
	}, func(a *appeals.Appeal) (string, any) { return a.ID, a })
	if err != nil {
		return err
	}
	j.closeArray()
	return j.err
}

func (s *Service) reportsPart(ctx context.Context, e *Export, j *jsonWriter) error {
	j.openArray()
	err := writePages(j, func(after string) ([]*reports.Report, error) {
		return s.d.Store.FiledReports(ctx, e.Account, after, pageSize)
	}, func(r *reports.Report) (string, any) { return r.ID, r })
	if err != nil {
		return err
	}
	j.closeArray()
	return j.err
}

// writePages writes each item page answers as one of j's values, asking for pageSize
// items at a time after the ID of the last one (what also returns the value written),
// until a page comes back short.
func writePages[T any](j *jsonWriter, page func(after string) ([]T, error), what func(T) (id string, v any)) error {
	for after := ""; ; {
		items, err := page(after)
		if err != nil {
			return err
		}
		for _, it := range items {
			var v any
			after, v = what(it)
			j.value(v)
		}
		if len(items) < pageSize {
			return nil
		}
	}
}

// walletPart writes every wallet of the account with its balance and its whole
// statement, newest entry first.
func (s *Service) walletPart(ctx context.Context, e *Export, j *jsonWriter) error {
	bs, err := s.d.Ledger.Wallets(ctx, e.Account)
	if err != nil {
		return err
	}
	j.openArray()
	for _, b := range bs {
		j.sep()
		j.raw("{")
		j.key("balance", true)
		j.value(b)
		j.key("entries", false)
		j.openArray()
		for before := int64(0); ; {
			es, err := s.d.Ledger.Entries(ctx, b.Wallet, before, pageSize)
			if err != nil {
				return err
			}
			for _, en := range es {
				j.value(en)
			}
			if len(es) < pageSize {
				break
			}
			before = es[len(es)-1].ID
		}
		j.closeArray()
		j.raw("}")
	}
	j.closeArray()
	return j.err
}

// personalPart writes the account's personal data in clear: its owner's own. The vault
// records the export as an access by whoever started it.
func (s *Service) personalPart(ctx context.Context, e *Export, j *jsonWriter) error {
	p, err := s.d.Vault.ExportForOwner(principal.NewContext(ctx, e.CreatedBy), e.Account)
	if err != nil {
		return err
	}
	j.value(struct {
		Account string `json:"account"`
		PII     any    `json:"pii"` // null when Steward holds none
	}{e.Account, p})
	return j.err
}

// accessLogPart writes every access to the account's personal data as GET
// /v1/me/access-log serves it: the exact leaf bytes of each audit entry and its
// inclusion proof in a signed checkpoint, listed under checkpoints by tree size.
func (s *Service) accessLogPart(ctx context.Context, e *Export, j *jsonWriter) error {
	subject, err := s.d.Vault.Commitment(ctx, e.Account)
	if err != nil {
		return err
	}
	checkpoints := map[int64]string{}
	j.raw("{")
	j.key("subject", true)
	j.value(subject)
	j.key("entries", false)
	j.openArray()
	for f := (audit.Filter{Subject: subject, Limit: 100}); ; {
		page, err := s.d.Log.Entries(ctx, f)
		if err != nil {
			return err
		}
		if page.Checkpoint.Size > 0 {
			checkpoints[page.Checkpoint.Size] = string(page.Checkpoint.Note)
		}
		for _, it := range page.Items {
			j.value(it)
		}
		if page.NextAfter == 0 {
			break
		}
		f.AfterID = page.NextAfter
	}
	j.closeArray()
	j.key("checkpoints", false)
	j.value(checkpoints)
	j.raw("}")
	return j.err
}
