package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/stewardhq/steward/internal/enforce"
)

// entryCols are the columns of a sanction the decision index reads.
const entryCols = "id, account, kind, services, capabilities, start_at, end_at, lifted_at, reason_code, policy, seq"

// entryScanner scans index entries, sharing the strings that repeat across sanctions
// (kinds, scopes, reason codes, policies): a million sanctions load faster and smaller.
type entryScanner struct {
	lists                                map[string][]string
	strs                                 map[string]string
	kind, services, caps, reason, policy sql.RawBytes
	end, lifted                          sql.NullInt64
}

func newEntryScanner() *entryScanner {
	return &entryScanner{lists: map[string][]string{}, strs: map[string]string{}}
}

func (sc *entryScanner) str(b []byte) string {
	if s, ok := sc.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(sc.strs) < 100_000 {
		sc.strs[s] = s
	}
	return s
}

func (sc *entryScanner) list(b []byte) []string {
	if l, ok := sc.lists[string(b)]; ok {
		return l
	}
	l := []string{}
	if len(b) > 0 {
		l = strings.Split(string(b), ",")
	}
	if len(sc.lists) < 100_000 {
		sc.lists[string(b)] = l
	}
	return l
}

func (sc *entryScanner) scan(rows *sql.Rows) (enforce.Entry, error) {
	var e enforce.Entry
	var start int64
	if err := rows.Scan(&e.Sanction, &e.Account, &sc.kind, &sc.services, &sc.caps, &start, &sc.end, &sc.lifted,
		&sc.reason, &sc.policy, &e.Seq); err != nil {
		return e, err
	}
	e.Kind = enforce.Kind(sc.str(sc.kind))
	e.Services, e.Capabilities = sc.list(sc.services), sc.list(sc.caps)
	e.ReasonCode, e.Policy = sc.str(sc.reason), sc.str(sc.policy)
	e.Start, e.End = start, enforce.NoEnd
	if sc.end.Valid {
		e.End = sc.end.Int64
	}
	if sc.lifted.Valid && sc.lifted.Int64 < e.End {
		e.End = sc.lifted.Int64
	}
	return e, nil
}

func (s *Sanctions) Active(ctx context.Context, t time.Time, add func(enforce.Entry)) (_ int64, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.Active", "")
	// The sequence first: whatever changes after it is read is in the feed after it.
	var seq int64
	if err := s.db.queryRow(ctx, "SELECT n FROM sanction_seq").Scan(&seq); err != nil {
		return 0, err
	}
	rows, err := s.db.query(ctx, "SELECT "+entryCols+" FROM sanctions WHERE kind <> ? AND lifted_at IS NULL AND (end_at IS NULL OR end_at > ?)",
		string(enforce.Warning), nanos(t))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	sc := newEntryScanner()
	for rows.Next() {
		e, err := sc.scan(rows)
		if err != nil {
			return 0, err
		}
		add(e)
	}
	return seq, rows.Err()
}

func (s *Sanctions) Changes(ctx context.Context, after int64, limit int) (_ []enforce.Entry, err error) {
	defer wrapErr(&err, "sqlstore.Sanctions.Changes", after)
	rows, err := s.db.query(ctx, "SELECT "+entryCols+" FROM sanctions WHERE seq > ? ORDER BY seq LIMIT ?", after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []enforce.Entry
	sc := newEntryScanner()
	for rows.Next() {
		e, err := sc.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Watch listens for sanction changes where the dialect has signals (PostgreSQL), holding
// one connection of the pool until ctx ends, and reconnecting after a failure. Without
// signals (SQLite, one process): nil.
func (s *Sanctions) Watch(ctx context.Context) <-chan struct{} {
	if !s.db.d.signals {
		return nil
	}
	wake := make(chan struct{}, 1)
	signal := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	go func() {
		for ctx.Err() == nil {
			err := s.listen(ctx, signal)
			if ctx.Err() != nil {
				return
			}
			s.db.log.Warn("sanction change notifications lost; polling until they are back", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	return wake
}

// listen runs LISTEN on one connection and signals every notification, and once on
// start (changes may have come while no one listened), until ctx ends or it fails.
func (s *Sanctions) listen(ctx context.Context, signal func()) error {
	conn, err := s.db.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		if _, err := c.Exec(ctx, "LISTEN "+sanctionsChannel); err != nil {
			return driver.ErrBadConn
		}
		signal()
		for {
			if _, err := c.WaitForNotification(ctx); err != nil {
				if ctx.Err() != nil {
					// The connection may be mid-wait: do not hand it back to the pool.
					return errors.Join(driver.ErrBadConn, ctx.Err())
				}
				return errors.Join(driver.ErrBadConn, err)
			}
			signal()
		}
	})
}
