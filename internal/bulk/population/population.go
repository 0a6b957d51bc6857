// Package population generates realistic, reproducible populations of accounts for
// trying bulk actions: regions with different fraud rates, verified and unverified
// accounts of every age, linked accounts on other services, and travel history in the
// attributes. The same seed always gives the same accounts.
package population

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
)

// Region is one region of a population: its share of accounts and how many of them
// commit fraud.
type Region struct {
	Name      string
	Weight    float64 // share of accounts, relative to the other regions
	FraudRate float64 // share of its accounts that commit fraud
}

// Regions are the default regions: one border region with much fraud, where people
// from the others also travel.
var Regions = []Region{
	{"border", 0.10, 0.15},
	{"capital", 0.35, 0.01},
	{"coast", 0.30, 0.02},
	{"north", 0.25, 0.03},
}

// Config shapes a population.
type Config struct {
	N       int
	Seed    uint64
	Now     time.Time // accounts are created up to this time; default time.Now
	Regions []Region  // default Regions
	Prefix  string    // account IDs are Prefix + a zero-padded number; default "acct-"
}

// Services are the services accounts are linked on.
var Services = []string{"chat", "pay", "game", "mail"}

// Each calls f with every account of the population, in ID order, without holding them
// all in memory.
func Each(cfg Config, f func(a *accounts.Account) error) error {
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.Regions == nil {
		cfg.Regions = Regions
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "acct-"
	}
	total := 0.0
	for _, r := range cfg.Regions {
		total += r.Weight
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	for i := range cfg.N {
		a := one(rng, cfg, total, fmt.Sprintf("%s%09d", cfg.Prefix, i))
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

// Generate returns the whole population.
func Generate(cfg Config) []*accounts.Account {
	out := make([]*accounts.Account, 0, cfg.N)
	Each(cfg, func(a *accounts.Account) error { out = append(out, a); return nil })
	return out
}

func one(rng *rand.Rand, cfg Config, total float64, id string) *accounts.Account {
	x := rng.Float64() * total
	r := cfg.Regions[len(cfg.Regions)-1]
	for _, c := range cfg.Regions {
		if x < c.Weight {
			r = c
			break
		}
		x -= c.Weight
	}
	fraud := rng.Float64() < r.FraudRate
	verified := rng.Float64() < 0.7
	if fraud {
		verified = rng.Float64() < 0.2
	}
	// Ages: many young accounts, a long tail up to 15 years; fraud skews young.
	maxDays := 15 * 365.0
	if fraud {
		maxDays = 400
	}
	age := time.Duration(rng.ExpFloat64()*maxDays/4*24) * time.Hour
	age = min(age, time.Duration(maxDays*24)*time.Hour) + time.Hour
	locale := "zh-CN"
	if rng.Float64() < 0.2 {
		locale = "en"
	}
	attrs := map[string]any{}
	// Travel: border residents are there all year; others sometimes travel there, for
	// work or on holiday.
	days := 0.0
	switch {
	case r.Name == cfg.Regions[0].Name:
		days = 365
	case fraud || rng.Float64() < 0.08:
		days = float64(1 + rng.IntN(30))
		if rng.Float64() < 0.6 && !fraud {
			attrs["trip_purpose"] = "business"
		} else {
			attrs["trip_purpose"] = "leisure"
		}
	}
	attrs["days_in_border"] = days
	score := rng.Float64() * 0.4
	if fraud {
		score = 0.6 + rng.Float64()*0.4
	}
	attrs["fraud_score"] = float64(int(score*100)) / 100
	attrs["chargebacks"] = 0.0
	if fraud {
		attrs["chargebacks"] = float64(1 + rng.IntN(5))
	}
	var linked []accounts.Link
	for _, s := range Services {
		if rng.Float64() < 0.5 {
			linked = append(linked, accounts.Link{Service: s, Account: s + "-" + id})
		}
	}
	a := &accounts.Account{ID: id, Region: r.Name, Verified: verified, CreatedAt: cfg.Now.Add(-age).UTC().Truncate(time.Second),
		Locale: locale, Attributes: attrs, Linked: linked}
	a.Normalize()
	return a
}
