package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/client"
	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/auth"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/principal"
)

// demoStaff are the demo's members of staff: one key per role, each with a team.
var demoStaff = []struct {
	Role       principal.Role
	Name, Team string
}{
	{principal.Admin, "ada", "platform-ops"},
	{principal.Service, "shop-backend", "platform"},
	{principal.Reviewer, "rita", "trust-safety"},
	{principal.Agent, "amy", "cs-hangzhou"},
	{principal.Compliance, "carla", "legal"},
	{principal.Security, "sam", "fraud"},
	{principal.Auditor, "otto", "internal-audit"},
}

// demoScenario is what loadDemo made, for printing and for code that builds on it (a
// console sign-in per role, a portal link).
type demoScenario struct {
	URL  string
	Keys map[principal.Role]string // the secret of each role's key
	// Banned is a banned account whose wallet is frozen under a legal order and whose
	// personal data staff read and revealed; BannedToken is its user token.
	Banned, BannedToken string
	Sweep               string   // the border sweep's bulk action
	Travellers          []string // honest travellers the sweep caught, appealed and released
	OpenAppeals         int      // appeals waiting for a reviewer
	Hold                string   // the legal order's hold on Banned's wallet
	BrigadeCase         string   // the case a brigade of new accounts opened against Innocent
	Innocent            string
}

// demoPopulation is how many accounts the demo's population has.
const demoPopulation = 2000

// demoKeys makes one key per role of demoStaff through the keyring.
func demoKeys(ctx context.Context, ring *auth.Keyring) (map[principal.Role]string, error) {
	keys := map[principal.Role]string{}
	for _, s := range demoStaff {
		secret, _, err := ring.CreateKey(ctx, auth.KeySpec{Role: s.Role, Name: s.Name, Team: s.Team})
		if err != nil {
			return nil, err
		}
		keys[s.Role] = secret
	}
	return keys, nil
}

// loadDemo loads the demo's scenario through the API at url, as a platform and its staff
// would, with keys (see demoKeys); the server's workers (bulk runner, re-screening)
// must be running. It waits for the sweep to finish and re-screening to release the
// travellers who appealed, up to a few minutes. progress hears each step.
func loadDemo(ctx context.Context, url string, keys map[principal.Role]string, progress func(string)) (*demoScenario, error) {
	d := &demoLoader{ctx: ctx, url: url, keys: keys, sc: &demoScenario{URL: url, Keys: keys}}
	steps := []struct {
		say string
		do  func() error
	}{
		{"a population of accounts, one region a border region", d.population},
		{"personal data in the vault, read masked and revealed for a purpose", d.vault},
		{"a border sweep, with honest travellers among its targets", d.sweep},
		{"appeals: the travellers' released by re-screening, others waiting for a reviewer", d.appeals},
		{"a banned account and its wallet frozen under a legal order", d.frozenWallet},
		{"reports, among them a suspected brigade", d.reports},
	}
	for _, s := range steps {
		progress(s.say)
		if err := s.do(); err != nil {
			return nil, fmt.Errorf("demo: %s: %w", s.say, err)
		}
	}
	return d.sc, nil
}

type demoLoader struct {
	ctx  context.Context
	url  string
	keys map[principal.Role]string
	sc   *demoScenario

	pop     []*accounts.Account
	targets []*accounts.Account // the sweep's, as the loader counts them
}

// call sends a JSON request as role (or with a user token) and decodes the answer.
func (d *demoLoader) call(key, method, path string, body, out any) error {
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return err
		}
	}
	_, err := client.New(d.url, key, nil).Do(d.ctx, client.Request{Method: method, Path: path, Body: b}, out)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

func (d *demoLoader) as(role principal.Role, method, path string, body, out any) error {
	return d.call(d.keys[role], method, path, body, out)
}

// population imports a generated population with a border region; the business trips
// of some travellers are not recorded yet, so the sweep will catch them.
func (d *demoLoader) population() error {
	now := time.Now()
	d.pop = population.Generate(population.Config{N: demoPopulation, Seed: 18, Now: now})
	var nd bytes.Buffer
	line := func(a *accounts.Account) error {
		b, err := json.Marshal(map[string]any{"id": a.ID, "region": a.Region, "verified": a.Verified,
			"created_at": a.CreatedAt, "locale": a.Locale, "attributes": a.Attributes, "linked": a.Linked})
		nd.Write(b)
		nd.WriteByte('\n')
		return err
	}
	for i, a := range d.pop {
		if a.Attributes["trip_purpose"] == "business" && i%2 == 0 {
			a.Attributes["trip_purpose"] = "unrecorded"
		}
		if a.Region == "border" || a.Attributes["days_in_border"].(float64) >= 1 {
			d.targets = append(d.targets, a)
		}
		if err := line(a); err != nil {
			return err
		}
	}
	// The reporters: a ring of accounts two days old, and long-standing members.
	for i := range 40 {
		line(&accounts.Account{ID: fmt.Sprintf("ring-%02d", i), Region: "coast", CreatedAt: now.Add(-48 * time.Hour), Locale: "zh-CN",
			Attributes: map[string]any{"days_in_border": 0.0}})
	}
	for i := range 8 {
		line(&accounts.Account{ID: fmt.Sprintf("member-%d", i), Region: "capital", Verified: true, CreatedAt: now.AddDate(-6, 0, 0),
			Locale: "zh-CN", Attributes: map[string]any{"days_in_border": 0.0}})
	}
	return d.as(principal.Service, "POST", "/v1/accounts:import", nd.String(), nil)
}

// demoPII returns made-up personal data for the i-th account: valid by every check the
// vault makes (the ID number's check digit, the card's Luhn digit), true of nobody.
func demoPII(i int) map[string]any {
	surnames := []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄"}
	given := []string{"伟", "芳", "娜", "敏", "静", "磊", "洋", "艳"}
	districts := []string{"西湖区", "滨江区", "拱墅区", "上城区"}
	id := fmt.Sprintf("330106198%d%02d%02d%03d", i%10, 1+i%12, 1+i%28, 100+i%900)
	card := fmt.Sprintf("62220212%010d", 3000000000+i)
	return map[string]any{
		"name": surnames[i%len(surnames)] + given[(i/len(surnames))%len(given)], "phone": fmt.Sprintf("138%08d", 10000000+i*7919%90000000),
		"email": fmt.Sprintf("user%d@example.com", i), "id_number": id + idCheckDigit(id), "bank_card": card + luhnDigit(card),
		"address": "浙江省杭州市" + districts[i%len(districts)] + fmt.Sprintf("文三路%d号", 1+i%300), "plate": fmt.Sprintf("浙A%05d", 10000+i),
	}
}

// idCheckDigit returns the check character of a 17-digit Chinese resident ID number.
func idCheckDigit(id17 string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, c := range id17 {
		sum += int(c-'0') * weights[i]
	}
	return string("10X98765432"[sum%11])
}

// luhnDigit returns the digit that completes number under the Luhn check.
func luhnDigit(number string) string {
	sum := 0
	for i := len(number) - 1; i >= 0; i-- {
		n := int(number[i] - '0')
		if (len(number)-1-i)%2 == 0 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return fmt.Sprint((10 - sum%10) % 10)
}

// vault puts personal data for the first accounts (and for the one the demo bans),
// configures two purposes and makes a few masked reads, reveals and a lookup.
func (d *demoLoader) vault() error {
	spared := d.spared()
	d.sc.Banned = spared[0].ID
	for i := range 30 {
		if err := d.as(principal.Service, "PUT", "/v1/accounts/"+d.pop[i].ID+"/pii", demoPII(i), nil); err != nil {
			return err
		}
	}
	if i := slicesIndex(d.pop, d.sc.Banned); i >= 30 {
		if err := d.as(principal.Service, "PUT", "/v1/accounts/"+d.sc.Banned+"/pii", demoPII(i), nil); err != nil {
			return err
		}
	}
	purposes := map[string]any{
		"delivery":            map[string]any{"roles": []string{"agent"}, "fields": []string{"phone", "address"}, "requires_ticket": true, "per_actor_daily": 50},
		"fraud-investigation": map[string]any{"roles": []string{"security", "compliance"}, "fields": []string{"name", "phone", "id_number", "bank_card", "address", "plate"}, "requires_ticket": true, "per_actor_daily": 20},
	}
	for name, p := range purposes {
		if err := d.as(principal.Admin, "PUT", "/v1/pii/purposes/"+name, p, nil); err != nil {
			return err
		}
	}
	for i := range 5 {
		id := d.pop[i].ID
		if err := d.as(principal.Agent, "GET", "/v1/accounts/"+id+"/pii", nil, nil); err != nil {
			return err
		}
		if i < 3 {
			if err := d.as(principal.Agent, "POST", "/v1/accounts/"+id+"/pii/reveal",
				map[string]any{"fields": []string{"phone", "address"}, "purpose": "delivery", "ticket": fmt.Sprintf("CS-%d", 1040+i)}, nil); err != nil {
				return err
			}
		}
	}
	if err := d.as(principal.Security, "POST", "/v1/accounts/"+d.sc.Banned+"/pii/reveal",
		map[string]any{"fields": []string{"name", "id_number", "bank_card"}, "purpose": "fraud-investigation", "ticket": "SEC-77"}, nil); err != nil {
		return err
	}
	p := demoPII(slicesIndex(d.pop, d.sc.Banned))
	return d.as(principal.Security, "POST", "/v1/pii/lookup", map[string]any{"field": "phone", "value": p["phone"]}, nil)
}

// spared returns the accounts the sweep does not reach, in ID order.
func (d *demoLoader) spared() []*accounts.Account {
	hit := map[string]bool{}
	for _, t := range d.targets {
		hit[t.ID] = true
	}
	var out []*accounts.Account
	for _, a := range d.pop {
		if !hit[a.ID] {
			out = append(out, a)
		}
	}
	return out
}

func slicesIndex(pop []*accounts.Account, id string) int {
	for i, a := range pop {
		if a.ID == id {
			return i
		}
	}
	return -1
}

// sweep creates the border sweep, with a screen sparing recorded business trips, and
// runs it to the end.
func (d *demoLoader) sweep() error {
	var act struct{ ID, State string }
	if err := d.as(principal.Compliance, "POST", "/v1/bulk-actions", `{"name": "border fraud sweep",
		"criteria": "account.region == \"border\" || account.attributes.days_in_border >= 1.0",
		"screens": [{"name": "business_trip", "expr": "has(account.attributes.trip_purpose) && account.attributes.trip_purpose == \"business\""}],
		"sanction": {"kind": "suspend", "scope": {"services": ["chat", "pay"]}, "duration": "168h", "reason_code": "fraud_sweep"},
		"authority": {"kind": "automated", "rule": "border-2026"}, "qa_percent": 0}`, &act); err != nil {
		return err
	}
	d.sc.Sweep = act.ID
	if err := d.as(principal.Compliance, "POST", "/v1/bulk-actions/"+act.ID+"/execute", `{"canary_percent": 0}`, nil); err != nil {
		return err
	}
	return d.waitFor("the sweep to finish", func() (bool, error) {
		if err := d.as(principal.Compliance, "GET", "/v1/bulk-actions/"+act.ID, nil, &act); err != nil {
			return false, err
		}
		if act.State != "done" && act.State != "running" && act.State != "preparing" && act.State != "draft" {
			return false, fmt.Errorf("the sweep stopped %s", act.State)
		}
		return act.State == "done", nil
	})
}

// waitFor polls ok every 100 ms for up to three minutes.
func (d *demoLoader) waitFor(what string, ok func() (bool, error)) error {
	for deadline := time.Now().Add(3 * time.Minute); ; {
		done, err := ok()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up waiting for %s", what)
		}
		select {
		case <-d.ctx.Done():
			return d.ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// appeals: the platform records the trips of up to 12 travellers the sweep caught; they
// and 8 border residents appeal with their user tokens; re-screening releases the
// travellers, the residents wait for a reviewer.
func (d *demoLoader) appeals() error {
	var travellers, residents []*accounts.Account
	for _, a := range d.targets {
		switch {
		case a.Attributes["trip_purpose"] == "unrecorded" && len(travellers) < 12:
			travellers = append(travellers, a)
		case a.Region == "border" && len(residents) < 8:
			residents = append(residents, a)
		}
	}
	for _, a := range travellers {
		a.Attributes["trip_purpose"] = "business"
		body := map[string]any{"region": a.Region, "verified": a.Verified, "created_at": a.CreatedAt, "locale": a.Locale,
			"attributes": a.Attributes, "linked": a.Linked}
		if err := d.as(principal.Service, "PUT", "/v1/accounts/"+a.ID, body, nil); err != nil {
			return err
		}
		d.sc.Travellers = append(d.sc.Travellers, a.ID)
	}
	for _, a := range append(append([]*accounts.Account{}, travellers...), residents...) {
		token, err := d.userToken(a.ID)
		if err != nil {
			return err
		}
		var me struct{ Sanctions []struct{ ID string } }
		if err := d.call(token, "GET", "/v1/me", nil, &me); err != nil {
			return err
		}
		if len(me.Sanctions) == 0 {
			continue
		}
		statement := "I live here and have done nothing wrong."
		if a.Attributes["trip_purpose"] == "business" {
			statement = "I was only there for work: my company sent me."
		}
		if err := d.call(token, "POST", "/v1/me/appeals", map[string]any{"sanction": me.Sanctions[0].ID, "statement": statement,
			"evidence": []map[string]string{{"kind": "statement", "text": statement}}}, nil); err != nil {
			return err
		}
	}
	var act struct {
		Appeals struct{ Released, Open int }
	}
	return d.waitFor("re-screening to release the travellers", func() (bool, error) {
		err := d.as(principal.Compliance, "GET", "/v1/bulk-actions/"+d.sc.Sweep, nil, &act)
		d.sc.OpenAppeals = act.Appeals.Open
		return act.Appeals.Released >= len(travellers), err
	})
}

func (d *demoLoader) userToken(account string) (string, error) {
	var tok struct{ Token string }
	err := d.as(principal.Service, "POST", "/v1/accounts/"+account+"/user-tokens", `{"ttl": "24h"}`, &tok)
	return tok.Token, err
}

// frozenWallet pays a few users, bans one (a fraud ring's cash-out account) and freezes
// its wallet under a police order.
func (d *demoLoader) frozenWallet() error {
	spared := d.spared()
	for i, id := range []string{d.sc.Banned, spared[1].ID, spared[2].ID} {
		t := map[string]any{"id": fmt.Sprintf("demo-deposit-%d", i), "from": "platform:deposits", "to": "user:" + id,
			"amount": 128_000 + i*1000, "currency": "CNY"}
		if err := d.as(principal.Service, "POST", "/v1/transfers", t, nil); err != nil {
			return err
		}
	}
	if err := d.as(principal.Reviewer, "POST", "/v1/sanctions", map[string]any{"account": d.sc.Banned, "kind": "ban",
		"scope": map[string]any{"services": []string{"pay"}}, "reason_code": "fraud_ring_cash_out",
		"authority": map[string]any{"kind": "automated", "rule": "cash-out-ring"}, "source": "manual"}, nil); err != nil {
		return err
	}
	var h struct{ ID string }
	if err := d.as(principal.Compliance, "POST", "/v1/holds", map[string]any{"account": d.sc.Banned, "currency": "CNY", "amount": "all",
		"authority": map[string]any{"kind": "legal_order", "issuer": "Hangzhou PSB", "reference": "HZ-2026-0318", "document_sha256": strings.Repeat("5e", 32)},
		"reason":    "funds frozen by a police order pending investigation"}, &h); err != nil {
		return err
	}
	d.sc.Hold = h.ID
	var err error
	d.sc.BannedToken, err = d.userToken(d.sc.Banned)
	return err
}

// reports: 40 accounts two days old, on one network, report an innocent account within
// a minute (a suspected brigade); 8 long-standing members report a real abuser.
func (d *demoLoader) reports() error {
	spared := d.spared()
	d.sc.Innocent = spared[3].ID
	abuser := spared[4].ID
	for i := range 40 {
		var rc struct {
			Case    string
			Flagged bool
		}
		if err := d.as(principal.Service, "POST", "/v1/reports", map[string]any{"reporter": fmt.Sprintf("ring-%02d", i), "target": d.sc.Innocent,
			"category": "harassment", "text": "this account harasses people",
			"context": map[string]any{"device": fmt.Sprintf("android-7f3a:%d", i%3), "ip_prefix": "203.0.113.0/24"}}, &rc); err != nil {
			return err
		}
		if rc.Flagged {
			d.sc.BrigadeCase = rc.Case
		}
	}
	for i := range 8 {
		if err := d.as(principal.Service, "POST", "/v1/reports", map[string]any{"reporter": fmt.Sprintf("member-%d", i), "target": abuser,
			"category": "harassment", "text": "threatening messages in the group chat"}, nil); err != nil {
			return err
		}
	}
	return nil
}
