package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/vault"
)

// Vault implements vault.Store.
type Vault struct{ db *DB }

// Vault returns the vault's store.
func (db *DB) Vault() *Vault { return &Vault{db} }

var _ vault.Store = (*Vault)(nil)

// vaultChunk is how many records one statement writes: 6 columns × 500 rows (and 3 × up
// to 2,500 index rows) stays under both databases' limits on bound parameters.
const vaultChunk = 500

func (s *Vault) PutRecords(ctx context.Context, recs ...*vault.Record) (err error) {
	defer wrapErr(&err, "sqlstore.Vault.PutRecords", "")
	for start := 0; start < len(recs); start += vaultChunk {
		chunk := recs[start:min(start+vaultChunk, len(recs))]
		args := make([]any, 0, 6*len(chunk))
		ids := make([]any, 0, len(chunk))
		var index []any
		for _, r := range chunk {
			args = append(args, r.Account, int64(r.MasterKey), r.DataKey, r.Sealed, strings.Join(r.Fields, ","), nanos(r.UpdatedAt))
			ids = append(ids, r.Account)
			for _, e := range r.Index {
				index = append(index, e.Field, e.Hash, r.Account)
			}
		}
		if _, err := s.db.exec(ctx, "INSERT INTO vault_records (account, master_key, data_key, sealed, fields, updated_at) VALUES "+
			placeholders(len(chunk), 6)+" ON CONFLICT (account) DO UPDATE SET master_key = excluded.master_key, data_key = excluded.data_key, "+
			"sealed = excluded.sealed, fields = excluded.fields, updated_at = excluded.updated_at", args...); err != nil {
			return err
		}
		if _, err := s.db.exec(ctx, "DELETE FROM vault_index WHERE account IN ("+params(len(ids))+")", ids...); err != nil {
			return err
		}
		for i := 0; i < len(index); i += 3 * vaultChunk {
			part := index[i:min(i+3*vaultChunk, len(index))]
			if _, err := s.db.exec(ctx, "INSERT INTO vault_index (field, hash, account) VALUES "+placeholders(len(part)/3, 3)+
				" ON CONFLICT DO NOTHING", part...); err != nil {
				return err
			}
		}
	}
	return nil
}

const recordColumns = "SELECT account, master_key, data_key, sealed, fields, updated_at FROM vault_records"

func scanRecord(scan func(...any) error) (*vault.Record, error) {
	var r vault.Record
	var key, at int64
	var fields string
	if err := scan(&r.Account, &key, &r.DataKey, &r.Sealed, &fields, &at); err != nil {
		return nil, err
	}
	r.MasterKey, r.UpdatedAt = uint32(key), fromNanos(at)
	r.Fields = []string{}
	if fields != "" {
		r.Fields = strings.Split(fields, ",")
	}
	return &r, nil
}

func (s *Vault) GetRecord(ctx context.Context, account string) (_ *vault.Record, err error) {
	defer wrapErr(&err, "sqlstore.Vault.GetRecord", account)
	r, err := scanRecord(s.db.queryRow(ctx, recordColumns+" WHERE account = ?", account).Scan)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "account %q has no personal data", account)
	}
	return r, err
}

func (s *Vault) GetRecords(ctx context.Context, accounts []string) (_ map[string]*vault.Record, err error) {
	defer wrapErr(&err, "sqlstore.Vault.GetRecords", "")
	out := make(map[string]*vault.Record, len(accounts))
	err = s.db.queryIn(ctx, recordColumns+" WHERE account IN (%s)", accounts, func(scan func(...any) error) error {
		r, err := scanRecord(scan)
		if err == nil {
			out[r.Account] = r
		}
		return err
	})
	return out, err
}

func (s *Vault) DeleteRecord(ctx context.Context, account string) (_ *vault.Record, err error) {
	defer wrapErr(&err, "sqlstore.Vault.DeleteRecord", account)
	r, err := s.GetRecord(ctx, account)
	if err != nil {
		return nil, err
	}
	if _, err := s.db.exec(ctx, "DELETE FROM vault_index WHERE account = ?", account); err != nil {
		return nil, err
	}
	if _, err := s.db.exec(ctx, "DELETE FROM vault_records WHERE account = ?", account); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Vault) Lookup(ctx context.Context, field string, hash []byte, limit int) (_ []string, err error) {
	defer wrapErr(&err, "sqlstore.Vault.Lookup", field)
	return collect(ctx, s.db, func(scan func(...any) error) (string, error) {
		var a string
		return a, scan(&a)
	}, "SELECT account FROM vault_index WHERE field = ? AND hash = ? ORDER BY account LIMIT ?", field, hash, limit)
}

func (s *Vault) PutPurpose(ctx context.Context, p *vault.Purpose) (_ bool, err error) {
	defer wrapErr(&err, "sqlstore.Vault.PutPurpose", p.Name)
	return s.db.upsertBody(ctx, "vault_purposes", "name", p.Name, p)
}

func (s *Vault) GetPurpose(ctx context.Context, name string) (_ *vault.Purpose, err error) {
	defer wrapErr(&err, "sqlstore.Vault.GetPurpose", name)
	var body string
	err = s.db.queryRow(ctx, "SELECT body FROM vault_purposes WHERE name = ?", name).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no purpose %q", name)
	}
	if err != nil {
		return nil, err
	}
	var p vault.Purpose
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &p, nil
}

func (s *Vault) AddReveals(ctx context.Context, actor, purpose, day string, n int) (_ int, err error) {
	defer wrapErr(&err, "sqlstore.Vault.AddReveals", actor)
	if _, err := s.db.writer(ctx); err != nil {
		return 0, err
	}
	var total int
	err = s.db.queryRow(ctx, "INSERT INTO vault_reveals (actor, purpose, day, n) VALUES (?, ?, ?, ?) "+
		"ON CONFLICT (actor, purpose, day) DO UPDATE SET n = vault_reveals.n + excluded.n RETURNING n", actor, purpose, day, n).Scan(&total)
	return total, err
}

func (s *Vault) GetSecret(ctx context.Context, name string) (_ *vault.Secret, err error) {
	defer wrapErr(&err, "sqlstore.Vault.GetSecret", name)
	sec := vault.Secret{Name: name}
	var key int64
	err = s.db.queryRow(ctx, "SELECT master_key, wrapped FROM vault_secrets WHERE name = ?", name).Scan(&key, &sec.Wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no vault secret %q", name)
	}
	sec.MasterKey = uint32(key)
	return &sec, err
}

func (s *Vault) AddSecret(ctx context.Context, sec *vault.Secret) (err error) {
	defer wrapErr(&err, "sqlstore.Vault.AddSecret", sec.Name)
	_, err = s.db.exec(ctx, "INSERT INTO vault_secrets (name, master_key, wrapped) VALUES (?, ?, ?)", sec.Name, int64(sec.MasterKey), sec.Wrapped)
	return err
}

// wrappedKeys is every wrapped key: the secrets (as "#name", which sorts before every
// account ID) and the accounts' data keys.
const wrappedKeys = "SELECT '#' || name AS account, master_key, wrapped AS data_key FROM vault_secrets " +
	"UNION ALL SELECT account, master_key, data_key FROM vault_records"

func (s *Vault) WrappedKeys(ctx context.Context, notBy uint32, after string, limit int) (_ []vault.Wrapped, err error) {
	defer wrapErr(&err, "sqlstore.Vault.WrappedKeys", after)
	return collect(ctx, s.db, func(scan func(...any) error) (vault.Wrapped, error) {
		var w vault.Wrapped
		var key int64
		err := scan(&w.Account, &key, &w.DataKey)
		w.MasterKey = uint32(key)
		return w, err
	}, "SELECT account, master_key, data_key FROM ("+wrappedKeys+") AS k WHERE master_key <> ? AND account > ? ORDER BY account LIMIT ?",
		int64(notBy), after, limit)
}

func (s *Vault) Rewrap(ctx context.Context, old, w []vault.Wrapped) (_ int, err error) {
	defer wrapErr(&err, "sqlstore.Vault.Rewrap", "")
	done := 0
	for i, n := range w {
		var res sql.Result
		if name, ok := strings.CutPrefix(n.Account, "#"); ok {
			res, err = s.db.exec(ctx, "UPDATE vault_secrets SET master_key = ?, wrapped = ? WHERE name = ? AND wrapped = ?",
				int64(n.MasterKey), n.DataKey, name, old[i].DataKey)
		} else {
			res, err = s.db.exec(ctx, "UPDATE vault_records SET master_key = ?, data_key = ? WHERE account = ? AND data_key = ?",
				int64(n.MasterKey), n.DataKey, n.Account, old[i].DataKey)
		}
		if err != nil {
			return done, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return done, err
		}
		done += int(k)
	}
	return done, nil
}

func (s *Vault) CountWrapped(ctx context.Context, by uint32) (total, done int64, err error) {
	defer wrapErr(&err, "sqlstore.Vault.CountWrapped", "")
	err = s.db.queryRow(ctx, "SELECT COUNT(*), COALESCE(SUM(CASE WHEN master_key = ? THEN 1 ELSE 0 END), 0) FROM ("+wrappedKeys+") AS k",
		int64(by)).Scan(&total, &done)
	return total, done, err
}

func (s *Vault) PutActor(ctx context.Context, pseudonym string, p principal.Principal, at time.Time) (err error) {
	defer wrapErr(&err, "sqlstore.Vault.PutActor", pseudonym)
	_, err = s.db.exec(ctx, "INSERT INTO vault_actors (pseudonym, name, role, team, first_at) VALUES (?, ?, ?, ?, ?) "+
		"ON CONFLICT (pseudonym) DO NOTHING", pseudonym, p.Name, string(p.Role), p.Team, nanos(at))
	return err
}

func (s *Vault) GetActor(ctx context.Context, pseudonym string) (_ principal.Principal, err error) {
	defer wrapErr(&err, "sqlstore.Vault.GetActor", pseudonym)
	var p principal.Principal
	var role string
	err = s.db.queryRow(ctx, "SELECT name, role, team FROM vault_actors WHERE pseudonym = ?", pseudonym).Scan(&p.Name, &role, &p.Team)
	if errors.Is(err, sql.ErrNoRows) {
		return principal.Principal{}, errs.E(errs.NotFound, "no staff member known as %q", pseudonym)
	}
	p.Role = principal.Role(role)
	return p, err
}
