package accounts

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
)

// Limits on an import.
const (
	MaxImport     = 100_000  // accounts in one import
	MaxImportLine = 64 << 10 // bytes of one NDJSON line of an import
)

// How an Import holds what it has checked: chunks of up to importChunk accounts or
// importChunkSize bytes, kept in memory while they take less than importMemory bytes
// and written to a temporary file (in $TMPDIR) past that. One 243 MB import (8,000
// lines of 30 KB attributes, BenchmarkImportLargeHeap) peaked at 0.86-1.1 GB of live
// heap when every account stayed in memory, and two got the server OOM-killed in 1.5
// GB; spooling past 32 MiB, it peaks at 130-138 MB and takes a third less time.
const (
	importChunk     = 500 // accounts, as the store writes them in one statement
	importChunkSize = 4 << 20
	importMemory    = 32 << 20
)

// An Import takes the accounts of an import one at a time as they arrive, checks each,
// and then writes them all or nothing (Commit). It holds at most about importMemory
// bytes of accounts; the rest waits in a temporary file until Commit. Close it when
// done.
type Import struct {
	s      *Service
	memory int // bytes of accounts it may hold

	now       time.Time
	seen      map[string]int // the line of each account ID taken
	fs        errs.Fields    // failures, "line N: field"
	lines     int            // accounts given
	chunk     []*Account     // checked, not yet held or spooled
	chunkSize int
	held      [][]*Account // chunks kept in memory
	heldSize  int
	entries   []*audit.Entry // of the accounts taken, in their order
	spool     *os.File       // chunks past memory, as JSON lines
	spooled   *bufio.Writer
}

// NewImport starts an import.
func (s *Service) NewImport() *Import {
	return &Import{s: s, memory: importMemory, now: s.now().UTC(), seen: map[string]int{}}
}

// Full reports whether the import has failures enough to fix a file: reading on would
// only make the error longer.
func (im *Import) Full() bool { return len(im.fs) >= 100 }

// Len returns how many accounts were given.
func (im *Import) Len() int { return im.lines }

// Room returns errs.TooLarge when the import has MaxImport accounts already.
func (im *Import) Room() error {
	if im.lines >= MaxImport {
		return errs.E(errs.TooLarge, "at most %d accounts per import; split the file (steward accounts import does)", MaxImport)
	}
	return nil
}

// Refuse records that the account of line could not be read: fs name its fields.
func (im *Import) Refuse(line int, fs ...errs.FieldError) {
	im.lines++
	im.fs = append(im.fs, errs.Fields(fs).Prefix(lineField(line))...)
}

// Add checks a, the account of line, and takes it. Its failures are kept for Commit;
// the error is for what stops the import: errs.TooLarge past MaxImport accounts, or
// the temporary file failing.
func (im *Import) Add(ctx context.Context, a *Account, line int) error {
	if err := im.Room(); err != nil {
		return err
	}
	im.lines++
	field := lineField(line)
	a.Normalize()
	if invalid := errs.FieldsOf(a.Validate()); invalid != nil {
		im.fs = append(im.fs, errs.Fields(invalid).Prefix(field)...)
		return nil
	}
	if first, dup := im.seen[a.ID]; dup {
		im.fs.Add(field+"id", "duplicate of line %d", first)
		return nil
	}
	im.seen[a.ID] = line
	if len(im.fs) > 0 {
		return nil // nothing will be written: only check the rest
	}
	a.UpdatedAt = im.now
	im.chunk = append(im.chunk, a)
	if im.chunkSize += a.size(); len(im.chunk) == importChunk || im.chunkSize >= importChunkSize {
		return im.flush(ctx)
	}
	return nil
}

// size is about how many bytes a takes in memory.
func (a *Account) size() int {
	n := 512 + len(a.ID) + len(a.Region) + 48*len(a.Linked)
	for k, v := range a.Attributes {
		n += 48 + len(k)
		if s, ok := v.(string); ok {
			n += len(s)
		}
	}
	for _, l := range a.Linked {
		n += len(l.Service) + len(l.Account)
	}
	return n
}

// flush makes the audit entries of the chunk and holds it, or spools it past memory.
func (im *Import) flush(ctx context.Context) error {
	if len(im.chunk) == 0 {
		return nil
	}
	changes := make([]audit.Change, len(im.chunk))
	for i, a := range im.chunk {
		changes[i] = change(a)
	}
	entries, err := im.s.audit.Entries(ctx, changes...)
	if err != nil {
		return err
	}
	im.entries = append(im.entries, entries...)
	if im.heldSize+im.chunkSize <= im.memory {
		im.held = append(im.held, im.chunk)
		im.heldSize += im.chunkSize
	} else if err := im.spoolChunk(); err != nil {
		return err
	}
	im.chunk, im.chunkSize = nil, 0
	return nil
}

func (im *Import) spoolChunk() error {
	if im.spool == nil {
		f, err := os.CreateTemp("", "steward-import-*.ndjson")
		if err != nil {
			return fmt.Errorf("accounts.Import: %w", err)
		}
		im.spool, im.spooled = f, bufio.NewWriterSize(f, 1<<16)
	}
	enc := json.NewEncoder(im.spooled)
	for _, a := range im.chunk {
		if err := enc.Encode(a); err != nil {
			return fmt.Errorf("accounts.Import: spool: %w", err)
		}
	}
	return nil
}

// Err returns the failures so far, as an errs.Invalid naming "line N: field" for each.
func (im *Import) Err() error { return im.fs.Err() }

// Commit creates or replaces every account taken, in one transaction, unless a line
// failed: then it writes nothing and returns errs.Invalid naming every failure.
func (im *Import) Commit(ctx context.Context) (ImportResult, error) {
	if err := im.Err(); err != nil {
		return ImportResult{}, err
	}
	if err := im.flush(ctx); err != nil {
		return ImportResult{}, err
	}
	if im.spooled != nil {
		if err := im.spooled.Flush(); err != nil {
			return ImportResult{}, fmt.Errorf("accounts.Import: spool: %w", err)
		}
	}
	var res ImportResult
	err := im.s.tx.Write(ctx, func(ctx context.Context) error {
		created := 0
		put := func(chunk []*Account) error {
			n, err := im.s.store.PutMany(ctx, chunk)
			created += n
			return err
		}
		for _, chunk := range im.held {
			if err := put(chunk); err != nil {
				return err
			}
		}
		if err := im.eachSpooled(put); err != nil {
			return err
		}
		res = ImportResult{Created: created, Replaced: len(im.seen) - created}
		return im.s.audit.Append(ctx, im.entries)
	})
	return res, err
}

// eachSpooled calls f with each chunk of the spooled accounts, from the first: a
// transaction that is tried again reads them again.
func (im *Import) eachSpooled(f func([]*Account) error) error {
	if im.spool == nil {
		return nil
	}
	if _, err := im.spool.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("accounts.Import: spool: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(im.spool, 1<<16))
	chunk := make([]*Account, 0, importChunk)
	for {
		a := new(Account)
		err := dec.Decode(a)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("accounts.Import: spool: %w", err)
		}
		if chunk = append(chunk, a); len(chunk) == importChunk {
			if err := f(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	}
	if len(chunk) == 0 {
		return nil
	}
	return f(chunk)
}

// Close removes the temporary file, if there is one.
func (im *Import) Close() {
	if im.spool != nil {
		im.spool.Close()
		os.Remove(im.spool.Name())
		im.spool = nil
	}
}

func lineField(n int) string {
	return "line " + strconv.Itoa(n) + ": "
}
