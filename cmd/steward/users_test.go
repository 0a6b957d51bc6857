package main

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

// users create prints a one-time set-up link last, and names every bad flag.
func TestUsersCreate(t *testing.T) {
	db := dbArgs(t, storetest.Kinds[0])
	with := func(args ...string) []string { return append(args, db...) }
	link := lastLine(steward(t, with("users", "create", "--email", "rita@example.com", "--role", "reviewer", "--url", "https://steward.example/")...))
	if !strings.HasPrefix(link, "https://steward.example/console/setup?token=sts_") {
		t.Fatalf("users create printed %q last, want a set-up link", link)
	}
	if _, err := stewardErr(t, with("users", "create", "--email", "rita@example.com", "--role", "reviewer")...); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("the same email twice: %v", err)
	}
	_, err := stewardErr(t, with("users", "create", "--email", "nope", "--role", "boss")...)
	if err == nil || !strings.Contains(err.Error(), "email") || !strings.Contains(err.Error(), "role") {
		t.Fatalf("a bad email and role: %v, want both named", err)
	}
}
