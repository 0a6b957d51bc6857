package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/app"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/bulk/population"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/problem"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

const bulkSweep = `{"name": "border sweep",
 "criteria": "account.region == \"border\" || account.attributes.days_in_border >= 1.0",
 "screens": [{"name": "business_trip", "expr": "has(account.attributes.trip_purpose) && account.attributes.trip_purpose == \"business\""},
             {"name": "clean_record", "expr": "account.attributes.fraud_score < 0.3"}],
 "sanction": {"kind": "suspend", "scope": {"services": ["pay"]}, "duration": "72h", "reason_code": "fraud_sweep"},
 "authority": {"kind": "legal_order", "issuer": "Border PSB", "reference": "2026-001"}}`

// runner executes bulk actions over db as a second process would.
func runner(t testing.TB, db *sqlstore.DB, batch int, duty ...float64) *bulk.Service {
	t.Helper()
	return storetest.NewApp(t, db, app.Config{Bulk: bulk.Config{Batch: batch, Duty: append(duty, 1)[0], Poll: 5 * time.Millisecond}}).Bulk
}

func (a *testAPI) bulkState(t *testing.T, id string) bulk.Status {
	t.Helper()
	w := a.do(t, request{method: "GET", target: "/v1/bulk-actions/" + id, key: a.keys[principal.Auditor]})
	if w.Code != 200 {
		t.Fatalf("GET: %d %s", w.Code, w.Body)
	}
	st := bulk.Status{Action: &bulk.Action{}}
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// runTo runs svc's runner until the API shows the action in state want.
func (a *testAPI) runTo(t *testing.T, svc *bulk.Service, id string, want bulk.State) bulk.Status {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { svc.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st := a.bulkState(t, id); st.State == want {
			return st
		}
	}
	t.Fatalf("action not %s after 30 s", want)
	return bulk.Status{}
}

// bulkAPI returns an API over db holding 300 generated accounts, and a compliance key.
func bulkAPI(t *testing.T, db *sqlstore.DB) (*testAPI, string) {
	t.Helper()
	api := newTestAPI(t, db)
	pop := population.Generate(population.Config{N: 300, Seed: 3})
	if _, err := api.app.Accounts.Import(context.Background(), pop, nil); err != nil {
		t.Fatal(err)
	}
	return api, api.keys[principal.Compliance]
}

func TestBulkOverHTTP(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api, key := bulkAPI(t, db)
		post := func(target, body, idem string) *http.Response {
			req := request{method: "POST", target: target, key: key, body: body}
			if idem != "" {
				req.header = http.Header{"Idempotency-Key": {idem}}
			}
			return api.do(t, req).Result()
		}
		decode := func(r *http.Response, v any) {
			t.Helper()
			defer r.Body.Close()
			if err := json.NewDecoder(r.Body).Decode(v); err != nil {
				t.Fatal(err)
			}
		}

		// A CEL error is a 400 naming the expression and the position.
		bad := strings.Replace(bulkSweep, `account.attributes.fraud_score < 0.3`, `account.attributes.fraud_score < `, 1)
		r := post("/v1/bulk-actions", bad, "")
		var p problem.Problem
		decode(r, &p)
		if r.StatusCode != 400 || len(p.Errors) != 1 || p.Errors[0].Field != "screens[clean_record]" || !strings.Contains(p.Errors[0].Message, "line 1, column 34") {
			t.Fatalf("bad CEL: %d %+v", r.StatusCode, p)
		}
		if w := api.do(t, request{method: "POST", target: "/v1/bulk-actions", key: api.keys[principal.Reviewer], body: bulkSweep}); w.Code != 403 {
			t.Fatalf("reviewer creates a bulk action: %d", w.Code)
		}

		// Create is idempotent.
		r = post("/v1/bulk-actions", bulkSweep, "create-1")
		var created bulk.Status
		decode(r, &created)
		r2 := post("/v1/bulk-actions", bulkSweep, "create-1")
		var again bulk.Status
		decode(r2, &again)
		if r.StatusCode != 201 || r2.StatusCode != 201 || again.ID != created.ID || r2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("create: %d %d %s %s", r.StatusCode, r2.StatusCode, created.ID, again.ID)
		}
		if n, _ := db.Count(context.Background(), "bulk_actions"); n != 1 {
			t.Fatalf("%d actions after a retried create", n)
		}
		id := created.ID

		r = post("/v1/bulk-actions/"+id+"/dry-run", "", "")
		var d bulk.DryRun
		decode(r, &d)
		if r.StatusCode != 200 || d.Accounts != 300 || d.ToSanction == 0 || d.Spared == 0 {
			t.Fatalf("dry run: %d %+v", r.StatusCode, d.Counts)
		}

		// Execute is idempotent too; a second execute without the key conflicts.
		for range 2 {
			if r := post("/v1/bulk-actions/"+id+"/execute", `{"canary_percent": 20}`, "exec-1"); r.StatusCode != 202 {
				t.Fatalf("execute: %d", r.StatusCode)
			}
		}
		if r := post("/v1/bulk-actions/"+id+"/execute", `{}`, ""); r.StatusCode != 409 {
			t.Fatalf("second execute: %d", r.StatusCode)
		}
		svc := runner(t, db, 4)
		st := api.runTo(t, svc, id, bulk.Canary)
		if st.Progress.Total != d.ToSanction || st.Progress.Done != st.Progress.CanaryCount || st.Progress.Done == 0 {
			t.Fatalf("canary: %+v", st.Progress)
		}
		if r := post("/v1/bulk-actions/"+id+"/resume", "", ""); r.StatusCode != 200 {
			t.Fatalf("resume: %d", r.StatusCode)
		}
		st = api.runTo(t, svc, id, bulk.Done)
		if st.Progress.Done != d.ToSanction {
			t.Fatalf("done: %+v", st.Progress)
		}
		if n, _ := db.Count(context.Background(), "sanctions"); n != d.ToSanction {
			t.Fatalf("%d sanctions, want %d", n, d.ToSanction)
		}
		if r := post("/v1/bulk-actions/"+id+"/revert", `{}`, ""); r.StatusCode != 400 {
			t.Fatalf("revert without a reason: %d", r.StatusCode)
		}
		if r := post("/v1/bulk-actions/"+id+"/revert", `{"reason": "travellers caught"}`, "rev-1"); r.StatusCode != 202 {
			t.Fatalf("revert: %d", r.StatusCode)
		}
		st = api.runTo(t, svc, id, bulk.Reverted)
		if st.Progress.Reverted != d.ToSanction {
			t.Fatalf("reverted: %+v", st.Progress)
		}
		if n, _ := db.Count(context.Background(), "notices"); n != 2*d.ToSanction {
			t.Fatalf("%d notices, want %d", n, 2*d.ToSanction)
		}

		// An auditor pages through what the action did to whom.
		var targets []bulk.TargetState
		seen := map[string]bool{}
		for cursor := ""; ; {
			w := api.do(t, request{method: "GET", target: "/v1/bulk-actions/" + id + "/targets?limit=7&cursor=" + cursor, key: api.keys[principal.Auditor]})
			var p struct {
				Targets []bulk.TargetState `json:"targets"`
				Next    string             `json:"next"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &p); w.Code != 200 || err != nil || len(p.Targets) > 7 {
				t.Fatalf("targets: %d %v %s", w.Code, err, w.Body)
			}
			targets = append(targets, p.Targets...)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		for i, tg := range targets {
			if tg.Ord != int64(i+1) || !tg.Sanctioned || !tg.Reverted || seen[tg.Account] || tg.Sanction == "" {
				t.Fatalf("target %d: %+v", i, tg)
			}
			seen[tg.Account] = true
		}
		if len(targets) != d.ToSanction {
			t.Fatalf("%d targets listed, want %d", len(targets), d.ToSanction)
		}
		if w := api.do(t, request{method: "GET", target: "/v1/bulk-actions/" + id + "/targets?cursor=bad", key: api.keys[principal.Auditor]}); w.Code != 400 {
			t.Fatalf("a bad cursor: %d", w.Code)
		}
	})
}

// Pause, resume and dry-run take no fields: a body other than none or {} is a 400
// naming what was sent. Execute after a dry run that met failing evaluations is a 409
// saying how many, unless the request allows them.
func TestBulkBodiesAndEvalErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api, key := bulkAPI(t, db)
		post := func(target, body string) (int, problem.Problem, []byte) {
			t.Helper()
			w := api.do(t, request{method: "POST", target: target, key: key, body: body})
			var p problem.Problem
			if w.Code >= 400 {
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
					t.Fatalf("%s: %d %s", target, w.Code, w.Body)
				}
			}
			return w.Code, p, w.Body.Bytes()
		}
		// The README's screen as it once read, without has().
		sweep := strings.Replace(bulkSweep, `has(account.attributes.trip_purpose) && `, ``, 1)
		code, _, body := post("/v1/bulk-actions", sweep)
		var a bulk.Status
		if err := json.Unmarshal(body, &a); code != 201 || err != nil {
			t.Fatalf("create: %d %s", code, body)
		}
		base := "/v1/bulk-actions/" + a.ID
		for _, verb := range []string{"dry-run", "pause", "resume"} {
			for body, field := range map[string]string{`{"canary_percent": 5}`: "canary_percent", `{"x":1}`: "x", `[]`: "body", `nonsense`: "body"} {
				code, p, _ := post(base+"/"+verb, body)
				if code != 400 || len(p.Errors) != 1 || p.Errors[0].Field != field {
					t.Errorf("%s with %s: %d %+v, want a 400 on %s", verb, body, code, p, field)
				}
			}
		}
		code, _, body = post(base+"/dry-run", `{}`)
		var d bulk.DryRun
		if err := json.Unmarshal(body, &d); code != 200 || err != nil || d.EvalErrors == 0 || d.FirstEvalError == nil ||
			d.FirstEvalError.Expr != "screens[business_trip]" || len(d.Samples.EvalErrors) == 0 {
			t.Fatalf("dry run: %d %s", code, body)
		}
		code, p, _ := post(base+"/execute", `{}`)
		if n := strconv.Itoa(d.EvalErrors); code != 409 || !strings.Contains(p.Detail, n+" of 300 accounts") || !strings.Contains(p.Detail, "allow_eval_errors") {
			t.Fatalf("execute: %d %+v, want a 409 counting %s failing accounts", code, p, n)
		}
		if code, _, body := post(base+"/execute", `{"allow_eval_errors": true}`); code != 202 {
			t.Fatalf("execute allowing errors: %d %s", code, body)
		}
	})
}
