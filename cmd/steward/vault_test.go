package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// piiCall makes one request of the vault's API and returns its status and body.
func piiCall(t *testing.T, method, url, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestVaultRotate: serve makes master.key (0600) in the data directory; steward vault
// rotate re-wraps every key while serve keeps reading and writing personal data.
func TestVaultRotate(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := dbArgs(t, kind)
			steward(t, append([]string{"migrate", "--create"}, db...)...)
			svc := lastLine(steward(t, append([]string{"keys", "create", "--role", "service", "--name", "backend"}, db...)...))
			agent := lastLine(steward(t, append([]string{"keys", "create", "--role", "agent", "--name", "alice"}, db...)...))
			p := serve(t, db...)
			fi, err := os.Stat(filepath.Join(db[1], "master.key"))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("master.key: %v %v", fi, err)
			}
			c := client.New(p.url, svc, nil)
			for _, id := range []string{"u1", "u2"} {
				if _, _, err := c.PutAccount(t.Context(), &client.Account{ID: id, Region: "zj", CreatedAt: fi.ModTime(), Locale: "zh-CN"}, ""); err != nil {
					t.Fatal(err)
				}
				if st, body := piiCall(t, "PUT", p.url+"/v1/accounts/"+id+"/pii", svc, `{"phone": "13812345678"}`); st != 200 {
					t.Fatalf("put pii: %d %s", st, body)
				}
			}
			out := steward(t, append([]string{"vault", "rotate"}, db...)...)
			if !strings.Contains(out, "rotated: 5 keys wrapped by master key") {
				t.Fatalf("rotate said %q", out)
			}
			for _, id := range []string{"u1", "u2"} {
				if st, body := piiCall(t, "GET", p.url+"/v1/accounts/"+id+"/pii", agent, ""); st != 200 || !strings.Contains(body, "138****5678") {
					t.Fatalf("read after rotation: %d %s", st, body)
				}
			}
			if st, body := piiCall(t, "PUT", p.url+"/v1/accounts/u1/pii", svc, `{"phone": "13912345678"}`); st != 200 {
				t.Fatalf("write after rotation: %d %s", st, body)
			}
			if st, body := piiCall(t, "GET", p.url+"/v1/accounts/u1/pii", agent, ""); st != 200 || !strings.Contains(body, "139****5678") {
				t.Fatalf("read of a write after rotation: %d %s", st, body)
			}
		})
	}
}

func TestMasterKeyPath(t *testing.T) {
	e := &env{getenv: func(k string) string {
		if k == "STEWARD_MASTER_KEY_FILE" {
			return "/keys/master.json"
		}
		return ""
	}}
	if got := e.masterKeyPath(dbFlags{dataDir: "data"}); got != "/keys/master.json" {
		t.Fatalf("with $STEWARD_MASTER_KEY_FILE: %s", got)
	}
	if got := (&env{getenv: noEnv}).masterKeyPath(dbFlags{dataDir: "data"}); got != filepath.Join("data", "master.key") {
		t.Fatalf("without: %s", got)
	}
}
