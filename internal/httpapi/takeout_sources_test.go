package httpapi

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/audit"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/ledger"
	"github.com/stewardhq/steward/internal/notify"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
	"github.com/stewardhq/steward/internal/takeout"
	"github.com/stewardhq/steward/internal/vault"
)

// fakeSource is an export source for tests: it checks Steward's signature, answers
// the first fails requests with a 500, and otherwise acknowledges at once and uploads
// its part (of size bytes, made by gen) after delay, from another goroutine.
type fakeSource struct {
	t       *testing.T
	secret  string
	fails   int
	delay   time.Duration
	size    int64
	gen     func() io.Reader
	calls   atomic.Int64
	badSigs atomic.Int64
	wg      sync.WaitGroup
	srv     *httptest.Server
	sum     string
	// silent makes it acknowledge without uploading; the upload URLs go to urls.
	silent bool
	urls   chan string
}

func newFakeSource(t *testing.T, secret string, fails int, delay time.Duration, size int64, gen func() io.Reader) *fakeSource {
	f := &fakeSource{t: t, secret: secret, fails: fails, delay: delay, size: size, gen: gen}
	h := sha256.New()
	io.Copy(h, gen())
	f.sum = hex.EncodeToString(h.Sum(nil))
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.srv.Close(); f.wg.Wait() })
	return f
}

func (f *fakeSource) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sig := r.Header.Get("Steward-Signature")
	ts, _, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",")
	sec, _ := strconv.ParseInt(ts, 10, 64)
	if sig == "" || notify.Sign(f.secret, time.Unix(sec, 0), body) != sig {
		f.badSigs.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if n := f.calls.Add(1); n <= int64(f.fails) {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	var req takeout.Request
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	if f.silent {
		f.urls <- req.UploadURL
		return
	}
	f.wg.Go(func() {
		time.Sleep(f.delay) // a slow source
		up, _ := http.NewRequest("PUT", req.UploadURL, f.gen())
		up.ContentLength = f.size
		up.Header.Set(req.SHA256Header, f.sum)
		resp, err := http.DefaultClient.Do(up)
		if err != nil {
			f.t.Errorf("upload: %v", err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			f.t.Errorf("upload: %s %s", resp.Status, b)
		}
	})
}

// sourcesAPI is the API served on a real listener (sources upload to it), with sources
// on loopback allowed and retries that come quickly.
func sourcesAPI(t *testing.T, db *sqlstore.DB, edit func(*takeout.Config)) (*testAPI, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	tc := takeout.Config{BaseURL: "http://" + srv.Listener.Addr().String(), Poll: 10 * time.Millisecond,
		Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	if edit != nil {
		edit(&tc)
	}
	api := newTestAPIConfig(t, db, nil, app.Config{Webhooks: notify.Reach{AllowPrivate: true}, Takeout: tc})
	srv.Config.Handler = api.handler
	srv.Start()
	t.Cleanup(srv.Close)
	return api, srv
}

func (a *testAPI) addSource(t *testing.T, name string, f *fakeSource) {
	t.Helper()
	wantStatus(t, a.do(t, request{method: "PUT", target: "/v1/export-sources/" + name, key: a.keys[principal.Admin],
		body: fmt.Sprintf(`{"url": %q, "secret": %q}`, f.srv.URL, f.secret)}), http.StatusCreated)
}

// runBuilder runs the takeout worker until the test ends.
func runBuilder(t *testing.T, api *testAPI) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); api.app.Takeout.Builder().Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitExport polls the export until it is done or failed, for up to a minute.
func waitExport(t *testing.T, api *testAPI, token, id string) takeout.Export {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		e := decode[takeout.Export](t, api.do(t, request{method: "GET", target: "/v1/me/exports/" + id, key: token}))
		if e.State == takeout.Done || e.State == takeout.Failed || time.Now().After(deadline) {
			return e
		}
	}
}

func pattern(n int64) func() io.Reader {
	return func() io.Reader { return io.LimitReader(repeat("steward-source-part "), n) }
}

// repeat is an endless reader of s.
type repeat string

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r[i%len(r)]
	}
	return len(p), nil
}

// TestExportSourcesHTTP: the admin routes of sources, their hostile input, and the
// upload URL's refusals.
func TestExportSourcesHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db) // loopback refused, as serve refuses it by default
		admin := api.keys[principal.Admin]
		p := wantProblem(t, api.do(t, request{method: "PUT", target: "/v1/export-sources/Bad%20Name", key: admin,
			body: `{"url": "ftp://x", "secret": "short"}`}), http.StatusBadRequest, "")
		if len(p.Errors) != 3 {
			t.Errorf("want name, url and secret named: %+v", p.Errors)
		}
		wantProblem(t, api.do(t, request{method: "PUT", target: "/v1/export-sources/photos", key: admin,
			body: `{"url": "http://127.0.0.1:9/x", "secret": "0123456789abcdef"}`}), http.StatusBadRequest, "url")
		wantProblem(t, api.do(t, request{method: "PUT", target: "/v1/export-sources/photos", key: admin,
			body: `{"url": "https://photos.example/x", "secret": "0123456789abcdef", "extra": 1}`}), http.StatusBadRequest, "extra")
		w := api.do(t, request{method: "PUT", target: "/v1/export-sources/photos", key: admin,
			body: `{"url": "https://93.184.215.14/x", "secret": "0123456789abcdef"}`})
		wantStatus(t, w, http.StatusCreated)
		if strings.Contains(w.Body.String(), "0123456789abcdef") {
			t.Fatalf("the secret is answered: %s", w.Body)
		}
		wantStatus(t, api.do(t, request{method: "PUT", target: "/v1/export-sources/photos", key: admin,
			body: `{"url": "https://93.184.215.14/y", "secret": "0123456789abcdef"}`}), http.StatusOK)
		if got := decode[takeout.Source](t, api.do(t, request{method: "GET", target: "/v1/export-sources/photos", key: admin})); got.URL != "https://93.184.215.14/y" {
			t.Fatalf("get %+v", got)
		}
		// The secret is sealed at rest.
		if stored, err := db.Takeout().GetSource(context.Background(), "photos"); err != nil || !strings.HasPrefix(stored.Secret, "vault:") {
			t.Fatalf("stored %+v, %v", stored, err)
		}
		if l := decode[sourceList](t, api.do(t, request{method: "GET", target: "/v1/export-sources", key: admin})); len(l.Sources) != 1 {
			t.Fatalf("list %+v", l)
		}
		wantStatus(t, api.do(t, request{method: "DELETE", target: "/v1/export-sources/photos", key: admin}), http.StatusOK)
		wantProblem(t, api.do(t, request{method: "GET", target: "/v1/export-sources/photos", key: admin}), http.StatusNotFound, "")

		// An upload URL that is not one is a 404, whatever it sends.
		h := http.Header{}
		h.Set(takeout.SHA256Header, strings.Repeat("0", 64))
		wantProblem(t, api.do(t, request{method: "PUT", target: "/v1/export-uploads/guess", body: "bytes", header: h}), http.StatusNotFound, "")
	})
}

// TestTakeoutDoneWhen is the scenario: a banned user's export completes with
// every part and both connector parts, one source failing twice first and one slow;
// the archive's checksums and its access log's proofs verify.
func TestTakeoutDoneWhen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api, _ := sourcesAPI(t, db, nil)
		a := api.app
		user := api.userToken(t, "u-1")
		api.userToken(t, "u-2")
		ban := api.banAccount(t, "u-1")
		svc := principal.NewContext(context.Background(), principal.Key("svc", principal.Service, "k"))
		if _, err := a.Vault.Put(svc, "u-1", vault.PII{Name: "欧阳明", Phone: "13912345678"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Ledger.Transfer(svc, &ledger.Transfer{ID: "d-1", From: ledger.Deposits, To: "user:u-1", Amount: 1000, Currency: "CNY"}); err != nil {
			t.Fatal(err)
		}
		api.fileAppeal(t, user, ban)
		wantStatus(t, api.do(t, request{method: "POST", target: "/v1/me/reports", key: user, body: `{"target": "u-2", "category": "spam"}`}), http.StatusAccepted)
		wantStatus(t, api.do(t, request{method: "GET", target: "/v1/accounts/u-1/pii", key: api.keys[principal.Agent]}), http.StatusOK)
		if _, _, err := api.seq.Integrate(context.Background()); err != nil {
			t.Fatal(err)
		}

		flaky := newFakeSource(t, "photos-secret-0123456789", 2, 0, 300<<10, pattern(300<<10))
		slow := newFakeSource(t, "mail-secret-0123456789ab", 0, 1500*time.Millisecond, 64<<10, pattern(64<<10))
		api.addSource(t, "photos", flaky)
		api.addSource(t, "mail", slow)
		runBuilder(t, api)

		w := api.do(t, request{method: "POST", target: "/v1/me/exports", key: user})
		wantStatus(t, w, http.StatusAccepted)
		e := waitExport(t, api, user, decode[takeout.Export](t, w).ID)
		if e.State != takeout.Done || len(e.Missing) != 0 || e.Progress.Done != e.Progress.Total || e.Progress.Total != 9 {
			t.Fatalf("export %+v", e)
		}
		if c := e.Connectors; len(c) != 2 || c[0].Attempts+c[1].Attempts != 4 || strings.Contains(fmt.Sprint(c), "127.0.0.1") {
			t.Errorf("connectors %+v: want 3 attempts and 1, and no source's address shown", c)
		}
		if flaky.calls.Load() != 3 || slow.calls.Load() != 1 || flaky.badSigs.Load()+slow.badSigs.Load() != 0 {
			t.Errorf("calls: flaky %d, slow %d; bad signatures %d", flaky.calls.Load(), slow.calls.Load(), flaky.badSigs.Load()+slow.badSigs.Load())
		}
		metrics := api.do(t, request{method: "GET", target: "/metrics"}).Body.String()
		for _, want := range []string{`steward_takeout_exports_total{outcome="done"} 1`, `steward_takeout_source_calls_total{result="failed"} 2`,
			`steward_takeout_source_calls_total{result="answered"} 2`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		w = api.do(t, request{method: "GET", target: "/v1/me/exports/" + e.ID + "/archive", key: user})
		wantStatus(t, w, http.StatusOK)
		files, m := verifyArchive(t, w.Body.Bytes())
		for _, want := range []string{"account.json", "sanctions.json", "appeals.json", "reports.json", "wallet.json",
			"personal_data.json", "access_log.json", "index.html", "sources/photos", "sources/mail"} {
			if _, ok := files[want]; !ok {
				t.Errorf("no %s in the archive", want)
			}
		}
		if len(m.Missing) != 0 {
			t.Errorf("missing %+v", m.Missing)
		}
		for name, f := range map[string]*fakeSource{"photos": flaky, "mail": slow} {
			sum := sha256.Sum256(files["sources/"+name])
			if hex.EncodeToString(sum[:]) != f.sum {
				t.Errorf("sources/%s is not what the source sent", name)
			}
		}
		for part, want := range map[string]string{"sanctions.json": ban, "appeals.json": ban, "reports.json": `"target":"u-2"`,
			"wallet.json": `"transfer":"d-1"`, "personal_data.json": "13912345678"} {
			if !bytes.Contains(files[part], []byte(want)) {
				t.Errorf("%s lacks %s", part, want)
			}
		}
		vkey, err := a.Audit.VerifierKey(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n := verifyAccessLog(t, files["access_log.json"], vkey); n < 2 {
			t.Errorf("the access log proves %d entries; want the put and the agent's read", n)
		}
	})
}

// verifyArchive checks every file of the zip against its manifest and returns them.
func verifyArchive(t *testing.T, b []byte) (map[string][]byte, *takeout.Manifest) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], err = io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	var m takeout.Manifest
	if err := json.Unmarshal(files["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != len(files)-1 {
		t.Errorf("manifest lists %d files, the archive holds %d besides it", len(m.Files), len(files)-1)
	}
	for _, f := range m.Files {
		sum := sha256.Sum256(files[f.Name])
		if int64(len(files[f.Name])) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s does not match the manifest's size and SHA-256", f.Name)
		}
	}
	return files, &m
}

// verifyAccessLog checks each entry of an access log part: its checkpoint's signature,
// and its leaf's inclusion proof against the checkpoint's root (transparency-dev/merkle).
// It returns how many entries it verified.
func verifyAccessLog(t *testing.T, b []byte, vkey string) int {
	t.Helper()
	var log struct {
		Subject     string           `json:"subject"`
		Entries     []audit.Item     `json:"entries"`
		Checkpoints map[int64]string `json:"checkpoints"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range log.Entries {
		if it.Subject != log.Subject || it.Proof == nil {
			t.Fatalf("entry %d: subject %s, proof %v", it.Index, it.Subject, it.Proof)
		}
		cp, err := audit.OpenCheckpoint([]byte(log.Checkpoints[it.Proof.Size]), v)
		if err != nil {
			t.Fatalf("entry %d: checkpoint of size %d: %v", it.Index, it.Proof.Size, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, uint64(it.Index), uint64(cp.Size), rfc6962.DefaultHasher.HashLeaf(it.Leaf),
			it.Proof.Hashes, cp.Root[:]); err != nil {
			t.Errorf("entry %d (%s): %v", it.Index, base64.StdEncoding.EncodeToString(it.Leaf)[:16], err)
		}
	}
	return len(log.Entries)
}

// TestUploads: an upload URL refuses a body whose length or SHA-256 is not what it
// says, or over the limit, works once, and a source that never sends its part is listed
// missing once the wait is over.
func TestUploads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api, srv := sourcesAPI(t, db, func(c *takeout.Config) { c.MaxPart = 1 << 10; c.GiveUp = 3 * time.Second })
		user := api.userToken(t, "u-1")
		silent := newFakeSource(t, "drive-secret-0123456789", 0, 0, 0, pattern(0))
		silent.silent, silent.urls = true, make(chan string, 10)
		api.addSource(t, "drive", silent)
		runBuilder(t, api)
		w := api.do(t, request{method: "POST", target: "/v1/me/exports", key: user})
		wantStatus(t, w, http.StatusAccepted)
		id := decode[takeout.Export](t, w).ID
		var url string
		select {
		case url = <-silent.urls:
		case <-time.After(time.Minute):
			t.Fatal("the source was never asked")
		}
		target := strings.TrimPrefix(url, srv.URL)
		good := "a part of three"
		sum := sha256.Sum256([]byte(good))
		hexSum := hex.EncodeToString(sum[:])
		put := func(body, sha string) *httptest.ResponseRecorder {
			h := http.Header{}
			h.Set(takeout.SHA256Header, sha)
			return api.do(t, request{method: "PUT", target: target, body: body, header: h})
		}
		wantProblem(t, put(good, ""), http.StatusBadRequest, takeout.SHA256Header)
		if p := wantProblem(t, put(good, strings.Repeat("0", 64)), http.StatusBadRequest, takeout.SHA256Header); !strings.Contains(p.Detail, hexSum) {
			t.Errorf("a wrong SHA-256 is not named with the body's: %s", p.Detail)
		}
		wantProblem(t, put(strings.Repeat("x", 2<<10), hexSum), http.StatusRequestEntityTooLarge, "")
		token := target[strings.LastIndex(target, "/")+1:]
		if _, err := api.app.Takeout.Receive(context.Background(), token, 100, hexSum, strings.NewReader(good)); !hasField(err, "Content-Length") {
			t.Fatalf("a body shorter than its Content-Length: %v", err)
		}
		if _, err := api.app.Takeout.Receive(context.Background(), token, -1, hexSum, strings.NewReader(good)); !hasField(err, "Content-Length") {
			t.Fatalf("no Content-Length: %v", err)
		}
		wantStatus(t, put(good, hexSum), http.StatusOK)
		wantProblem(t, put(good, hexSum), http.StatusNotFound, "") // once
		e := waitExport(t, api, user, id)
		if e.State != takeout.Done || len(e.Missing) != 0 || e.Connectors[0].State != takeout.Received {
			t.Fatalf("export %+v", e)
		}

		// The next export's part never comes: after the wait it is listed missing.
		w = api.do(t, request{method: "POST", target: "/v1/me/exports", key: user})
		wantStatus(t, w, http.StatusAccepted)
		e = waitExport(t, api, user, decode[takeout.Export](t, w).ID)
		if e.State != takeout.Done || len(e.Missing) != 1 || e.Missing[0].Part != "source:drive" {
			t.Fatalf("export without its source's part %+v", e)
		}
		w = api.do(t, request{method: "GET", target: "/v1/me/exports/" + e.ID + "/archive", key: user})
		wantStatus(t, w, http.StatusOK)
		if _, m := verifyArchive(t, w.Body.Bytes()); len(m.Missing) != 1 || !strings.Contains(m.Missing[0].Reason, "no part arrived") {
			t.Fatalf("manifest missing %+v", m.Missing)
		}
	})
}

func hasField(err error, name string) bool {
	for _, f := range errs.FieldsOf(err) {
		if f.Field == name {
			return true
		}
	}
	return false
}

// TestUploadMemory streams a 200 MB part, made as it is sent, through the upload URL
// and into the archive: the heap in use stays far under the part's size.
func TestUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 200 MB")
	}
	const size = 200 << 20
	db := storetest.Open(t, "sqlite")
	api, _ := sourcesAPI(t, db, nil)
	user := api.userToken(t, "u-1")
	big := newFakeSource(t, "big-secret-0123456789ab", 0, 0, size, pattern(size))
	api.addSource(t, "big", big)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	runBuilder(t, api)
	w := api.do(t, request{method: "POST", target: "/v1/me/exports", key: user})
	wantStatus(t, w, http.StatusAccepted)
	e := waitExport(t, api, user, decode[takeout.Export](t, w).ID)
	close(stop)
	<-sampled
	if e.State != takeout.Done || len(e.Missing) != 0 || e.Size < size {
		t.Fatalf("export %+v", e)
	}
	t.Logf("a %d MB part: peak heap in use %.1f MB", size>>20, float64(peak.Load())/(1<<20))
	if peak.Load() > 64<<20 {
		t.Errorf("peak heap in use %d bytes for a %d-byte part: not streamed", peak.Load(), size)
	}
}
