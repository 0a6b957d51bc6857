package vault

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/txn"
)

// Audit actions of the vault. Each entry's subject is the account's commitment (see
// Service.Commitment), its fields the names of the fields touched.
const (
	ActionPut           = "pii.put"
	ActionRead          = "pii.read"   // a masked read
	ActionReveal        = "pii.reveal" // context: purpose, ticket
	ActionRevealRefused = "pii.reveal_refused"
	ActionLookup        = "pii.lookup" // one entry per account found; context: field
	ActionErase         = "pii.erase"
	ActionPurposePut    = "pii.purpose.put"
	ActionRotate        = "pii.rotate" // a batch of keys re-wrapped; subject vault:master-key
)

// Config is what a Service takes besides its stores.
type Config struct {
	// Master wraps the data keys; when nil, the process's memory key (see MemoryMaster),
	// for tests: what it wraps dies with the process.
	Master  *Master
	Alerter Alerter // none when nil
	Now     func() time.Time
	// Names says how entries name the staff who acted; NamesPseudonym when empty.
	Names ActorNames
	// KeyCache is how many accounts' opened data keys are kept in memory (see
	// keyCache): DefaultKeyCache when 0, none when negative.
	KeyCache int
	// EntryPerRead writes each read's entries in a transaction of its own rather than
	// batched with concurrent reads' (see readLog): the vault as it was, for benchmarks.
	EntryPerRead bool
}

// Service keeps personal data: Put, masked reads, reveals for a purpose, lookups and
// erasure, each audited in the transaction it runs in.
type Service struct {
	store    Store
	accounts accounts.Store
	tx       txn.Runner
	audit    *audit.Recorder
	master   *Master
	alert    Alerter
	now      func() time.Time
	names    ActorNames
	ciphers  *keyCache // opened data keys
	reads    *readLog  // nil with Config.EntryPerRead

	mu        sync.Mutex
	indexKey  []byte // blind indexes
	commitKey []byte // account commitments
	sealKey   []byte // other secrets Steward keeps (webhook secrets), see SealSecret

	actors sync.Map // pseudonyms whose identity this process has seen recorded (see recordActor)
}

// NewService returns a Service over store.
func NewService(store Store, accts accounts.Store, tx txn.Runner, rec *audit.Recorder, cfg Config) (*Service, error) {
	if cfg.Master == nil {
		m, err := MemoryMaster()
		if err != nil {
			return nil, err
		}
		cfg.Master = m
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Names == "" {
		cfg.Names = NamesPseudonym
	}
	if _, err := ParseActorNames(string(cfg.Names)); err != nil {
		return nil, err
	}
	if cfg.KeyCache == 0 {
		cfg.KeyCache = DefaultKeyCache
	}
	s := &Service{store: store, accounts: accts, tx: tx, audit: rec, master: cfg.Master, alert: cfg.Alerter, now: cfg.Now,
		names: cfg.Names, ciphers: newKeyCache(cfg.KeyCache)}
	if !cfg.EntryPerRead {
		s.reads = &readLog{tx: tx, audit: rec}
	}
	return s, nil
}

// Master returns the master key.
func (s *Service) Master() *Master { return s.master }

// seal makes the record of p, normalised, for account under a new data key.
func (s *Service) seal(account string, p *PII, index []byte, now time.Time) (*Record, error) {
	dk := make([]byte, 32)
	rand.Read(dk)
	g, err := subtle.NewAESGCM(dk)
	if err != nil {
		return nil, fmt.Errorf("vault: data key: %w", err)
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("vault: encode: %w", err)
	}
	sealed, err := g.Encrypt(plain, []byte(account))
	if err != nil {
		return nil, fmt.Errorf("vault: seal: %w", err)
	}
	w, id, err := s.master.Wrap(dk, wrapAD(account))
	if err != nil {
		return nil, err
	}
	r := &Record{Account: account, MasterKey: id, DataKey: w, Sealed: sealed, Fields: p.Present(), UpdatedAt: now}
	for _, f := range Indexed {
		if v := p.get(f); v != "" {
			r.Index = append(r.Index, IndexEntry{Field: f, Hash: blindIndex(index, f, v)})
		}
	}
	return r, nil
}

// open decrypts a record.
func (s *Service) open(r *Record) (*PII, error) {
	g, err := s.cipher(r)
	if err != nil {
		return nil, err
	}
	plain, err := g.Decrypt(r.Sealed, []byte(r.Account))
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", r.Account, err)
	}
	var p PII
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("vault: decode %s: %w", r.Account, err)
	}
	return &p, nil
}

// cipher returns the cipher of r's data key, from the cache or unwrapped.
func (s *Service) cipher(r *Record) (*subtle.AESGCM, error) {
	now := s.now()
	if g := s.ciphers.get(r.Account, r.DataKey, now); g != nil {
		return g, nil
	}
	dk, err := s.master.Unwrap(r.DataKey, wrapAD(r.Account))
	if err != nil {
		return nil, err
	}
	g, err := subtle.NewAESGCM(dk)
	if err != nil {
		return nil, fmt.Errorf("vault: data key: %w", err)
	}
	s.ciphers.put(r.Account, r.DataKey, g, now)
	return g, nil
}

// namesOnly is the digested value of a vault entry: field names, never values.
type namesOnly struct {
	Fields  []string          `json:"fields"`
	Context map[string]string `json:"context,omitempty"`
}

func (s *Service) change(ctx context.Context, action, account string, fields []string, c map[string]string) (audit.Change, error) {
	subj, err := s.Commitment(ctx, account)
	fields = slices.Sorted(slices.Values(fields)) // as audit entries hold them
	if fields == nil {
		fields = []string{}
	}
	return audit.Change{Action: action, Subject: subj, Value: namesOnly{fields, c}, Fields: fields, Context: c}, err
}

// Put validates p, replaces the account's personal data with it under a new data key
// and returns it masked. Returns errs.Invalid naming every field at fault, and
// errs.NotFound when there is no such account.
func (s *Service) Put(ctx context.Context, account string, p PII) (*PII, error) {
	n, err := Normalize(p)
	if err != nil {
		return nil, err
	}
	if err := s.PutMany(ctx, []string{account}, []*PII{n}); err != nil {
		return nil, err
	}
	return Mask(n), nil
}

// PutMany stores each ps[i], normalised already (see Normalize), as the personal data
// of accounts[i], in one transaction with one audit entry each.
// Returns errs.NotFound when an account does not exist.
func (s *Service) PutMany(ctx context.Context, accts []string, ps []*PII) error {
	sealed := make([]*Sealed, len(ps))
	for i, p := range ps {
		var err error
		if sealed[i], err = s.Seal(ctx, accts[i], p); err != nil {
			return err
		}
	}
	return s.Write(ctx, sealed)
}

// Sealed is an account's personal data sealed for writing, with its audit entry: what
// an import holds, encrypted, until it commits.
type Sealed struct {
	rec    *Record
	change audit.Change
}

// Size returns roughly how many bytes s holds.
func (s *Sealed) Size() int {
	return len(s.rec.Sealed) + len(s.rec.DataKey) + 64*len(s.rec.Index) + 256
}

// Seal seals p, normalised already (see Normalize), as the account's personal data
// under a new data key, for Write.
func (s *Service) Seal(ctx context.Context, account string, p *PII) (*Sealed, error) {
	index, _, err := s.secrets(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.seal(account, p, index, s.now().UTC())
	if err != nil {
		return nil, err
	}
	c, err := s.change(ctx, ActionPut, account, r.Fields, nil)
	return &Sealed{rec: r, change: c}, err
}

// Write stores what Seal sealed, replacing each account's personal data, with one audit
// entry each, in one transaction (the caller's, if ctx holds one).
// Returns errs.NotFound when an account does not exist.
func (s *Service) Write(ctx context.Context, sealed []*Sealed) error {
	ids := make([]string, len(sealed))
	recs := make([]*Record, len(sealed))
	changes := make([]audit.Change, len(sealed))
	for i, sd := range sealed {
		ids[i], recs[i], changes[i] = sd.rec.Account, sd.rec, sd.change
	}
	entries, err := s.entries(ctx, changes...)
	if err != nil {
		return err
	}
	return s.tx.Write(ctx, func(ctx context.Context) error {
		if err := s.exist(ctx, ids); err != nil {
			return err
		}
		if err := s.store.PutRecords(ctx, recs...); err != nil {
			return err
		}
		return s.audit.Append(ctx, entries)
	})
}

// exist returns errs.NotFound unless every account exists.
func (s *Service) exist(ctx context.Context, ids []string) error {
	if len(ids) == 1 {
		_, err := s.accounts.Get(ctx, ids[0])
		return err
	}
	have, err := s.accounts.Locales(ctx, ids) // one query per 500 IDs
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, ok := have[id]; !ok {
			return errs.E(errs.NotFound, "no account %q", id)
		}
	}
	return nil
}

// Masked returns the account's personal data masked (see Mask), recording the read and
// the fields it showed. Returns errs.NotFound when the account has none.
func (s *Service) Masked(ctx context.Context, account string) (*PII, error) {
	// Read on the read pool, outside the one writer every write waits on; the entry
	// records the fields of the record read.
	r, err := s.store.GetRecord(ctx, account)
	if err != nil {
		return nil, err
	}
	p, err := s.open(r)
	if err != nil {
		return nil, err
	}
	c, err := s.change(ctx, ActionRead, account, r.Fields, nil)
	if err != nil {
		return nil, err
	}
	if err := s.record(ctx, c); err != nil {
		return nil, err
	}
	return Mask(p), nil
}

// entries makes the audit entries of the vault's changes, naming the actor as the
// platform chose (see ActorNames).
func (s *Service) entries(ctx context.Context, changes ...audit.Change) ([]*audit.Entry, error) {
	rctx, err := s.recorded(ctx)
	if err != nil {
		return nil, err
	}
	return s.audit.Entries(rctx, changes...)
}

// record writes the entries of changes, which are reads, in a transaction of their own
// or, unless Config.EntryPerRead, in a batch with other reads' (see readLog).
func (s *Service) record(ctx context.Context, changes ...audit.Change) error {
	entries, err := s.entries(ctx, changes...)
	if err != nil {
		return err
	}
	if s.reads == nil {
		return s.tx.Write(ctx, func(ctx context.Context) error { return s.audit.Append(ctx, entries) })
	}
	return s.reads.record(ctx, entries)
}

// MaxLookup is the most accounts a lookup answers.
const MaxLookup = 100

// Lookup returns the accounts (at most MaxLookup, in ID order) whose field has value,
// normalised first, through the blind index; each account found gets an audit entry, and
// a lookup that finds none one under LookupMisses.
// Returns errs.Invalid for a field without an index or a value not of its type.
func (s *Service) Lookup(ctx context.Context, field, value string) ([]string, error) {
	var fs errs.Fields
	if !slices.Contains(Indexed, field) {
		fs.Add("field", "must be one of %v", Indexed)
	} else if v, err := NormalizeValue(field, value); err != nil {
		fs.Add("value", "%s", errs.FieldsOf(err)[0].Message)
	} else if v == "" {
		fs.Add("value", "is required")
	} else {
		value = v
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	index, _, err := s.secrets(ctx)
	if err != nil {
		return nil, err
	}
	found, err := s.store.Lookup(ctx, field, blindIndex(index, field, value), MaxLookup)
	if err != nil {
		return nil, err
	}
	changes := make([]audit.Change, len(found))
	for i, a := range found {
		if changes[i], err = s.change(ctx, ActionLookup, a, []string{field}, nil); err != nil {
			return nil, err
		}
	}
	if len(found) == 0 { // a search that found nobody is recorded too: probing leaves a trace
		changes = append(changes, audit.Change{Action: ActionLookup, Subject: LookupMisses,
			Value: namesOnly{Fields: []string{field}}, Fields: []string{field}})
	}
	if err := s.record(ctx, changes...); err != nil {
		return nil, err
	}
	return found, nil
}

// LookupMisses is the audit subject of a lookup that found no account.
const LookupMisses = "pii:lookup-misses"

// Erased is what an erasure destroyed.
type Erased struct {
	Account  string    `json:"account"`
	Fields   []string  `json:"fields"`
	ErasedAt time.Time `json:"erased_at"`
}

// Erase destroys the account's data key with its sealed values and index entries: the
// values can no longer be read by anyone; the audit log keeps its entries.
// Returns errs.NotFound when the account has no personal data.
func (s *Service) Erase(ctx context.Context, account string) (*Erased, error) {
	var out *Erased
	err := s.tx.Write(ctx, func(ctx context.Context) error {
		r, err := s.store.DeleteRecord(ctx, account)
		if err != nil {
			return err
		}
		// Forgotten now and again once committed: a read that fetched the record
		// before the delete may have cached its key meanwhile.
		s.ciphers.drop(account)
		s.tx.AfterCommit(ctx, func() { s.ciphers.drop(account) })
		out = &Erased{Account: account, Fields: r.Fields, ErasedAt: s.now().UTC()}
		c, err := s.change(ctx, ActionErase, account, r.Fields, nil)
		if err != nil {
			return err
		}
		entries, err := s.entries(ctx, c)
		if err != nil {
			return err
		}
		return s.audit.Append(ctx, entries)
	})
	return out, err
}

// PutPurpose checks and creates or replaces a purpose, reporting whether it created it.
// Returns errs.Invalid naming every field at fault.
func (s *Service) PutPurpose(ctx context.Context, p *Purpose) (created bool, err error) {
	if err := CheckPurpose(p); err != nil {
		return false, err
	}
	now := s.now().UTC()
	err = s.tx.Write(ctx, func(ctx context.Context) error {
		old, err := s.store.GetPurpose(ctx, p.Name)
		switch {
		case err == nil:
			p.CreatedAt = old.CreatedAt
		case errs.CodeOf(err) == errs.NotFound:
			p.CreatedAt = now
		default:
			return err
		}
		p.UpdatedAt = now
		if created, err = s.store.PutPurpose(ctx, p); err != nil {
			return err
		}
		return s.audit.Record(ctx, audit.Change{Action: ActionPurposePut, Subject: "purpose:" + p.Name, Value: p})
	})
	return created, err
}

// Purpose returns a purpose. Returns errs.NotFound when there is none.
func (s *Service) Purpose(ctx context.Context, name string) (*Purpose, error) {
	return s.store.GetPurpose(ctx, name)
}
