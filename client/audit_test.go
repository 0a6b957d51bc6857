package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stewardhq/steward/client"
)

func TestAuditReads(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, `{"title":"Unauthorized","status":401,"detail":"no key"}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v1/audit/verifier-key":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("steward+1234+AAAA\n"))
		case "/v1/audit/checkpoint":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("steward\n3\nroot=\n\n— sig\n"))
		case "/v1/audit/proof/consistency":
			if r.URL.Query().Get("from") == "1" {
				w.Write([]byte(`{"from":1,"to":3,"hashes":["AQI=","AwQ="]}`))
			} else {
				w.Write([]byte(`{"from":1,"to":3,"hashes":[]}`))
			}
		case "/big":
			w.Write([]byte(strings.Repeat("x", 11)))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL, "k", nil)

	if k, err := c.AuditVerifierKey(ctx); err != nil || k != "steward+1234+AAAA" {
		t.Errorf("AuditVerifierKey = %q, %v", k, err)
	}
	if b, err := c.AuditCheckpoint(ctx); err != nil || string(b) != "steward\n3\nroot=\n\n— sig\n" {
		t.Errorf("AuditCheckpoint = %q, %v: want the note as served", b, err)
	}
	hs, err := c.AuditConsistencyProof(ctx, 1, 3)
	if err != nil || len(hs) != 2 || string(hs[0]) != "\x01\x02" || string(hs[1]) != "\x03\x04" {
		t.Errorf("AuditConsistencyProof = %q, %v", hs, err)
	}
	if _, err := c.AuditConsistencyProof(ctx, 2, 3); err == nil || !strings.Contains(err.Error(), "asked for 2 to 3, got 1 to 3") {
		t.Errorf("a proof for other sizes: %v", err)
	}
	if _, _, err := c.Raw(ctx, client.Request{Method: "GET", Path: "/big", MaxBody: 10}); err == nil || !strings.Contains(err.Error(), "over 10 bytes") {
		t.Errorf("an answer over MaxBody: %v", err)
	}
	var e *client.Error
	if _, err := client.New(srv.URL, "", nil).AuditCheckpoint(ctx); !errors.As(err, &e) || e.Status != 401 || e.Detail != "no key" {
		t.Errorf("without a key: %v, want the problem as an *Error", err)
	}
}
