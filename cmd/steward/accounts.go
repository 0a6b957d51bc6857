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
	"slices"
	"strconv"
	"strings"
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

// withClient gives c the server flags (into cf, shared by a command's subcommands) and
// runs run with a client of that server.
func (e *env) withClient(c *cobra.Command, cf *clientFlags, run func(ctx context.Context, c *client.Client, args []string) error) *cobra.Command {
	e.addClientFlags(c, cf)
	c.RunE = func(cmd *cobra.Command, args []string) error {
		cl, err := cf.client()
		if err != nil {
			return err
		}
		return run(cmd.Context(), cl, args)
	}
	return c
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
	var run string
	imp := &cobra.Command{
		Use:   "import FILE.ndjson",
		Short: "Import accounts from an NDJSON file of any size ('-' for stdin)",
		Long: `Import accounts from an NDJSON file, one account per line as in PUT /v1/accounts/{id}
plus its "id". The file is sent in chunks; each chunk is all or nothing. Each run has a
key (--idempotency-key, or a new one) from which each chunk's Idempotency-Key is derived
with the chunk's content: when a run fails, it says which lines landed, and running it
again with the key it printed replays the chunks that landed instead of redoing them.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client()
			if err != nil {
				return err
			}
			if chunk < 1 || chunk > 100_000 {
				return fmt.Errorf("--chunk must be from 1 to 100000")
			}
			return e.importAccounts(cmd.Context(), c, args[0], chunk, max(1, parallel), writeKey(run))
		},
	}
	e.addClientFlags(imp, &cf)
	imp.Flags().IntVar(&chunk, "chunk", 50_000, "accounts per request (at most 100000)")
	imp.Flags().IntVar(&parallel, "parallel", 2, "requests in flight")
	imp.Flags().StringVar(&run, "idempotency-key", "", "the run's key: pass the key a failed run printed to resume it (default: a new key, so each run is new work)")
	cmd.AddCommand(imp)
	return cmd
}

// importChunk is a run of lines sent in one request.
type importChunk struct {
	firstLine int // 1-based line number in the file of the chunk's first line
	lines     int
	body      []byte
}

// lastLine is the file's line number of the chunk's last line.
func (ch importChunk) lastLine() int { return ch.firstLine + ch.lines - 1 }

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

// chunkOutcome is what became of one chunk.
type chunkOutcome struct {
	importChunk
	sent bool
	res  client.ImportResult
	err  error // nil when the chunk landed or was not sent
}

// landed reports whether the chunk's accounts are in the database.
func (o chunkOutcome) landed() bool { return o.sent && o.err == nil }

func (e *env) importAccounts(ctx context.Context, c *client.Client, path string, chunkLines, parallel int, run string) error {
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
	prog := e.newProgress(size)
	// After the first failure no chunk is sent, but the requests in flight are not
	// cancelled: each is let finish, so the report can say whether it landed.
	failed := make(chan struct{})
	var once sync.Once
	chunks := make(chan importChunk)
	var (
		mu       sync.Mutex
		outcomes []chunkOutcome
	)
	var wg sync.WaitGroup
	for range parallel {
		wg.Go(func() {
			for ch := range chunks {
				o := chunkOutcome{importChunk: ch}
				select {
				case <-failed:
				case <-ctx.Done():
				default:
					o.sent = true
					o.res, o.err = c.ImportAccounts(ctx, ch.body, chunkKey(run, ch.body))
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				switch {
				case o.err != nil:
					once.Do(func() { close(failed) })
				case o.sent:
					prog.add(int64(len(ch.body)), ch.lines)
				}
			}
		})
	}
	unread, readErr := readChunks(ctx, in, chunkLines, chunks, failed)
	close(chunks)
	wg.Wait()
	prog.finish()
	slices.SortFunc(outcomes, func(a, b chunkOutcome) int { return a.firstLine - b.firstLine })
	rep := importReport(outcomes)
	if rep.failed == 0 && rep.unsent == 0 && readErr == nil && unread == 0 {
		took := time.Since(prog.started)
		n := rep.total.Created + rep.total.Replaced + rep.replayed
		fmt.Fprintf(e.stdout, "imported %d accounts (%s) in %s, %.0f accounts/s\n",
			n, rep.counts(), took.Round(time.Millisecond), float64(n)/took.Seconds())
		return nil
	}
	return rep.err(path, run, unread, readErr)
}

// chunkKey is a chunk's Idempotency-Key: a run's chunk with the same lines always has the
// same key, so a rerun with the run's key and --chunk replays what landed (with another
// --chunk the chunks differ, and are imported again).
func chunkKey(run string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(run + "\n"))
	h.Write(body)
	return "import-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// readChunks splits in into chunks of chunkLines lines and sends them until in ends or
// stop is closed. It returns the file's line number of the first line it did not send
// (0 when it sent every line) and the error reading in.
func readChunks(ctx context.Context, in io.Reader, chunkLines int, out chan<- importChunk, stop <-chan struct{}) (int, error) {
	r := bufio.NewReaderSize(in, 1<<20)
	cur := importChunk{firstLine: 1}
	line := 0
	send := func() bool {
		if cur.lines == 0 {
			return true
		}
		select {
		case out <- cur:
		case <-stop:
			return false
		case <-ctx.Done():
			return false
		}
		cur = importChunk{firstLine: line + 1}
		return true
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
			if cur.lines == chunkLines && !send() {
				return cur.firstLine, nil
			}
		}
		if err == io.EOF {
			if !send() {
				return cur.firstLine, nil
			}
			return 0, nil
		}
		if err != nil {
			return line + 1, err
		}
	}
}

// report sums up the outcomes of an import's chunks, in file order.
type report struct {
	outcomes []chunkOutcome
	total    client.ImportResult // of the chunks that landed now
	replayed int                 // accounts of chunks an earlier run had landed
	failed   int                 // chunks sent that did not land
	unsent   int                 // chunks read but not sent
}

func importReport(outcomes []chunkOutcome) report {
	r := report{outcomes: outcomes}
	for _, o := range outcomes {
		switch {
		case !o.sent:
			r.unsent++
		case o.err != nil:
			r.failed++
		case o.res.Replayed:
			r.replayed += o.res.Created + o.res.Replaced
		default:
			r.total.Created += o.res.Created
			r.total.Replaced += o.res.Replaced
		}
	}
	return r
}

func (r report) counts() string {
	s := fmt.Sprintf("%d created, %d replaced", r.total.Created, r.total.Replaced)
	if r.replayed > 0 {
		s += fmt.Sprintf(", %d replayed: an earlier run with this key imported them", r.replayed)
	}
	return s
}

// err says, line by line of the file, what landed and what did not, and how to resume.
// unread is the first line not read (0 when all were).
func (r report) err(path, run string, unread int, readErr error) error {
	var b strings.Builder
	fmt.Fprintf(&b, "import of %s stopped", path)
	if readErr != nil {
		fmt.Fprintf(&b, ": reading line %d: %v", unread, readErr)
	}
	from := 0 // first line of the run of landed or unsent chunks being merged
	for i, o := range r.outcomes {
		if o.landed() || !o.sent {
			if from == 0 {
				from = o.firstLine
			}
			if i+1 < len(r.outcomes) && r.outcomes[i+1].firstLine == o.lastLine()+1 &&
				r.outcomes[i+1].landed() == o.landed() && r.outcomes[i+1].sent == o.sent {
				continue
			}
			what := "imported"
			if !o.sent {
				what = "not sent"
			}
			fmt.Fprintf(&b, "\nlines %d to %d: %s", from, o.lastLine(), what)
			from = 0
			continue
		}
		var ce *client.Error
		if errors.As(o.err, &ce) {
			fmt.Fprintf(&b, "\nlines %d to %d: refused, none of them imported: %v", o.firstLine, o.lastLine(), fileLines(ce, o.firstLine))
		} else {
			fmt.Fprintf(&b, "\nlines %d to %d: no answer, they may or may not have been imported: %v", o.firstLine, o.lastLine(), o.err)
		}
	}
	if unread > 0 {
		fmt.Fprintf(&b, "\nlines %d to the end: not sent", unread)
	}
	fmt.Fprintf(&b, "\nimported now: %s", r.counts())
	fmt.Fprintf(&b, "\nto resume, fix what was refused and run again with --idempotency-key %s (with the same --chunk, the chunks that landed are replayed, not redone)", run)
	return errors.New(b.String())
}

var lineNumber = regexp.MustCompile(`\bline (\d+)\b`)

// fileLines returns the server's problem with the line numbers it names, which count from
// the chunk's start, as line numbers of the file: in the detail, the fields and their
// messages ("duplicate of line 3").
func fileLines(ce *client.Error, firstLine int) *client.Error {
	shift := func(s string) string {
		return lineNumber.ReplaceAllStringFunc(s, func(m string) string {
			n, _ := strconv.Atoi(lineNumber.FindStringSubmatch(m)[1])
			return "line " + strconv.Itoa(firstLine+n-1)
		})
	}
	out := *ce
	out.Detail = shift(ce.Detail)
	out.Errors = make([]client.FieldError, len(ce.Errors))
	for i, f := range ce.Errors {
		out.Errors[i] = client.FieldError{Field: shift(f.Field), Message: shift(f.Message)}
	}
	return &out
}
