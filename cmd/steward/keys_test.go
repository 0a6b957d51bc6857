package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// keys create --expires, list, rotate and revoke on the command line, against a
// running serve over the same database.
func TestKeysCommands(t *testing.T) {
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			db := dbArgs(t, kind)
			with := func(args ...string) []string { return append(args, db...) }
			if _, err := stewardErr(t, with("keys", "list")...); kind == "sqlite" && err == nil {
				t.Fatal("keys list before any database: want an error naming it")
			}
			if _, err := stewardErr(t, with("keys", "create", "--role", "service", "--expires", "ninety days")...); err == nil || !strings.Contains(err.Error(), "--expires") {
				t.Fatalf("a bad --expires: %v", err)
			}
			steward(t, with("keys", "create", "--role", "admin", "--name", "root")...)
			old := lastLine(steward(t, with("keys", "create", "--role", "service", "--name", "backend", "--team", "platform", "--expires", "90d")...))
			list := steward(t, with("keys", "list")...)
			lines := strings.Split(strings.TrimSpace(list), "\n")
			if len(lines) != 3 || !strings.Contains(lines[2], "root") {
				t.Fatalf("keys list:\n%s\nwant a header, backend then root", list)
			}
			if f := strings.Fields(lines[1]); len(f) != 8 || f[1] != "backend" || f[3] != "platform" || f[5] != "-" || f[6] == "-" || f[7] != "-" {
				t.Fatalf("keys list:\n%s\nwant a header, backend (team platform, expiring, neither used nor revoked) then root", list)
			}
			p := serve(t, db...)
			ctx := context.Background()
			if resp, err := http.Get(p.url + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /readyz on a started serve: %v, %v", resp, err)
			} else {
				resp.Body.Close()
			}
			if _, err := client.New(p.url, old, nil).GetAccount(ctx, "nobody"); unauthorized(err) {
				t.Fatalf("the key before rotation: %v", err)
			}

			rotated := lastLine(steward(t, with("keys", "rotate", "backend", "--grace", "0s")...))
			if !strings.HasPrefix(rotated, "stw_") || rotated == old {
				t.Fatalf("rotate printed %q last", rotated)
			}
			waitUnauthorized(t, p.url, old)
			if _, err := client.New(p.url, rotated, nil).GetAccount(ctx, "nobody"); unauthorized(err) {
				t.Fatalf("the rotated key: %v", err)
			}

			id := strings.Fields(strings.Split(strings.TrimSpace(steward(t, with("keys", "list")...)), "\n")[1])[0]
			if out := steward(t, with("keys", "revoke", id)...); !strings.Contains(out, "revoked key "+id) {
				t.Fatalf("revoke said %q", out)
			}
			waitUnauthorized(t, p.url, rotated)
			if _, err := stewardErr(t, with("keys", "revoke", id)...); err == nil {
				t.Fatal("a second revoke: want an error")
			}
			rootID := strings.Fields(lastLine(steward(t, with("keys", "list")...)))[0]
			if _, err := stewardErr(t, with("keys", "revoke", rootID)...); err == nil || !strings.Contains(err.Error(), "last admin key") {
				t.Fatalf("revoking the last admin key: %v", err)
			}
		})
	}
}

// waitUnauthorized polls the server until it refuses key, failing after a deadline.
func waitUnauthorized(t *testing.T, url, key string) {
	t.Helper()
	c := client.New(url, key, nil)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := c.GetAccount(context.Background(), "nobody"); unauthorized(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the server still takes the key after 20 s")
		}
	}
}

// unauthorized reports whether err is the server's 401.
func unauthorized(err error) bool {
	var e *client.Error
	return errors.As(err, &e) && e.Status == http.StatusUnauthorized
}

// serve refuses a retention horizon that is not positive, naming every such flag.
func TestServeRefusesBadRetention(t *testing.T) {
	_, err := stewardErr(t, "serve", "--data-dir", t.TempDir(), "--idempotency-ttl", "0s", "--notice-history", "-1h")
	if err == nil || !strings.Contains(err.Error(), "idempotency-ttl") || !strings.Contains(err.Error(), "notice-history") ||
		strings.Contains(err.Error(), "delivery-history") {
		t.Fatalf("serve with bad horizons: %v, want both bad flags named", err)
	}
}
