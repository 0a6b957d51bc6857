package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// bodyAPI serves the API over loopback, each body allowed bodyTime to arrive whatever
// its size, and large bodies largeBodies at a time. It returns the server's URL and a
// key of each role.
func bodyAPI(t *testing.T, bodyTime time.Duration, largeBodies int) (url string, keys map[principal.Role]string) {
	t.Helper()
	db := storetest.Open(t, "sqlite")
	a := storetest.NewApp(t, db, app.Config{AuditKey: storetest.AuditKey(t)})
	h := NewHandler(Deps{App: a, Ready: db.Ready, Version: "test", BodyTime: bodyTime, BodyRate: 1 << 50, LargeBodies: largeBodies})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	keys = map[principal.Role]string{}
	for _, role := range []principal.Role{principal.Service, principal.Agent} {
		secret, _, err := a.Keys.Create(context.Background(), role, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		keys[role] = secret
	}
	return srv.URL, keys
}

// sendHead opens a connection to url and sends a request's head and the start of its
// body; reading the answer waits for at most 30 s.
func sendHead(t *testing.T, url, method, path, key string, length int, start string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	auth := ""
	if key != "" {
		auth = "Authorization: Bearer " + key + "\r\n"
	}
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: steward\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", method, path, auth, length, start)
	return conn, bufio.NewReader(conn)
}

// answer reads the answer on a connection and fails unless it is a problem of status.
func answer(t *testing.T, br *bufio.Reader, status int) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %s %s, want a %d problem", resp.StatusCode, resp.Header.Get("Content-Type"), body, status)
	}
	return resp
}

// A client that declares a body and sends one byte of it is cut off once the body's time
// is up: answered 408, its connection closed; the server serves others meanwhile.
func TestSlowBodyIsCutOff(t *testing.T) {
	url, keys := bodyAPI(t, 200*time.Millisecond, 0)
	for _, path := range []string{"/v1/accounts/acct-1", "/v1/check"} {
		method := map[string]string{"/v1/accounts/acct-1": "PUT", "/v1/check": "POST"}[path]
		conn, br := sendHead(t, url, method, path, keys[principal.Service], 1000, "{")
		answer(t, br, http.StatusRequestTimeout)
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("%s: the connection stays open after the timeout (%v)", path, err)
		}
		conn.Close()
	}
	resp, err := http.Get(url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

// A request that fails authentication or its role check is answered at once, without
// waiting for its body, however long the body may take.
func TestRefusedBeforeTheBody(t *testing.T) {
	url, keys := bodyAPI(t, time.Hour, 0)
	for _, tt := range []struct {
		name, key string
		status    int
	}{
		{"no key", "", http.StatusUnauthorized},
		{"unknown key", "sk_garbage", http.StatusUnauthorized},
		{"role not allowed", keys[principal.Agent], http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, br := sendHead(t, url, "PUT", "/v1/accounts/acct-1", tt.key, 1000, "{")
			answer(t, br, tt.status)
		})
	}
	t.Run("unknown route", func(t *testing.T) {
		_, br := sendHead(t, url, "POST", "/v1/nothing", keys[principal.Service], 1000, "{")
		answer(t, br, http.StatusNotFound)
	})
	t.Run("declared over the limit", func(t *testing.T) {
		_, br := sendHead(t, url, "PUT", "/v1/accounts/acct-1", keys[principal.Service], maxJSONBody+1, "{")
		answer(t, br, http.StatusRequestEntityTooLarge)
	})
}

// largeBodies reads the server's gauge of large bodies being read.
func largeBodiesNow(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "steward_http_large_bodies "); ok {
			return v
		}
	}
	t.Fatal("no steward_http_large_bodies in /metrics")
	return ""
}

// waitLargeBodies polls the gauge until it reads want, for up to 30 s.
func waitLargeBodies(t *testing.T, url, want string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); largeBodiesNow(t, url) != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("steward_http_large_bodies never read %s", want)
		}
	}
}

// Bodies over 1 MiB are read only so many at a time: past them a request is answered
// 429 with Retry-After, whether it declares its length or not, and once a slot is free
// again an import goes through.
func TestLargeBodiesAtOnce(t *testing.T) {
	url, keys := bodyAPI(t, time.Hour, 1)
	key := keys[principal.Service]
	holder, _ := sendHead(t, url, "POST", "/v1/accounts:import", key, 2<<20, "{")
	waitLargeBodies(t, url, "1")

	_, br := sendHead(t, url, "POST", "/v1/accounts:import", key, 2<<20, "{")
	resp := answer(t, br, http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// A body of unknown length is refused once it is past 1 MiB. It is sent no further
	// than that, so the answer is not lost to a reset of the connection, in small chunks
	// that the server reads as they come.
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST /v1/accounts:import HTTP/1.1\r\nHost: steward\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n", key)
	for data := ndjson("big-", 12_000, "north")[:largeBody+1]; data != ""; {
		chunk := data[:min(4096, len(data))]
		data = data[len(chunk):]
		fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk)
	}
	w.Flush()
	resp = answer(t, bufio.NewReader(conn), http.StatusTooManyRequests)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	holder.Close()
	waitLargeBodies(t, url, "0")
	req, _ := http.NewRequest("POST", url+"/v1/accounts:import", strings.NewReader(ndjson("big-", 12_000, "north"))) // 1.5 MB
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import once the slot is free: %d %s", resp.StatusCode, b)
	}
}
