package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/stewardhq/steward/client"
)

// clientFlags are the flags of commands that call a running server.
type clientFlags struct {
	url string
	key string
}

func (e *env) addClientFlags(cmd *cobra.Command, f *clientFlags) {
	u := e.getenv("STEWARD_URL")
	if u == "" {
		u = "http://127.0.0.1:8080"
	}
	cmd.Flags().StringVar(&f.url, "url", u, "Steward server ($STEWARD_URL)")
	cmd.Flags().StringVar(&f.key, "key", e.getenv("STEWARD_KEY"), "API key ($STEWARD_KEY)")
}

func (f clientFlags) client() (*client.Client, error) {
	if f.key == "" {
		return nil, errors.New("an API key is required: --key or $STEWARD_KEY (steward keys create --role service)")
	}
	return client.New(f.url, f.key, nil), nil
}

func (e *env) accountsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "accounts", Short: "Work with accounts on a running server"}
	var cf clientFlags
	var chunk, parallel int
	imp := &cobra.Command{
		Use:   "import FILE.ndjson",
		Short: "Import accounts from an NDJSON file of any size ('-' for stdin)",
		Long: `Import accounts from an NDJSON file, one account per line as in PUT /v1/accounts/{id}
plus its "id". The file is sent in chunks; each chunk is all or nothing and carries an
Idempotency-Key derived from its content, so running the same import again after a failure
redoes nothing that already landed.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			if chunk < 1 || chunk > 100_000 {
				return fmt.Errorf("--chunk must be from 1 to 100000")
			}
			return e.importAccounts(cmd.Context(), c, args[0], chunk, max(1, parallel))
		},
	}
	e.addClientFlags(imp, &cf)
	imp.Flags().IntVar(&chunk, "chunk", 50_000, "accounts per request (at most 100000)")
	imp.Flags().IntVar(&parallel, "parallel", 2, "requests in flight")
	cmd.AddCommand(imp)
	return cmd
}

// importChunk is a run of lines sent in one request.
type importChunk struct {
	firstLine int // 1-based line number in the file of the chunk's first line
	lines     int
	body      []byte
}

// progress reports import progress: a bar on a terminal, a line per chunk otherwise, so
// logs of unattended runs stay readable.
type progress struct {
	bar     *progressbar.ProgressBar
	w       io.Writer
	total   int64
	started time.Time
	mu      sync.Mutex
	done    int64
	lines   int
}

func (e *env) newProgress(total int64) *progress {
	p := &progress{w: e.stderr, total: total, started: time.Now()}
	if f, ok := e.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionShowBytes(true), progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	return p
}

func (p *progress) add(bytes int64, lines int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += bytes
	p.lines += lines
	if p.bar != nil {
		p.bar.Add64(bytes)
		return
	}
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" (%.0f%%)", 100*float64(p.done)/float64(p.total))
	}
	fmt.Fprintf(p.w, "imported %d lines%s, %.0f/s\n", p.lines, pct, float64(p.lines)/time.Since(p.started).Seconds())
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

func (e *env) importAccounts(ctx context.Context, c *client.Client, path string, chunkLines, parallel int) error {
	var in io.Reader = e.stdin
	var size int64
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prog := e.newProgress(size)
	chunks := make(chan importChunk, parallel)
	var (
		mu       sync.Mutex
		total    client.ImportResult
		firstErr error
	)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for ch := range chunks {
				sum := sha256.Sum256(ch.body)
				res, err := c.ImportAccounts(ctx, ch.body, "import-"+hex.EncodeToString(sum[:16]))
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = chunkError(err, path, ch)
					cancel()
				}
				total.Created += res.Created
				total.Replaced += res.Replaced
				mu.Unlock()
				if err == nil {
					prog.add(int64(len(ch.body)), ch.lines)
				}
			}
		})
	}
	readErr := readChunks(ctx, in, chunkLines, chunks)
	close(chunks)
	wg.Wait()
	prog.finish()
	if firstErr != nil {
		return firstErr
	}
	if readErr != nil {
		return readErr
	}
	took := time.Since(prog.started)
	n := total.Created + total.Replaced
	fmt.Fprintf(e.stdout, "imported %d accounts (%d created, %d replaced) in %s, %.0f accounts/s\n",
		n, total.Created, total.Replaced, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return nil
}

// readChunks splits in into chunks of chunkLines non-blank lines and sends them.
func readChunks(ctx context.Context, in io.Reader, chunkLines int, out chan<- importChunk) error {
	r := bufio.NewReaderSize(in, 1<<20)
	cur := importChunk{firstLine: 1}
	line := 0
	send := func() error {
		if cur.lines == 0 {
			return nil
		}
		select {
		case out <- cur:
		case <-ctx.Done():
			return ctx.Err()
		}
		cur = importChunk{firstLine: line + 1}
		return nil
	}
	for {
		b, err := r.ReadBytes('\n')
		if len(b) > 0 {
			line++
			cur.body = append(cur.body, b...)
			if b[len(b)-1] != '\n' {
				cur.body = append(cur.body, '\n')
			}
			cur.lines++
			if cur.lines == chunkLines {
				if err := send(); err != nil {
					return nil // a sender failed; its error is reported
				}
			}
		}
		if err == io.EOF {
			if send() != nil {
				return nil
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var linePrefix = regexp.MustCompile(`^line (\d+): `)

// chunkError rewrites the server's line numbers, which count from the chunk's start, as
// line numbers of the file.
func chunkError(err error, path string, ch importChunk) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return fmt.Errorf("importing lines %d to %d of %s: %w", ch.firstLine, ch.firstLine+ch.lines-1, path, err)
	}
	for i, f := range ce.Errors {
		if m := linePrefix.FindStringSubmatch(f.Field); m != nil {
			n, _ := strconv.Atoi(m[1])
			ce.Errors[i].Field = fmt.Sprintf("line %d: %s", ch.firstLine+n-1, f.Field[len(m[0]):])
		}
	}
	return fmt.Errorf("importing lines %d to %d of %s (nothing of these lines was imported; earlier chunks were): %w",
		ch.firstLine, ch.firstLine+ch.lines-1, path, ce)
}
