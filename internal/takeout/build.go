package takeout

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
)

// Builder is the worker that makes archives: it takes queued exports one at a time,
// collects their parts and writes the archive, and deletes expired archives.
type Builder struct{ s *Service }

// Builder returns the worker that makes s's archives; nil without Config.Dir.
func (s *Service) Builder() *Builder {
	if s.cfg.Dir == "" {
		return nil
	}
	return &Builder{s}
}

// Run builds archives until ctx ends. A failure to reach the database is logged and
// tried again at the next poll.
func (b *Builder) Run(ctx context.Context) error {
	if err := os.MkdirAll(b.s.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("takeout: %w", err)
	}
	tick := time.NewTicker(b.s.cfg.Poll)
	defer tick.Stop()
	for {
		for {
			more, err := b.Step(ctx)
			if err != nil && ctx.Err() == nil {
				b.s.cfg.Logger.Warn("takeout: step failed", "err", err)
			}
			if !more || err != nil || ctx.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Step deletes the archives that expired and builds the next queued export, if any,
// reporting whether it built one (there may be more).
func (b *Builder) Step(ctx context.Context) (built bool, err error) {
	if err := b.expire(ctx); err != nil {
		return false, err
	}
	var e *Export
	now := b.s.now()
	err = b.s.d.Tx.Write(ctx, func(ctx context.Context) (err error) {
		e, err = b.s.d.Store.ClaimExport(ctx, now, now.Add(b.s.cfg.Lease))
		return err
	})
	switch errs.CodeOf(err) {
	case errs.NotFound:
		return false, nil
	case errs.Conflict: // another process claimed it first: look again
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return true, b.build(ctx, e)
}

// expire deletes the archives whose time is up, each with its audit entry.
func (b *Builder) expire(ctx context.Context) error {
	es, err := b.s.d.Store.ExpiredExports(ctx, b.s.now(), 100)
	if err != nil {
		return err
	}
	for _, e := range es {
		if err := os.Remove(b.s.archivePath(e.ID)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("takeout: delete %s: %w", e.ID, err)
		}
		e.State = Expired
		if err := b.save(ctx, e, &audit.Change{Action: ActionExpire, Subject: e.Account, Value: struct {
			ID        string    `json:"id"`
			ExpiresAt time.Time `json:"expires_at"`
		}{e.ID, e.ExpiresAt}}); err != nil {
			return err
		}
		b.s.m.exports.WithLabelValues("expired").Inc()
	}
	return nil
}

// save stores e's new state, with the audit entry c when not nil, in one transaction.
func (b *Builder) save(ctx context.Context, e *Export, c *audit.Change) error {
	e.Version++
	e.UpdatedAt = b.s.now()
	return b.s.d.Tx.Write(ctx, func(ctx context.Context) error {
		if err := b.s.d.Store.UpdateExport(ctx, e); err != nil {
			return err
		}
		if c == nil {
			return nil
		}
		if e.State != Collecting { // its upload URLs work no more
			if err := b.s.d.Store.DeleteUploads(ctx, e.ID, ""); err != nil {
				return err
			}
		}
		return b.s.d.Audit.Record(ctx, *c)
	})
}

// build collects e's own parts, each to a file of its own, then asks the sources for
// theirs; once every source has sent its part or given up, it writes the archive. While
// sources are awaited, e's lease runs out when the next one is due, so that a Step
// claims it again then (or at once when an upload arrives).
func (b *Builder) build(ctx context.Context, e *Export) (err error) {
	if e.Phase == "" {
		if err := b.collect(ctx, e); err != nil {
			return err
		}
	}
	if e, err = b.s.call(ctx, e); err != nil {
		return err
	}
	if waiting := pending(e); !waiting.IsZero() {
		_, err := b.s.edit(ctx, e.ID, func(_ context.Context, x *Export) error {
			x.LeaseUntil = pending(x)
			if x.LeaseUntil.IsZero() {
				x.LeaseUntil = b.s.now() // the last part arrived meanwhile
			}
			return nil
		})
		return err
	}
	return b.finish(ctx, e)
}

// pending returns when e's next unsettled source is due, or the zero time when every
// source is settled.
func pending(e *Export) time.Time {
	var next time.Time
	for _, c := range e.Connectors {
		if !c.settled() && (next.IsZero() || c.NextAt.Before(next)) {
			next = c.NextAt
		}
	}
	return next
}

// collect writes each of e's own parts to a file, records what is missing and sets up
// its connectors.
func (b *Builder) collect(ctx context.Context, e *Export) error {
	dir := b.s.partsDir(e.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return b.fail(ctx, e, err)
	}
	ps := b.s.parts()
	e.Progress, e.Missing, e.Connectors = Progress{Total: len(ps)}, nil, nil
	if err := b.s.connect(ctx, e); err != nil {
		return err
	}
	for _, p := range ps {
		if err := writePart(ctx, filepath.Join(dir, p.name+".json"), e, p); err != nil {
			if ctx.Err() != nil {
				return ctx.Err() // another builder takes it over once the lease ends
			}
			b.s.cfg.Logger.Warn("takeout: part not collected", "export", e.ID, "part", p.name, "err", err)
			e.Missing = append(e.Missing, Missing{Part: p.name, Reason: reason(err)})
		}
		e.Progress.Done++
		e.LeaseUntil = b.s.now().Add(b.s.cfg.Lease)
		if err := b.save(ctx, e, nil); err != nil {
			return err
		}
	}
	e.Phase = "sources"
	return b.save(ctx, e, nil)
}

// finish writes e's archive from the files collected, and marks it done.
func (b *Builder) finish(ctx context.Context, e *Export) error {
	dir := b.s.partsDir(e.ID)
	defer os.RemoveAll(dir)
	cp, err := b.s.d.Log.Checkpoint(ctx)
	if errs.CodeOf(err) == errs.NotFound {
		cp, err = &audit.Checkpoint{}, nil
	}
	if err != nil {
		return b.fail(ctx, e, err)
	}
	locale := b.s.cfg.Locale
	if a, err := b.s.d.Accounts.Get(ctx, e.Account); err == nil && a.Locale != "" {
		locale = a.Locale
	}
	var files []pendingFile
	missing := map[string]bool{}
	for _, m := range e.Missing {
		missing[m.Part] = true
	}
	for _, p := range b.s.parts() {
		if !missing[p.name] {
			files = append(files, pendingFile{name: p.name + ".json", part: p.name, path: filepath.Join(dir, p.name+".json"), method: zip.Deflate})
		}
	}
	for _, c := range e.Connectors {
		switch c.State {
		case Received:
			// A source's bytes are stored as sent: most are compressed already (photos, mail archives).
			files = append(files, pendingFile{name: "sources/" + c.Source, part: "source:" + c.Source, path: sourceFile(dir, c.Source, c.SHA256), method: zip.Store})
		default:
			e.Missing = append(e.Missing, Missing{Part: "source:" + c.Source, Reason: c.Error})
		}
	}
	m := &Manifest{Export: e.ID, Account: e.Account, StartedAt: e.CreatedAt, MadeAt: b.s.now(), Locale: locale,
		Checkpoint: string(cp.Note), CheckpointSize: cp.Size, Missing: e.Missing}
	if m.Missing == nil {
		m.Missing = []Missing{}
	}
	size, sum, err := b.s.writeArchive(e.ID, files, m)
	if err != nil {
		return b.fail(ctx, e, err)
	}
	e.State, e.Size, e.SHA256 = Done, size, sum
	if err := b.save(ctx, e, &audit.Change{Action: ActionFinish, Subject: e.Account, Value: finished{e.ID, e.State, size, sum, e.Missing}}); err != nil {
		return err
	}
	b.s.m.exports.WithLabelValues("done").Inc()
	return nil
}

type finished struct {
	ID      string    `json:"id"`
	State   State     `json:"state"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	Missing []Missing `json:"missing,omitempty"`
}

// reason is why a part is missing, as the manifest says it: a coded error's message,
// never an internal one's (which the log has).
func reason(err error) string {
	if errs.CodeOf(err) == errs.Internal {
		return "could not be read; the operator's log has the cause"
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// fail marks e failed, with its audit entry.
func (b *Builder) fail(ctx context.Context, e *Export, cause error) error {
	b.s.cfg.Logger.Error("takeout: export failed", "export", e.ID, "err", cause)
	os.RemoveAll(b.s.partsDir(e.ID))
	e.State, e.Error = Failed, reason(cause)
	if err := b.save(ctx, e, &audit.Change{Action: ActionFinish, Subject: e.Account, Value: finished{ID: e.ID, State: Failed, Missing: e.Missing}}); err != nil {
		return err
	}
	b.s.m.exports.WithLabelValues("failed").Inc()
	return nil
}

// writePart writes p's JSON to path.
func writePart(ctx context.Context, path string, e *Export, p part) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = p.write(ctx, e, &jsonWriter{w: bw})
	if err == nil {
		err = bw.WriteByte('\n')
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// pendingFile is a file collected on disk, to be copied into the archive.
type pendingFile struct {
	name, part, path string
	method           uint16
}

// Manifest is manifest.json: what the archive holds and what it lacks.
type Manifest struct {
	Export    string    `json:"export"`
	Account   string    `json:"account"`
	StartedAt time.Time `json:"started_at"`
	MadeAt    time.Time `json:"made_at"`
	Locale    string    `json:"locale"`
	// Checkpoint is the audit log's latest signed checkpoint when the archive was made
	// (a C2SP signed note; empty while the log has none), CheckpointSize its tree size.
	Checkpoint     string    `json:"checkpoint"`
	CheckpointSize int64     `json:"checkpoint_size"`
	Files          []File    `json:"files"`   // every other file of the archive
	Missing        []Missing `json:"missing"` // the parts that could not be collected, and why
}

// File is a file of the archive.
type File struct {
	Name   string `json:"name"`
	Part   string `json:"part,omitempty"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// countingHash is the size and SHA-256 of what is written through it.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *countingHash) file(name, part string) File {
	return File{Name: name, Part: part, Size: c.n, SHA256: hex.EncodeToString(c.h.Sum(nil))}
}

// writeArchive writes the zip of files, index.html and manifest.json to <id>.zip.tmp,
// copying each file through a fixed buffer, then renames it to <id>.zip: a reader never
// sees half an archive. It returns the archive's size and SHA-256.
func (s *Service) writeArchive(id string, files []pendingFile, m *Manifest) (int64, string, error) {
	tmp := filepath.Join(s.cfg.Dir, id+".zip.tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, "", err
	}
	defer os.Remove(tmp) // after the rename, nothing is there
	whole := &countingHash{h: sha256.New()}
	bw := bufio.NewWriterSize(io.MultiWriter(f, whole), 256<<10)
	zw := zip.NewWriter(bw)
	add := func(name, part string, method uint16, src io.Reader) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method, Modified: m.MadeAt})
		if err != nil {
			return err
		}
		c := &countingHash{h: sha256.New()}
		if _, err := io.Copy(io.MultiWriter(w, c), src); err != nil {
			return err
		}
		m.Files = append(m.Files, c.file(name, part))
		return nil
	}
	err = func() error {
		for _, pf := range files {
			src, err := os.Open(pf.path)
			if err != nil {
				return err
			}
			err = add(pf.name, pf.part, pf.method, src)
			src.Close()
			if err != nil {
				return err
			}
		}
		page, err := renderIndex(m)
		if err != nil {
			return err
		}
		if err := add("index.html", "", zip.Deflate, page); err != nil {
			return err
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "manifest.json", Method: zip.Deflate, Modified: m.MadeAt})
		if err != nil {
			return err
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(m); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		return f.Sync()
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, "", err
	}
	if err := os.Rename(tmp, s.archivePath(id)); err != nil {
		return 0, "", err
	}
	return whole.n, hex.EncodeToString(whole.h.Sum(nil)), nil
}
