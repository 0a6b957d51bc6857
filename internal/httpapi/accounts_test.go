package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/internal/accounts"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/sqlstore"
	"github.com/stewardhq/steward/internal/sqlstore/storetest"
)

func TestPutAccountCreatesThenReplaces(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		before := api.rows(t)

		start := time.Now()
		w := api.put(t, "acct-1", validBody)
		wantStatus(t, w, http.StatusCreated)
		first := decode[accounts.Account](t, w)
		if first.ID != "acct-1" || first.Region != "yn" || !first.Verified || first.Locale != "zh-CN" ||
			!first.CreatedAt.Equal(time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)) ||
			fmt.Sprint(first.Attributes) != "map[kyc:true risk:0.25 tier:gold]" ||
			len(first.Linked) != 1 || first.Linked[0] != (accounts.Link{Service: "game", Account: "g-1"}) {
			t.Fatalf("created account is not what was sent: %+v", first)
		}
		if first.UpdatedAt.Before(start.Add(-time.Second)) || first.UpdatedAt.After(time.Now().Add(time.Second)) {
			t.Fatalf("updated_at %v is not the time of the write", first.UpdatedAt)
		}
		// Every field of the answer is what GET returns.
		if got := api.get(t, "/v1/accounts/acct-1"); got.Body.String() != w.Body.String() {
			t.Fatalf("GET after create:\n got %s\nwant %s", got.Body, w.Body)
		}
		api.wantRows(t, rows{before.accounts + 1, before.audit + 1, 0})

		// A replace sets every field: attributes and links left out are emptied.
		w = api.put(t, "acct-1", with(map[string]any{"region": "gd", "verified": false, "locale": "en",
			"attributes": absent, "linked": absent, "created_at": "2022-01-01T10:00:00+08:00"}))
		wantStatus(t, w, http.StatusOK)
		second := decode[accounts.Account](t, w)
		if second.Region != "gd" || second.Verified || second.Locale != "en" || len(second.Attributes) != 0 ||
			len(second.Linked) != 0 || second.CreatedAt != time.Date(2022, 1, 1, 2, 0, 0, 0, time.UTC) {
			t.Fatalf("replaced account is not what was sent: %+v", second)
		}
		if !second.UpdatedAt.After(first.UpdatedAt) {
			t.Fatalf("updated_at did not advance: %v, then %v", first.UpdatedAt, second.UpdatedAt)
		}
		if got := api.get(t, "/v1/accounts/acct-1"); got.Body.String() != w.Body.String() {
			t.Fatalf("GET after replace:\n got %s\nwant %s", got.Body, w.Body)
		}
		api.wantRows(t, rows{before.accounts + 1, before.audit + 2, 0})

		// The body may repeat the path's ID.
		wantStatus(t, api.put(t, "acct-1", with(map[string]any{"id": "acct-1"})), http.StatusOK)
	})
}

// TestPutAccountTimes checks that created_at is stored to the nanosecond, in UTC, over
// the whole range the API accepts.
func TestPutAccountTimes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		tests := []struct{ sent, want string }{
			{"1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
			{"2261-12-31T23:59:59.999999999Z", "2261-12-31T23:59:59.999999999Z"},
			{"2024-05-01T08:00:00.123456789+08:00", "2024-05-01T00:00:00.123456789Z"},
			{"2024-05-01T08:00:00-00:30", "2024-05-01T08:30:00Z"},
		}
		for _, tt := range tests {
			t.Run(tt.sent, func(t *testing.T) {
				w := api.put(t, "acct-1", with(map[string]any{"created_at": tt.sent}))
				if w.Code != http.StatusCreated && w.Code != http.StatusOK {
					t.Fatalf("status %d: %s", w.Code, w.Body)
				}
				a := decode[struct {
					CreatedAt string `json:"created_at"`
				}](t, api.get(t, "/v1/accounts/acct-1"))
				if a.CreatedAt != tt.want {
					t.Fatalf("stored created_at %s, want %s", a.CreatedAt, tt.want)
				}
			})
		}
	})
}

func TestGetAccountAbsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		wantStatus(t, api.put(t, "acct-1", validBody), http.StatusCreated)
		p := wantProblem(t, api.get(t, "/v1/accounts/acct-2"), http.StatusNotFound, "")
		if !strings.Contains(p.Detail, "acct-2") {
			t.Errorf("detail %q does not name the account", p.Detail)
		}
		wantProblem(t, api.get(t, "/v1/accounts/bad%20id"), http.StatusBadRequest, "id")
		wantProblem(t, api.get(t, "/v1/nothing-here"), http.StatusNotFound, "")
	})
}

// listPage is one page of GET /v1/accounts as a client sees it.
type listPage struct {
	Accounts []accounts.Account `json:"accounts"`
	Next     *string            `json:"next"`
}

// walk lists every page of query with limit and returns the IDs in order and the
// number of pages.
func walk(tb testing.TB, api *testAPI, query url.Values, limit int) (ids []string, pages int) {
	tb.Helper()
	query.Set("limit", fmt.Sprint(limit))
	for {
		page := decode[listPage](tb, api.get(tb, "/v1/accounts?"+query.Encode()))
		pages++
		if len(page.Accounts) > limit {
			tb.Fatalf("page %d: %d accounts, over the limit %d", pages, len(page.Accounts), limit)
		}
		for _, a := range page.Accounts {
			ids = append(ids, a.ID)
			if r := query.Get("region"); r != "" && a.Region != r {
				tb.Fatalf("account %s of region %s in a page of region %s", a.ID, a.Region, r)
			}
		}
		if page.Next == nil {
			return ids, pages
		}
		next := *page.Next
		if next == "" || url.QueryEscape(next) != next || slices.Contains(ids, next) {
			tb.Fatalf("page %d: next %q is not an opaque, URL-safe cursor", pages, next)
		}
		if len(page.Accounts) != limit {
			tb.Fatalf("page %d has %d accounts and a next page; want %d", pages, len(page.Accounts), limit)
		}
		if pages > 1000 {
			tb.Fatal("pagination does not end")
		}
		query.Set("cursor", next)
	}
}

func TestListAccountsPagination(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		// 36 accounts, every third in "south"; imported out of ID order.
		var lines []string
		var all, north, south []string
		for i := range 36 {
			id, region := fmt.Sprintf("acct-%02d", (i*7)%36), "north"
			if (i*7)%36%3 == 0 {
				region = "south"
			}
			lines = append(lines, fmt.Sprintf(`{"id":%q,"region":%q,"created_at":"2020-01-01T00:00:00Z","locale":"en"}`, id, region))
		}
		wantStatus(t, api.importBody(t, strings.Join(lines, "\n")), http.StatusOK)
		for i := range 36 {
			id := fmt.Sprintf("acct-%02d", i)
			all = append(all, id)
			if i%3 == 0 {
				south = append(south, id)
			} else {
				north = append(north, id)
			}
		}

		tests := []struct {
			region    string
			limit     int
			want      []string
			wantPages int
		}{
			{"", 6, all, 6}, // an exact multiple: no empty last page
			{"", 5, all, 8},
			{"", 1000, all, 1},
			{"", 1, all, 36},
			{"north", 5, north, 5},
			{"south", 12, south, 1},
			{"south", 11, south, 2},
			{"west", 10, nil, 1},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("region=%s,limit=%d", tt.region, tt.limit), func(t *testing.T) {
				q := url.Values{}
				if tt.region != "" {
					q.Set("region", tt.region)
				}
				ids, pages := walk(t, api, q, tt.limit)
				if !slices.Equal(ids, tt.want) {
					t.Fatalf("walked\n %v\nwant (each once, in ID order)\n %v", ids, tt.want)
				}
				if pages != tt.wantPages {
					t.Fatalf("%d pages, want %d", pages, tt.wantPages)
				}
			})
		}

		t.Run("default limit", func(t *testing.T) {
			page := decode[listPage](t, api.get(t, "/v1/accounts"))
			if len(page.Accounts) != 36 || page.Next != nil {
				t.Fatalf("got %d accounts, next %v; want all 36 on one page", len(page.Accounts), page.Next)
			}
		})
		t.Run("new accounts behind the cursor are skipped, ahead are seen", func(t *testing.T) {
			page := decode[listPage](t, api.get(t, "/v1/accounts?limit=10"))
			wantStatus(t, api.put(t, "acct-00a", validBody), http.StatusCreated) // before the cursor
			wantStatus(t, api.put(t, "acct-99", validBody), http.StatusCreated)  // after it
			ids, _ := walk(t, api, url.Values{"cursor": {*page.Next}}, 100)
			if want := append(slices.Clone(all[10:]), "acct-99"); !slices.Equal(ids, want) {
				t.Fatalf("rest of the walk:\n %v\nwant\n %v", ids, want)
			}
		})
	})
}

func TestListAccountsBadQuery(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		tests := []struct {
			query, field string
		}{
			{"limit=0", "limit"},
			{"limit=1001", "limit"},
			{"limit=-1", "limit"},
			{"limit=ten", "limit"},
			{"limit=1.5", "limit"},
			{"limit=99999999999999999999", "limit"},
			{"cursor=%21%21%21", "cursor"},
			{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte("has space")), "cursor"},
			{"cursor=" + base64.URLEncoding.EncodeToString([]byte("acct-12")), "cursor"}, // padded: not ours
			{"cursor=" + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("a", 129))), "cursor"},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				wantProblem(t, api.get(t, "/v1/accounts?"+tt.query), http.StatusBadRequest, tt.field)
			})
		}
	})
}

func TestImportAccounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		before := api.rows(t)

		w := api.importBody(t, ndjson("acct-", 50, "north"))
		wantStatus(t, w, http.StatusOK)
		if got := decode[accounts.ImportResult](t, w); got != (accounts.ImportResult{Created: 50}) {
			t.Fatalf("first import: %+v, want 50 created", got)
		}
		api.wantRows(t, rows{before.accounts + 50, before.audit + 50, 0})

		// 20 known (acct-30…49) and 10 new (acct-50…59), with blank lines and CRLF ends,
		// imported by admin.
		body := strings.ReplaceAll(ndjson("acct-", 60, "south"), "\n", "\r\n\n")
		body = body[strings.Index(body, `{"id":"acct-30"`):]
		w = api.do(t, request{method: "POST", target: "/v1/accounts:import", key: api.keys[principal.Admin], body: body})
		wantStatus(t, w, http.StatusOK)
		if got := decode[accounts.ImportResult](t, w); got != (accounts.ImportResult{Created: 10, Replaced: 20}) {
			t.Fatalf("second import: %+v, want 10 created, 20 replaced", got)
		}
		api.wantRows(t, rows{before.accounts + 60, before.audit + 80, 0})
		for id, region := range map[string]string{"acct-29": "north", "acct-30": "south", "acct-59": "south"} {
			if a := decode[accounts.Account](t, api.get(t, "/v1/accounts/"+id)); a.Region != region {
				t.Errorf("%s: region %q, want %q", id, a.Region, region)
			}
		}
	})
}

// TestImportAllOrNothing imports many good lines and one bad one over accounts that
// exist: the answer names the bad line and field, and nothing changes.
func TestImportAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		wantStatus(t, api.importBody(t, ndjson("acct-", 100, "north")), http.StatusOK)
		before := api.rows(t)
		snapshot := api.get(t, "/v1/accounts?limit=1000").Body.String()

		const n, bad = 500, 317 // bad is a 1-based line number
		good := strings.Split(strings.TrimSuffix(ndjson("acct-", n, "south"), "\n"), "\n")
		tests := []struct {
			name  string
			line  string // replaces line bad
			field string
		}{
			{"bad locale", `{"id":"x","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"fr"}`, "locale"},
			{"bad region", `{"id":"x","region":"","created_at":"2020-01-01T00:00:00Z","locale":"en"}`, "region"},
			{"bad created_at", `{"id":"x","region":"r","created_at":"01/02/2020","locale":"en"}`, "created_at"},
			{"no created_at", `{"id":"x","region":"r","locale":"en"}`, "created_at"},
			{"no id", `{"region":"r","created_at":"2020-01-01T00:00:00Z","locale":"en"}`, "id"},
			{"bad id", `{"id":"-x","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"en"}`, "id"},
			{"duplicate id", `{"id":"acct-3","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"en"}`, "id"},
			{"malformed JSON", `{"id":"x","region":`, "body"},
			{"not an object", `["x"]`, "body"},
			{"two objects", `{"id":"x"} {"id":"y"}`, "body"},
			{"unknown field", `{"id":"x","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"en","colour":"red"}`, "colour"},
			{"wrong type", `{"id":"x","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"en","verified":"yes"}`, "verified"},
			{"object attribute", `{"id":"x","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"en","attributes":{"a":{}}}`, "attributes.a"},
			{"null attribute", `{"id":"x","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"en","attributes":{"a":null}}`, "attributes.a"},
			{"bad link", `{"id":"x","region":"r","created_at":"2020-01-01T00:00:00Z","locale":"en","linked":[{"service":"Game","account":"g"}]}`, "linked[0].service"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				lines := slices.Clone(good)
				lines[bad-1] = tt.line
				p := wantProblem(t, api.importBody(t, strings.Join(lines, "\n")), http.StatusBadRequest, fmt.Sprintf("line %d: %s", bad, tt.field))
				if len(p.Errors) != 1 {
					t.Errorf("one bad line, %d errors: %+v", len(p.Errors), p.Errors)
				}
				api.wantRows(t, before)
				if got := api.get(t, "/v1/accounts?limit=1000").Body.String(); got != snapshot {
					t.Fatal("accounts changed by a refused import")
				}
			})
		}

		// Line numbers count the lines of the body, blank ones included.
		t.Run("blank lines", func(t *testing.T) {
			body := good[0] + "\n\n" + good[1] + "\r\n\n" + strings.Replace(good[2], `"en"`, `"fr"`, 1) + "\n"
			wantProblem(t, api.importBody(t, body), http.StatusBadRequest, "line 5: locale")
			body = good[0] + "\n\n" + good[1] + "\n" + good[0] + "\n"
			p := wantProblem(t, api.importBody(t, body), http.StatusBadRequest, "line 4: id")
			if !strings.Contains(p.Errors[0].Message, "line 1") {
				t.Errorf("duplicate does not name the first line: %+v", p.Errors)
			}
			api.wantRows(t, before)
		})

		t.Run("every bad line is reported, up to a limit", func(t *testing.T) {
			lines := slices.Clone(good)
			for i := range lines {
				lines[i] = strings.Replace(lines[i], `"en"`, `"fr"`, 1)
			}
			p := wantProblem(t, api.importBody(t, strings.Join(lines, "\n")), http.StatusBadRequest, "line 1: locale")
			if len(p.Errors) < 10 || len(p.Errors) > 1000 {
				t.Errorf("%d errors for %d bad lines: want several, and a bounded number", len(p.Errors), n)
			}
			api.wantRows(t, before)
		})

		t.Run("empty", func(t *testing.T) {
			for _, body := range []string{"", "\n\n  \n"} {
				wantProblem(t, api.importBody(t, body), http.StatusBadRequest, "body")
			}
			api.wantRows(t, before)
		})
	})
}

// padded returns the JSON object line with spaces after its brace, n bytes long.
func padded(line string, n int) string {
	return "{" + strings.Repeat(" ", n-len(line)) + line[1:]
}

// A line of an import holds at most 64 KiB, and its attributes at most 32 KiB: past
// either, the import is refused naming the line, and nothing is written.
func TestImportLineLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		before := api.rows(t)
		good := ndjson("acct-", 3, "north")
		line := func(attrs map[string]any, region string) string {
			b, _ := json.Marshal(map[string]any{"id": "x", "region": region, "created_at": "2020-01-01T00:00:00Z", "locale": "en", "attributes": attrs})
			return string(b)
		}
		for _, tt := range []struct {
			name, line, field string
		}{
			{"a line of 64 KiB and a byte", padded(line(nil, "r"), accounts.MaxImportLine+1), "line 4: body"},
			{"a line over 64 KiB", line(longAttributes(64, 1024), "r"), "line 4: body"},
			{"a line over 64 KiB by far", line(nil, strings.Repeat("r", 1<<20)), "line 4: body"},
			{"attributes over 32 KiB", line(longAttributes(40, 1000), "r"), "line 4: attributes"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := wantProblem(t, api.importBody(t, good+tt.line+"\n"+ndjson("b-", 3, "north")), http.StatusBadRequest, tt.field)
				if len(p.Errors) != 1 {
					t.Errorf("one bad line, %d errors: %+v", len(p.Errors), p.Errors)
				}
				api.wantRows(t, before)
			})
		}
		wantStatus(t, api.importBody(t, padded(line(nil, "r"), accounts.MaxImportLine)+"\r\n"), http.StatusOK)
	})
}

func TestImportTooMany(t *testing.T) {
	api := newTestAPI(t, storetest.Open(t, "sqlite"))
	before := api.rows(t)
	body := ndjson("a", accounts.MaxImport+1, "r") // good lines: only their number is wrong
	wantProblem(t, api.importBody(t, body), http.StatusRequestEntityTooLarge, "")
	api.wantRows(t, before)
}

// TestConcurrentPutsSameAccounts has many clients replace the same few accounts at once,
// as retries and duplicate events from a platform do: every write succeeds, and each
// leaves its audit entry.
func TestConcurrentPutsSameAccounts(t *testing.T) {
	const clients, puts, ids = 16, 10, 4
	storetest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		api := newTestAPI(t, db)
		before := api.rows(t)
		var wg sync.WaitGroup
		var failed atomic.Int32
		for c := range clients {
			wg.Go(func() {
				for i := range puts {
					w := api.put(t, fmt.Sprintf("acct-%d", (c+i)%ids), with(map[string]any{"region": fmt.Sprintf("r%d", c)}))
					if w.Code != http.StatusCreated && w.Code != http.StatusOK {
						if failed.Add(1) == 1 {
							t.Errorf("status %d: %s", w.Code, w.Body)
						}
					}
				}
			})
		}
		wg.Wait()
		if n := failed.Load(); n > 0 {
			t.Fatalf("%d of %d writes failed", n, clients*puts)
		}
		api.wantRows(t, rows{before.accounts + ids, before.audit + clients*puts, 0})
	})
}
