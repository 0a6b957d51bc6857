package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/vault"
)

// Leak implements leak.Store.
type Leak struct{ db *DB }

// Leak returns leak tracing's store.
func (db *DB) Leak() *Leak { return &Leak{db} }

var _ leak.Store = (*Leak)(nil)

func (s *Leak) Ordinals(ctx context.Context, accounts []string) (_ []uint32, err error) {
	defer wrapErr(&err, "sqlstore.Leak.Ordinals", "")
	have, err := s.OrdinalsOf(ctx, accounts)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, a := range accounts {
		if _, ok := have[a]; !ok {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		var next int64
		if err := s.db.queryRow(ctx, "UPDATE leak_ordinal_next SET next = next + ? WHERE id = 1 RETURNING next", len(missing)).Scan(&next); err != nil {
			return nil, err
		}
		first := next - int64(len(missing))
		if next > 1<<32 {
			return nil, errors.New("account ordinals exhausted")
		}
		for start := 0; start < len(missing); start += vaultChunk {
			chunk := missing[start:min(start+vaultChunk, len(missing))]
			args := make([]any, 0, 2*len(chunk))
			for i, a := range chunk {
				o := first + int64(start+i)
				args = append(args, a, o)
				have[a] = uint32(o)
			}
			if _, err := s.db.exec(ctx, "INSERT INTO leak_ordinals (account, ordinal) VALUES "+placeholders(len(chunk), 2), args...); err != nil {
				return nil, err
			}
		}
	}
	out := make([]uint32, len(accounts))
	for i, a := range accounts {
		out[i] = have[a]
	}
	return out, nil
}

func (s *Leak) OrdinalsOf(ctx context.Context, accounts []string) (_ map[string]uint32, err error) {
	defer wrapErr(&err, "sqlstore.Leak.OrdinalsOf", "")
	out := make(map[string]uint32, len(accounts))
	err = s.db.queryIn(ctx, "SELECT account, ordinal FROM leak_ordinals WHERE account IN (%s)", accounts, func(scan func(...any) error) error {
		var a string
		var o int64
		err := scan(&a, &o)
		out[a] = uint32(o)
		return err
	})
	return out, err
}

func (s *Leak) AccountsAt(ctx context.Context, set *roaring.Bitmap) (_ []string, err error) {
	defer wrapErr(&err, "sqlstore.Leak.AccountsAt", "")
	out := make([]string, 0, set.GetCardinality())
	it := set.Iterator()
	for it.HasNext() {
		var chunk []any
		for len(chunk) < inChunk && it.HasNext() {
			chunk = append(chunk, int64(it.Next()))
		}
		got, err := collect(ctx, s.db, func(scan func(...any) error) (string, error) {
			var a string
			return a, scan(&a)
		}, "SELECT account FROM leak_ordinals WHERE ordinal IN ("+params(len(chunk))+") ORDER BY ordinal", chunk...)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

const shareColumns = "SELECT id, recipient, purpose, ticket, fields, phone_mode, actor_name, actor_role, created_at, accounts, records, " +
	"commitment, record_set, canaries, salt FROM leak_shares"

func scanShare(scan func(...any) error) (*leak.Share, error) {
	var sh leak.Share
	var fields, canaries, role string
	var at int64
	var set []byte
	if err := scan(&sh.ID, &sh.Recipient, &sh.Purpose, &sh.Ticket, &fields, &sh.PhoneMode, &sh.Actor.Name, &role, &at,
		&sh.Accounts, &sh.Records, &sh.Commitment, &set, &canaries, &sh.Salt); err != nil {
		return nil, err
	}
	sh.Actor.Role, sh.CreatedAt = principal.Role(role), fromNanos(at)
	sh.Fields = strings.Split(fields, ",")
	if canaries != "" {
		sh.Canaries = strings.Split(canaries, ",")
	}
	sh.Set = roaring.New()
	if _, err := sh.Set.ReadFrom(bytes.NewReader(set)); err != nil {
		return nil, fmt.Errorf("share %s: record set: %w", sh.ID, err)
	}
	return &sh, nil
}

func (s *Leak) PutShare(ctx context.Context, sh *leak.Share) (err error) {
	defer wrapErr(&err, "sqlstore.Leak.PutShare", sh.ID)
	var set bytes.Buffer
	if _, err := sh.Set.WriteTo(&set); err != nil {
		return err
	}
	var key any
	if len(sh.Canaries) > 0 {
		key = leak.CanarySetKey(sh.Canaries)
	}
	_, err = s.db.exec(ctx, "INSERT INTO leak_shares (id, recipient, purpose, ticket, fields, phone_mode, actor_name, actor_role, created_at, "+
		"accounts, records, commitment, record_set, canaries, canary_set, salt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		sh.ID, sh.Recipient, sh.Purpose, sh.Ticket, strings.Join(sh.Fields, ","), sh.PhoneMode, sh.Actor.Name, string(sh.Actor.Role),
		nanos(sh.CreatedAt), sh.Accounts, sh.Records, sh.Commitment, set.Bytes(), strings.Join(sh.Canaries, ","), key, sh.Salt)
	if errs.CodeOf(err) == errs.Conflict {
		return errs.E(errs.Conflict, "another share carries the same canaries; try again")
	}
	if err != nil {
		return err
	}
	for _, c := range sh.Canaries {
		if _, err := s.db.exec(ctx, "INSERT INTO leak_share_canaries (canary, share) VALUES (?, ?)", c, sh.ID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Leak) GetShare(ctx context.Context, id string) (_ *leak.Share, err error) {
	defer wrapErr(&err, "sqlstore.Leak.GetShare", id)
	sh, err := scanShare(s.db.queryRow(ctx, shareColumns+" WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no share %q", id)
	}
	return sh, err
}

func (s *Leak) CanarySetTaken(ctx context.Context, key string) (_ bool, err error) {
	defer wrapErr(&err, "sqlstore.Leak.CanarySetTaken", key)
	var n int
	err = s.db.queryRow(ctx, "SELECT COUNT(*) FROM leak_shares WHERE canary_set = ?", key).Scan(&n)
	return n > 0, err
}

func (s *Leak) EachShare(ctx context.Context, before time.Time, fn func(*leak.Share) error) (err error) {
	defer wrapErr(&err, "sqlstore.Leak.EachShare", "")
	rows, err := s.db.query(ctx, shareColumns+" WHERE created_at < ? ORDER BY id", nanos(before))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		sh, err := scanShare(rows.Scan)
		if err != nil {
			return err
		}
		if err := fn(sh); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (s *Leak) SharesCarrying(ctx context.Context, canary string) (_ []*leak.Share, err error) {
	defer wrapErr(&err, "sqlstore.Leak.SharesCarrying", canary)
	return collect(ctx, s.db, scanShare, shareColumns+" WHERE id IN (SELECT share FROM leak_share_canaries WHERE canary = ?) ORDER BY id", canary)
}

func (s *Leak) PutCanary(ctx context.Context, c *leak.Canary) (_ bool, err error) {
	defer wrapErr(&err, "sqlstore.Leak.PutCanary", c.ID)
	return s.db.upsertBody(ctx, "leak_canaries", "id", c.ID, c)
}

func (s *Leak) GetCanary(ctx context.Context, id string) (_ *leak.Canary, err error) {
	defer wrapErr(&err, "sqlstore.Leak.GetCanary", id)
	c, err := jsonBody[leak.Canary]("canary")(s.db.queryRow(ctx, "SELECT body FROM leak_canaries WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no canary %q", id)
	}
	return c, err
}

func (s *Leak) Canaries(ctx context.Context) (_ []*leak.Canary, err error) {
	defer wrapErr(&err, "sqlstore.Leak.Canaries", "")
	return collect(ctx, s.db, jsonBody[leak.Canary]("canary"), "SELECT body FROM leak_canaries ORDER BY id")
}

const relayColumns = "SELECT phone, recipient, account, share, created_at FROM leak_relays"

func scanRelay(scan func(...any) error) (leak.Relay, error) {
	var r leak.Relay
	var at int64
	err := scan(&r.Phone, &r.Recipient, &r.Account, &r.Share, &at)
	r.CreatedAt = fromNanos(at)
	return r, err
}

func (s *Leak) RelaysFor(ctx context.Context, recipient string, accounts []string) (_ map[string]leak.Relay, err error) {
	defer wrapErr(&err, "sqlstore.Leak.RelaysFor", recipient)
	out := map[string]leak.Relay{}
	// The recipient is bound as a literal-free parameter ahead of the chunk's IDs.
	for start := 0; start < len(accounts); start += inChunk {
		chunk := accounts[start:min(start+inChunk, len(accounts))]
		args := []any{recipient}
		for _, a := range chunk {
			args = append(args, a)
		}
		got, err := collect(ctx, s.db, scanRelay, relayColumns+" WHERE recipient = ? AND account IN ("+params(len(chunk))+")", args...)
		if err != nil {
			return nil, err
		}
		for _, r := range got {
			out[r.Account] = r
		}
	}
	return out, nil
}

func (s *Leak) PutRelays(ctx context.Context, rs []leak.Relay) (err error) {
	defer wrapErr(&err, "sqlstore.Leak.PutRelays", "")
	for start := 0; start < len(rs); start += vaultChunk {
		chunk := rs[start:min(start+vaultChunk, len(rs))]
		args := make([]any, 0, 5*len(chunk))
		for _, r := range chunk {
			args = append(args, r.Phone, r.Recipient, r.Account, r.Share, nanos(r.CreatedAt))
		}
		if _, err := s.db.exec(ctx, "INSERT INTO leak_relays (phone, recipient, account, share, created_at) VALUES "+placeholders(len(chunk), 5), args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Leak) RelayOf(ctx context.Context, phone string) (_ *leak.Relay, err error) {
	defer wrapErr(&err, "sqlstore.Leak.RelayOf", "")
	r, err := scanRelay(s.db.queryRow(ctx, relayColumns+" WHERE phone = ?", phone).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no relay number %q", phone)
	}
	return &r, err
}

func (s *Leak) Reveals(ctx context.Context, commitments []string) (_ []leak.Reveal, err error) {
	defer wrapErr(&err, "sqlstore.Leak.Reveals", "")
	var out []leak.Reveal
	err = s.db.queryIn(ctx, "SELECT leaf FROM audit_entries WHERE action = '"+vault.ActionReveal+"' AND subject IN (%s) ORDER BY id",
		commitments, func(scan func(...any) error) error {
			var leaf []byte
			if err := scan(&leaf); err != nil {
				return err
			}
			var e audit.Entry
			if err := json.Unmarshal(leaf, &e); err != nil {
				return fmt.Errorf("audit leaf: %w", err)
			}
			out = append(out, leak.Reveal{Account: e.Subject, Actor: e.Actor, Fields: e.Fields, Time: e.Time})
			return nil
		})
	return out, err
}

func (s *Leak) PutLeak(ctx context.Context, l *leak.Leak) (err error) {
	defer wrapErr(&err, "sqlstore.Leak.PutLeak", l.ID)
	body, err := json.Marshal(l)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, "INSERT INTO leak_leaks (id, body) VALUES (?, ?)", l.ID, string(body))
	return err
}

func (s *Leak) GetLeak(ctx context.Context, id string) (_ *leak.Leak, err error) {
	defer wrapErr(&err, "sqlstore.Leak.GetLeak", id)
	l, err := jsonBody[leak.Leak]("leak")(s.db.queryRow(ctx, "SELECT body FROM leak_leaks WHERE id = ?", id).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no leak investigation %q", id)
	}
	return l, err
}

const hourNanos = int64(time.Hour)

func (s *Leak) Activity(ctx context.Context, from, to time.Time) (_ []leak.Activity, err error) {
	defer wrapErr(&err, "sqlstore.Leak.Activity", "")
	type key struct {
		actor, role string
		hour        int64
	}
	byKey := map[key]*leak.Activity{}
	var order []key
	add := func(k key) *leak.Activity {
		a := byKey[k]
		if a == nil {
			a = &leak.Activity{Actor: k.actor, Role: principal.Role(k.role), Hour: fromNanos(k.hour * hourNanos)}
			byKey[k] = a
			order = append(order, k)
		}
		return a
	}
	rows, err := s.db.query(ctx, "SELECT actor_name, actor_role, time / ?, "+
		"SUM(CASE WHEN action = '"+vault.ActionReveal+"' THEN 1 ELSE 0 END), SUM(CASE WHEN action = '"+vault.ActionLookup+"' THEN 1 ELSE 0 END), COUNT(DISTINCT subject) "+
		"FROM audit_entries WHERE action IN ('"+vault.ActionReveal+"', '"+vault.ActionLookup+"') AND time >= ? AND time < ? "+
		"GROUP BY 1, 2, 3", hourNanos, nanos(from), nanos(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k key
		var reveals, lookups, accounts int
		if err := rows.Scan(&k.actor, &k.role, &k.hour, &reveals, &lookups, &accounts); err != nil {
			return nil, err
		}
		a := add(k)
		a.Reveals, a.Lookups, a.Accounts = reveals, lookups, accounts
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	shares, err := s.db.query(ctx, "SELECT actor_name, actor_role, created_at / ?, SUM(records), SUM(accounts) FROM leak_shares "+
		"WHERE created_at >= ? AND created_at < ? GROUP BY 1, 2, 3", hourNanos, nanos(from), nanos(to))
	if err != nil {
		return nil, err
	}
	defer shares.Close()
	for shares.Next() {
		var k key
		var records, accounts int
		if err := shares.Scan(&k.actor, &k.role, &k.hour, &records, &accounts); err != nil {
			return nil, err
		}
		a := add(k)
		a.Shared += records
		a.Accounts += accounts
	}
	if err := shares.Err(); err != nil {
		return nil, err
	}
	out := make([]leak.Activity, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}

func (s *Leak) PutInsiderAlert(ctx context.Context, actor string, hour time.Time) (_ bool, err error) {
	defer wrapErr(&err, "sqlstore.Leak.PutInsiderAlert", actor)
	res, err := s.db.exec(ctx, "INSERT INTO leak_insider_alerts (actor, hour) VALUES (?, ?) ON CONFLICT (actor, hour) DO NOTHING", actor, nanos(hour))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
