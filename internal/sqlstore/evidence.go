package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
)

// Evidence implements leak.EvidenceStore.
type Evidence struct{ db *DB }

// Evidence returns the store of evidence records.
func (db *DB) Evidence() *Evidence { return &Evidence{db} }

var _ leak.EvidenceStore = (*Evidence)(nil)

func (s *Evidence) CreateEvidence(ctx context.Context, e *leak.Evidence, sealed string) (err error) {
	defer wrapErr(&err, "sqlstore.Evidence.CreateEvidence", e.ID)
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, "INSERT INTO evidence (id, account, created_at, body, sealed) VALUES (?, ?, ?, ?, ?)",
		e.ID, e.Account, nanos(e.CreatedAt), string(body), sealed)
	return err
}

func (s *Evidence) Evidence(ctx context.Context, id string) (_ *leak.Evidence, sealed string, err error) {
	defer wrapErr(&err, "sqlstore.Evidence.Evidence", id)
	var body string
	err = s.db.queryRow(ctx, "SELECT body, sealed FROM evidence WHERE id = ?", id).Scan(&body, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", errs.E(errs.NotFound, "evidence %s not found", id)
	}
	if err != nil {
		return nil, "", err
	}
	var e leak.Evidence
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return nil, "", fmt.Errorf("stored evidence: %w", err)
	}
	return &e, sealed, nil
}
