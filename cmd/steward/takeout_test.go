package main

import (
	"strings"
	"testing"
)

func TestServeRefusesBadExportSettings(t *testing.T) {
	_, err := stewardErr(t, "serve", "--data-dir", t.TempDir(), "--export-ttl", "0s", "--export-source-wait", "-1h", "--export-max-part", "0")
	for _, flag := range []string{"export-ttl", "export-source-wait", "export-max-part"} {
		if err == nil || !strings.Contains(err.Error(), flag) {
			t.Fatalf("serve with bad export settings: %v, want %s named", err, flag)
		}
	}
}

func TestTakeoutPublicURL(t *testing.T) {
	for addr, want := range map[string]string{":8080": "http://127.0.0.1:8080", "10.0.0.5:9000": "http://10.0.0.5:9000"} {
		c, err := takeoutFlags{ttl: 1, sourceWait: 1, maxPart: 1}.config("d", addr)
		if err != nil || c.BaseURL != want || c.Dir != "d/exports" {
			t.Errorf("%s: %+v, %v", addr, c, err)
		}
	}
	if c, _ := (takeoutFlags{ttl: 1, sourceWait: 1, maxPart: 1, publicURL: "https://steward.example"}).config("d", ":1"); c.BaseURL != "https://steward.example" {
		t.Errorf("--public-url ignored: %s", c.BaseURL)
	}
}
