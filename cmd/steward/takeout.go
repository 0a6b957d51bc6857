package main

import (
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/takeout"
)

// takeoutFlags are serve's settings of data exports.
type takeoutFlags struct {
	ttl, sourceWait time.Duration
	maxPart         int64
	publicURL       string
}

func addTakeoutFlags(cmd *cobra.Command, f *takeoutFlags) {
	cmd.Flags().DurationVar(&f.ttl, "export-ttl", takeout.DefaultTTL, "how long a finished data export's archive downloads before it is deleted")
	cmd.Flags().DurationVar(&f.sourceWait, "export-source-wait", 24*time.Hour, "how long an export waits for each export source's part, retrying, before listing it missing")
	cmd.Flags().Int64Var(&f.maxPart, "export-max-part", takeout.DefaultMaxPart, "the largest part, in bytes, an export source may upload")
	cmd.Flags().StringVar(&f.publicURL, "public-url", "", "this server's URL as export sources reach it, for their upload URLs (default http:// and --addr)")
}

// config checks the flags and returns the takeout settings, archives kept in
// <data dir>/exports.
func (f takeoutFlags) config(dataDir, addr string) (takeout.Config, error) {
	var bad errs.Fields
	if f.ttl <= 0 {
		bad.Add("export-ttl", "must be a positive duration such as 168h")
	}
	if f.sourceWait <= 0 {
		bad.Add("export-source-wait", "must be a positive duration such as 24h")
	}
	if f.maxPart <= 0 {
		bad.Add("export-max-part", "must be a positive number of bytes")
	}
	base := f.publicURL
	if base == "" {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			bad.Add("addr", "must be host:port")
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	return takeout.Config{Dir: filepath.Join(dataDir, "exports"), TTL: f.ttl, GiveUp: f.sourceWait, MaxPart: f.maxPart, BaseURL: base}, bad.Err()
}
