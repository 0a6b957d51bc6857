package takeout

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
)

// Connectors: for each export Steward posts every source a signed request naming the
// account and a one-time upload URL; the source PUTs its part there, with its length and
// SHA-256, and Steward checks both. A source that fails is asked again with backoff, and
// one still missing after GiveUp is listed in the manifest.

// Request is what Steward posts a source, signed as webhooks are (Steward-Signature).
type Request struct {
	Type      string    `json:"type"` // "steward.export.requested"
	Export    string    `json:"export"`
	Account   string    `json:"account"`
	UploadURL string    `json:"upload_url"` // PUT the part's bytes here, once
	MaxBytes  int64     `json:"max_bytes"`
	ExpiresAt time.Time `json:"expires_at"` // the URL works until then
	// SHA256Header names the header that must carry the part's hex SHA-256.
	SHA256Header string `json:"sha256_header"`
}

// SHA256Header is the upload's header holding its hex SHA-256.
const SHA256Header = "Steward-Content-SHA256"

// sourceFile is where a source's part of SHA-256 sum is kept until the archive is
// written: two uploads racing for one source never write the same file (but for the
// same bytes).
func sourceFile(dir, source, sum string) string {
	return filepath.Join(dir, "source-"+source+"-"+sum+".part")
}

func (s *Service) partsDir(id string) string { return filepath.Join(s.cfg.Dir, id+".parts") }

// connect sets up e's connectors, one per source.
func (s *Service) connect(ctx context.Context, e *Export) error {
	if s.cfg.Reach == nil || s.cfg.Sign == nil {
		return nil
	}
	srcs, err := s.d.Store.Sources(ctx)
	if err != nil {
		return err
	}
	for _, src := range srcs {
		e.Connectors = append(e.Connectors, Connector{Source: src.Name, State: Waiting})
	}
	e.Progress.Total += len(srcs)
	return nil
}

// backoff is how long to wait after the attempt-th failure.
func (s *Service) backoff(attempt int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < attempt && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// call asks, at once, every source of e that is due, records how each answered, and
// returns e as it is stored then.
func (s *Service) call(ctx context.Context, e *Export) (*Export, error) {
	now := s.now()
	deadline := e.CreatedAt.Add(s.cfg.GiveUp)
	type result struct {
		i   int
		err error
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	for i, c := range e.Connectors {
		if c.settled() || c.NextAt.After(now) {
			continue
		}
		if !now.Before(deadline) {
			mu.Lock()
			results = append(results, result{i, errGaveUp})
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			err := s.callOne(ctx, e, c.Source, deadline)
			outcome := "answered"
			if err != nil {
				outcome = "failed"
			}
			s.m.attempts.WithLabelValues(outcome).Inc()
			mu.Lock()
			results = append(results, result{i, err})
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(results) == 0 {
		return e, nil
	}
	return s.edit(ctx, e.ID, func(_ context.Context, x *Export) error {
		for _, r := range results {
			c := &x.Connectors[r.i]
			if r.err != errGaveUp {
				c.Attempts++
			}
			if c.settled() {
				continue // the part arrived meanwhile
			}
			switch {
			case r.err == errGaveUp:
				c.State, c.Error = Absent, fmt.Sprintf("no part arrived within %s", s.cfg.GiveUp)
				x.Progress.Done++
			case r.err != nil:
				// The holder sees the export: say how the source failed, never its address.
				s.cfg.Logger.Warn("takeout: source failed", "export", x.ID, "source", c.Source, "attempt", c.Attempts, "err", r.err)
				c.Error, c.NextAt = "the source could not be reached", now.Add(s.backoff(c.Attempts))
				if status, ok := r.err.(answered); ok {
					c.Error = "the source answered " + string(status)
				}
			default:
				c.State, c.Error, c.NextAt = Called, "", now.Add(s.cfg.Recall)
			}
			if c.NextAt.After(deadline) {
				c.NextAt = deadline // then it is given up
			}
		}
		return nil
	})
}

var errGaveUp = fmt.Errorf("gave up")

// callOne posts the source its request, with a new upload token.
func (s *Service) callOne(ctx context.Context, e *Export, name string, deadline time.Time) error {
	src, err := s.d.Store.GetSource(ctx, name)
	if errs.CodeOf(err) == errs.NotFound {
		return errGaveUp // deleted meanwhile: nobody will send it
	}
	if err != nil {
		return err
	}
	var raw [32]byte
	rand.Read(raw[:])
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := s.d.Tx.Write(ctx, func(ctx context.Context) error {
		return s.d.Store.PutUpload(ctx, &Upload{TokenHash: tokenHash(token), Export: e.ID, Source: name, ExpiresAt: deadline})
	}); err != nil {
		return err
	}
	body, err := json.Marshal(Request{Type: "steward.export.requested", Export: e.ID, Account: e.Account,
		UploadURL: strings.TrimSuffix(s.cfg.BaseURL, "/") + "/v1/export-uploads/" + token, MaxBytes: s.cfg.MaxPart,
		ExpiresAt: deadline, SHA256Header: SHA256Header})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", src.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Steward-Signature", s.cfg.Sign(src.Secret, s.now(), body))
	resp, err := s.cfg.Reach.Client(30 * time.Second).Do(req)
	if err != nil {
		return fmt.Errorf("request failed: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return answered(resp.Status)
	}
	return nil
}

// answered is a source's answer other than 2xx: its status line.
type answered string

func (a answered) Error() string { return "answered " + string(a) }

func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// edit reads the export, applies f and stores it, again from a fresh read when another
// writer (an upload, a builder) changed it meanwhile.
func (s *Service) edit(ctx context.Context, id string, f func(ctx context.Context, e *Export) error) (*Export, error) {
	for attempt := 0; ; attempt++ {
		var out *Export
		err := s.d.Tx.Write(ctx, func(ctx context.Context) error {
			e, err := s.d.Store.GetExport(ctx, id)
			if err != nil {
				return err
			}
			if err := f(ctx, e); err != nil {
				return err
			}
			e.Version++
			e.UpdatedAt = s.now()
			out = e
			return s.d.Store.UpdateExport(ctx, e)
		})
		if errs.CodeOf(err) != errs.Conflict || attempt == 4 {
			return out, err
		}
	}
}

// Receive stores a source's part, sent to the upload URL of token: exactly length
// bytes (the request's Content-Length, at most MaxPart) whose hex SHA-256 is sum,
// streamed to disk. The token works once. Returns errs.NotFound for a token that is not
// (or no longer) one, errs.Invalid naming Content-Length or the SHA-256 header when the
// body is not what they say, errs.TooLarge over the limit.
func (s *Service) Receive(ctx context.Context, token string, length int64, sum string, body io.Reader) (*Connector, error) {
	u, err := s.d.Store.GetUpload(ctx, tokenHash(token))
	if err != nil {
		return nil, err
	}
	if !s.now().Before(u.ExpiresAt) {
		return nil, errs.E(errs.NotFound, "this upload URL expired at %s", u.ExpiresAt.Format(time.RFC3339))
	}
	var fs errs.Fields
	if length < 0 {
		fs.Add("Content-Length", "is required: a source's part has a known length")
	}
	if b, err := hex.DecodeString(sum); err != nil || len(b) != sha256.Size {
		fs.Add(SHA256Header, "must be the part's SHA-256 in hex (64 digits)")
	}
	if err := fs.Err(); err != nil {
		return nil, err
	}
	if length > s.cfg.MaxPart {
		return nil, errs.E(errs.TooLarge, "a part may be at most %d bytes", s.cfg.MaxPart)
	}
	dir := s.partsDir(u.Export)
	tmp, err := os.CreateTemp(dir, "upload-*")
	if err != nil {
		return nil, errs.E(errs.NotFound, "export %s is not awaiting parts on this server", u.Export)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(readErrors{body}, length+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	got := hex.EncodeToString(h.Sum(nil))
	switch {
	case n != length:
		return nil, errs.Field("Content-Length", "said %d bytes; the body had %d", length, n)
	case got != strings.ToLower(sum):
		return nil, errs.Field(SHA256Header, "is %s; the body's SHA-256 is %s", sum, got)
	}
	if err := os.Rename(tmp.Name(), sourceFile(dir, u.Source, got)); err != nil {
		return nil, err
	}
	var out Connector
	_, err = s.edit(ctx, u.Export, func(ctx context.Context, e *Export) error {
		i := e.connector(u.Source)
		if e.State != Collecting || i < 0 || e.Connectors[i].settled() {
			return errs.E(errs.Conflict, "export %s takes no part from %s now", e.ID, u.Source)
		}
		c := &e.Connectors[i]
		c.State, c.Size, c.SHA256, c.Error = Received, n, got, ""
		out = *c
		e.Progress.Done++
		e.LeaseUntil = s.now() // the builder looks at it at once
		if err := s.d.Store.DeleteUploads(ctx, e.ID, u.Source); err != nil {
			return err
		}
		return s.d.Audit.Record(ctx, audit.Change{Action: ActionPartReceived, Subject: e.Account, Value: struct {
			Export string `json:"export"`
			Source string `json:"source"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		}{e.ID, u.Source, n, got}})
	})
	return &out, err
}

// readErrors marks a failure to read an upload's body as the sender's (errs.Invalid),
// unless it carries a code already (a timeout): a failure to write it is the server's.
type readErrors struct{ r io.Reader }

func (r readErrors) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && errs.CodeOf(err) == errs.Internal {
		err = errs.E(errs.Invalid, "cannot read the body: %v", err)
	}
	return n, err
}

func (e *Export) connector(source string) int {
	for i, c := range e.Connectors {
		if c.Source == source {
			return i
		}
	}
	return -1
}
