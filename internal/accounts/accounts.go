// Package accounts holds the subjects of everything Steward decides: a platform's
// accounts, with the attributes rules look at and the accounts linked to them on other
// services. IDs are the platform's own.
package accounts

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/stewardhq/steward/internal/errs"
)

// Account is one platform account.
type Account struct {
	ID         string         `json:"id"`
	Region     string         `json:"region"`
	Verified   bool           `json:"verified"`
	CreatedAt  time.Time      `json:"created_at"`
	Locale     string         `json:"locale"`
	Attributes map[string]any `json:"attributes"` // values are string, float64 or bool
	Linked     []Link         `json:"linked"`
	UpdatedAt  time.Time      `json:"updated_at"`
}

// Link names the same person's account on another service of the platform.
type Link struct {
	Service string `json:"service"`
	Account string `json:"account"`
}

// Locales Steward writes notices in.
var Locales = []string{"en", "zh-CN"}

// Limits on what one account may carry.
const (
	MaxAttributes     = 64
	MaxAttributeValue = 1024     // bytes of a string value
	MaxAttributesSize = 32 << 10 // bytes of every name and value together (a number as written by strconv, a boolean as true or false)
	MaxLinked         = 32
)

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$`)
	regionPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	namePattern    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	servicePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
)

// IDRule describes the allowed form of an account ID, for messages and documentation.
const IDRule = "1 to 128 characters: letters, digits and . _ : @ -, starting with a letter or digit"

// ValidID reports whether id has the allowed form of an account ID (see IDRule).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// CheckID returns an Invalid error naming field when id is not a valid account ID.
func CheckID(field, id string) error {
	if !ValidID(id) {
		return errs.Field(field, "must be %s", IDRule)
	}
	return nil
}

// Validate checks every field of a and reports all failures at once. UpdatedAt is
// ignored: Steward sets it.
func (a *Account) Validate() error {
	var fs errs.Fields
	if !ValidID(a.ID) {
		fs.Add("id", "must be %s", IDRule)
	}
	if !regionPattern.MatchString(a.Region) {
		fs.Add("region", "is required: 1 to 32 letters, digits, _ or -")
	}
	if a.CreatedAt.IsZero() {
		fs.Add("created_at", "is required (RFC 3339)")
	} else if a.CreatedAt.Year() < 1970 || a.CreatedAt.Year() > 2261 {
		// Stores keep times as int64 nanoseconds since 1970, which end in April 2262.
		fs.Add("created_at", "must be between 1970 and 2261")
	}
	if a.Locale != "en" && a.Locale != "zh-CN" {
		fs.Add("locale", "must be one of %q", Locales)
	}
	if len(a.Attributes) > MaxAttributes {
		fs.Add("attributes", "at most %d attributes", MaxAttributes)
	} else if n := attributesSize(a.Attributes); n > MaxAttributesSize {
		fs.Add("attributes", "at most %d bytes of names and values together, not %d", MaxAttributesSize, n)
	}
	for k, v := range a.Attributes {
		field := "attributes." + k
		if !namePattern.MatchString(k) {
			fs.Add(field, "name must be 1 to 64 lowercase letters, digits or _, starting with a letter")
			continue
		}
		switch v := v.(type) {
		case string:
			if len(v) > MaxAttributeValue {
				fs.Add(field, "at most %d bytes", MaxAttributeValue)
			}
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				fs.Add(field, "must be a finite number")
			}
		case bool:
		default:
			fs.Add(field, "must be a string, a number or a boolean")
		}
	}
	if len(a.Linked) > MaxLinked {
		fs.Add("linked", "at most %d linked accounts", MaxLinked)
	}
	for i, l := range a.Linked {
		if !servicePattern.MatchString(l.Service) {
			fs.Add(fmt.Sprintf("linked[%d].service", i), "must be 1 to 32 lowercase letters, digits, _ or -, starting with a letter")
		}
		if !ValidID(l.Account) {
			fs.Add(fmt.Sprintf("linked[%d].account", i), "must be %s", IDRule)
		}
	}
	return fs.Err()
}

// attributesSize counts the bytes of the names and values of attrs (see MaxAttributesSize).
func attributesSize(attrs map[string]any) int {
	var buf [32]byte
	n := 0
	for k, v := range attrs {
		n += len(k)
		switch v := v.(type) {
		case string:
			n += len(v)
		case float64:
			n += len(strconv.AppendFloat(buf[:0], v, 'g', -1, 64))
		case bool:
			n += len(strconv.FormatBool(v))
		}
	}
	return n
}

// Normalize fills defaults (empty maps and lists rather than null) and puts times in UTC.
func (a *Account) Normalize() {
	if a.Attributes == nil {
		a.Attributes = map[string]any{}
	}
	if a.Linked == nil {
		a.Linked = []Link{}
	}
	a.CreatedAt = a.CreatedAt.UTC()
}

// Filter selects a page of accounts.
type Filter struct {
	Region string  // only this region, when set
	After  string  // only IDs after this one (the page cursor)
	Limit  int     //
	Skip   Columns // optional columns not to read: they are left zero
}

// ScanOptions says how to scan the accounts.
type ScanOptions struct {
	Parts int // readers at once
	Page  int // accounts per page
	// Skip names optional columns not to read: they are left zero. (ID, region,
	// verified flag and creation time are always read.)
	Skip Columns
	// Reuse lets each reader reuse a page's memory (the accounts and their attribute
	// maps) for its next page: f must not keep a page, or anything in it, once it
	// returns.
	Reuse bool
}

// Columns are optional parts of an account, for a scan.
type Columns uint8

// The optional columns.
const (
	WithLocale Columns = 1 << iota
	WithAttributes
	WithLinked
	WithUpdatedAt
	AllColumns = WithLocale | WithAttributes | WithLinked | WithUpdatedAt
)

// Store keeps accounts. Put and PutMany must be called inside a write transaction
// (see package txn).
type Store interface {
	// Get returns the account. Returns errs.NotFound when there is none.
	Get(ctx context.Context, id string) (*Account, error)
	// GetMany returns the accounts of ids that exist, by ID.
	GetMany(ctx context.Context, ids []string) (map[string]*Account, error)
	// List returns up to f.Limit accounts in ID order.
	List(ctx context.Context, f Filter) ([]*Account, error)
	// Put creates or replaces a and reports whether it created it.
	Put(ctx context.Context, a *Account) (created bool, err error)
	// PutMany creates or replaces every account and returns how many it created.
	PutMany(ctx context.Context, as []*Account) (created int, err error)
	// Scan reads every account, a page at a time, in no particular order, with up to
	// o.Parts readers at once: f is called from several goroutines, with the number (0
	// to o.Parts-1) of the reader that read the page. It stops at f's first error and
	// returns it.
	Scan(ctx context.Context, o ScanOptions, f func(part int, page []*Account) error) error
	// Count returns how many accounts there are.
	Count(ctx context.Context) (int, error)
	// Locales returns the locale of each of the accounts ids that exists, by ID.
	Locales(ctx context.Context, ids []string) (map[string]string, error)
}
