package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
)

var _ enforce.ManyStore = (*Sanctions)(nil)

func (s *Sanctions) NextSeqs(ctx context.Context, n int) (_ int64, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.NextSeqs", "")
	if _, err := s.db.writer(ctx); err != nil {
		return 0, err
	}
	var last int64
	if err := s.db.queryRow(ctx, "UPDATE sanction_seq SET n = n + ? RETURNING n", n).Scan(&last); err != nil {
		return 0, fmt.Errorf("next sanction sequence: %w", err)
	}
	if err := s.db.signal(ctx, sanctionsChannel); err != nil {
		return 0, err
	}
	return last - int64(n) + 1, nil
}

// sanctionChunk is how many sanctions one INSERT writes: 15 columns × 500 rows stays
// under both databases' limits on bound parameters.
const sanctionChunk = 500

func (s *Sanctions) InsertMany(ctx context.Context, sns []*enforce.Sanction, first int64) (err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.InsertMany", "")
	seqs := make([]int64, len(sns))
	for i := range seqs {
		seqs[i] = first + int64(i)
	}
	err = s.writeMany(ctx, sns, seqs, "")
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "a sanction of the batch exists already")
	}
	return err
}

// UpdateMany writes the rows as an upsert, one statement per chunk: the rows exist, so
// each is an update.
func (s *Sanctions) UpdateMany(ctx context.Context, sns []*enforce.Sanction, seqs []int64) (err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.UpdateMany", "")
	return s.writeMany(ctx, sns, seqs, ` ON CONFLICT (id) DO UPDATE SET account = excluded.account, kind = excluded.kind,
		services = excluded.services, capabilities = excluded.capabilities, start_at = excluded.start_at,
		end_at = excluded.end_at, lifted_at = excluded.lifted_at, reason_code = excluded.reason_code,
		policy = excluded.policy, source = excluded.source, strike_until = excluded.strike_until,
		strike_withdrawn = excluded.strike_withdrawn, seq = excluded.seq, body = excluded.body`)
}

// sanctionCols are the columns of a sanction's row, as sanctionRow gives them after the ID.
var sanctionCols = []string{"id", "account", "kind", "services", "capabilities", "start_at", "end_at", "lifted_at",
	"reason_code", "policy", "source", "strike_until", "strike_withdrawn", "seq", "body"}

// writeMany inserts sns, the i-th at seqs[i], with tail after the VALUES; without a tail
// the rows may be copied (see DB.insertRows).
func (s *Sanctions) writeMany(ctx context.Context, sns []*enforce.Sanction, seqs []int64, tail string) error {
	if tail == "" {
		return s.db.insertRows(ctx, "sanctions", sanctionCols, sanctionChunk, len(sns), func(dst []any, i int) ([]any, error) {
			row, err := sanctionRow(sns[i], seqs[i])
			return append(append(dst, sns[i].ID), row...), err
		})
	}
	args := make([]any, 0, 15*min(len(sns), sanctionChunk))
	for start := 0; start < len(sns); start += sanctionChunk {
		chunk := sns[start:min(start+sanctionChunk, len(sns))]
		args = args[:0]
		for i, sn := range chunk {
			row, err := sanctionRow(sn, seqs[start+i])
			if err != nil {
				return err
			}
			args = append(append(args, sn.ID), row...)
		}
		if _, err := s.db.exec(ctx, `INSERT INTO sanctions (`+strings.Join(sanctionCols, ", ")+`) VALUES `+placeholders(len(chunk), 15)+tail, args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Sanctions) GetMany(ctx context.Context, ids []string) (_ map[string]*enforce.Sanction, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.GetMany", "")
	out := make(map[string]*enforce.Sanction, len(ids))
	err = s.db.queryIn(ctx, "SELECT body FROM sanctions WHERE id IN (%s)", ids, func(scan func(...any) error) error {
		var body string
		if err := scan(&body); err != nil {
			return err
		}
		sn, err := decodeSanction(body)
		if err != nil {
			return err
		}
		out[sn.ID] = sn
		return nil
	})
	return out, err
}
