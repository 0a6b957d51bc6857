package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/bulk"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
)

// bulkForm is the planner's form as typed, kept to show it again beside its errors.
type bulkForm struct {
	Name, Criteria, Screens                                string
	Kind, Services, Capabilities, Duration, Reason, Detail string
	AuthorityKind, Issuer, Reference, Rule                 string
	Errors                                                 map[string]exprError // by field
	Other                                                  []errs.FieldError    // errors not of an expression
}

// exprError is an error placed in its expression: the line it is on and a caret under
// the column, when CEL said where.
type exprError struct {
	Message string
	Line    string // the expression's line at fault
	LineNo  int
	Caret   string // spaces, then ^ under the column
}

func (s *server) bulkForm(c *call) (result, error) {
	return result{view: "bulk-new", data: &bulkForm{Kind: "suspend", Duration: "72h", AuthorityKind: "legal_order"}}, nil
}

func (s *server) createBulk(c *call) (result, error) {
	f := c.r.PostFormValue
	form := &bulkForm{Name: f("name"), Criteria: f("criteria"), Screens: f("screens"), Kind: f("kind"), Services: f("services"),
		Capabilities: f("capabilities"), Duration: f("duration"), Reason: f("reason_code"), Detail: f("detail"),
		AuthorityKind: f("authority"), Issuer: f("issuer"), Reference: f("reference"), Rule: f("rule")}
	req, err := form.request()
	if err == nil {
		var a *bulk.Action
		if a, err = s.Bulk.Create(c.r.Context(), req); err == nil {
			return result{redirect: "/console/bulk/" + a.ID}, nil
		}
	}
	if errs.CodeOf(err) != errs.Invalid {
		return result{}, err
	}
	form.place(errs.FieldsOf(err))
	return result{view: "bulk-new", data: form, status: http.StatusBadRequest}, nil
}

// request reads the form into a bulk action's request. Screens are one a line,
// "name: expression".
func (f *bulkForm) request() (bulk.CreateRequest, error) {
	r := bulk.CreateRequest{Name: strings.TrimSpace(f.Name), Criteria: f.Criteria,
		Sanction: bulk.Template{Kind: enforce.Kind(f.Kind), Duration: strings.TrimSpace(f.Duration), ReasonCode: strings.TrimSpace(f.Reason), Detail: f.Detail,
			Scope: enforce.Scope{Services: list(f.Services), Capabilities: list(f.Capabilities)}},
		Authority: authority.Authority{Kind: authority.Kind(f.AuthorityKind), Issuer: strings.TrimSpace(f.Issuer),
			Reference: strings.TrimSpace(f.Reference), Rule: strings.TrimSpace(f.Rule)}}
	var fs errs.Fields
	for i, line := range strings.Split(f.Screens, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, expr, ok := strings.Cut(line, ":")
		if !ok {
			fs.Add("screens", "line %d: write a screen as name: expression", i+1)
			continue
		}
		r.Screens = append(r.Screens, bulk.Screen{Name: strings.TrimSpace(name), Expr: strings.TrimSpace(expr)})
	}
	return r, fs.Err()
}

func list(s string) []string {
	var out []string
	for _, v := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		out = append(out, v)
	}
	return out
}

var celAt = regexp.MustCompile(`line (\d+), column (\d+)`)

// place puts each error at its expression: "criteria" at the criteria, "screens[name]"
// at that screen's line.
func (f *bulkForm) place(fes []errs.FieldError) {
	f.Errors = map[string]exprError{}
	screens := map[string]string{}
	for _, line := range strings.Split(f.Screens, "\n") {
		if name, expr, ok := strings.Cut(line, ":"); ok {
			screens[strings.TrimSpace(name)] = strings.TrimSpace(expr)
		}
	}
	for _, fe := range fes {
		var expr, key string
		switch {
		case fe.Field == "criteria":
			expr, key = f.Criteria, "criteria"
		case strings.HasPrefix(fe.Field, "screens["):
			expr, key = screens[strings.TrimSuffix(strings.TrimPrefix(fe.Field, "screens["), "]")], "screens"
		default:
			f.Other = append(f.Other, fe)
			continue
		}
		e := exprError{Message: fe.Field + ": " + fe.Message}
		if m := celAt.FindStringSubmatch(fe.Message); m != nil {
			ln, _ := strconv.Atoi(m[1])
			col, _ := strconv.Atoi(m[2])
			lines := strings.Split(expr, "\n")
			if ln >= 1 && ln <= len(lines) {
				e.Line, e.LineNo = lines[ln-1], ln
				e.Caret = strings.Repeat(" ", max(col-1, 0)) + "^"
			}
		}
		f.Errors[key] = e
	}
}

// bulkView is a bulk action with its last dry run's charts.
type bulkView struct {
	Status  bulk.Status
	Targets []bulk.TargetState
	DryRun  *bulk.DryRun
	Charts  []chart
}

func (s *server) bulkAction(c *call) (result, error) {
	v, err := s.bulkView(c)
	if err != nil {
		return result{}, err
	}
	return result{view: "bulk", data: v}, nil
}

func (s *server) bulkView(c *call) (*bulkView, error) {
	ctx := c.r.Context()
	a, err := s.Bulk.Get(ctx, c.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	v := &bulkView{Status: s.Bulk.StatusOf(a)}
	if v.Targets, err = s.Bulk.Targets(ctx, a.ID, 0, 20); err != nil {
		return nil, err
	}
	return v, nil
}

// bulkProgress is the action's progress as JSON, which the page's script polls.
func (s *server) bulkProgress(c *call) (result, error) {
	a, err := s.Bulk.Get(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	st := s.Bulk.StatusOf(a)
	c.w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(c.w).Encode(map[string]any{"state": a.State, "progress": a.Progress, "rate": st.Rate, "eta_seconds": st.ETASeconds})
	return result{done: true}, nil
}

func (s *server) dryRun(c *call) (result, error) {
	d, err := s.Bulk.DryRun(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	v, err := s.bulkView(c)
	if err != nil {
		return result{}, err
	}
	v.DryRun, v.Charts = d, dryRunCharts(d)
	return result{view: "bulk", data: v}, nil
}

func (s *server) bulkExecute(c *call) (result, error) {
	pct, err := strconv.ParseFloat(strings.TrimSpace(c.r.PostFormValue("canary_percent")), 64)
	if err != nil {
		return result{}, errs.Field("canary_percent", "must be a number from 0 to 100")
	}
	r := bulk.ExecuteRequest{CanaryPercent: &pct, AllowEvalErrors: c.r.PostFormValue("allow_eval_errors") == "on"}
	return s.bulkChange(c, func(id string) (*bulk.Action, error) { return s.Bulk.Execute(c.r.Context(), id, r) })
}

func (s *server) bulkPause(c *call) (result, error) {
	return s.bulkChange(c, func(id string) (*bulk.Action, error) { return s.Bulk.Pause(c.r.Context(), id) })
}

func (s *server) bulkResume(c *call) (result, error) {
	return s.bulkChange(c, func(id string) (*bulk.Action, error) { return s.Bulk.Resume(c.r.Context(), id) })
}

func (s *server) bulkRevert(c *call) (result, error) {
	r := bulk.RevertRequest{Reason: strings.TrimSpace(c.r.PostFormValue("reason"))}
	return s.bulkChange(c, func(id string) (*bulk.Action, error) { return s.Bulk.Revert(c.r.Context(), id, r) })
}

func (s *server) bulkChange(c *call, change func(id string) (*bulk.Action, error)) (result, error) {
	a, err := change(c.r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	return result{redirect: "/console/bulk/" + a.ID}, nil
}

// chart is a horizontal bar chart drawn as SVG on the server: each row's matched
// (to be sanctioned) and spared bars, scaled to the largest row.
type chart struct {
	Title  string
	Height int
	Rows   []chartRow
}

type chartRow struct {
	Label            string
	Y                int
	Hit, Spared      int // counts
	HitW, SparedW    int // bar widths in px
	SparedX, LabelY  int
	TextX            int // where the counts are written
	HitText, Summary string
}

const chartWidth = 360 // px of the longest bar

func dryRunCharts(d *bulk.DryRun) []chart {
	screens := map[string]*bulk.Counts{}
	for name, n := range d.SparedBy {
		screens[name] = &bulk.Counts{Spared: n}
	}
	return []chart{
		newChart("Matched and spared", map[string]*bulk.Counts{"all": &d.Counts}, nil),
		newChart("Spared by screen", screens, nil),
		newChart("By region", d.ByRegion, nil),
		newChart("By verified", d.ByVerified, nil),
		newChart("By account age", d.ByAge, bulk.AgeBands),
	}
}

func newChart(title string, groups map[string]*bulk.Counts, order []string) chart {
	labels := order
	if labels == nil {
		labels = slices.Sorted(maps.Keys(groups))
	}
	most := 1
	for _, g := range groups {
		most = max(most, g.ToSanction+g.Already+g.Spared)
	}
	ch := chart{Title: title}
	for i, l := range labels {
		g := groups[l]
		if g == nil {
			g = &bulk.Counts{}
		}
		hit := g.ToSanction + g.Already
		r := chartRow{Label: l, Y: i * 28, Hit: hit, Spared: g.Spared,
			HitW: hit * chartWidth / most, SparedW: g.Spared * chartWidth / most}
		r.SparedX, r.LabelY = 120+r.HitW, r.Y+15
		r.TextX = r.SparedX + r.SparedW + 6
		r.Summary = l + ": " + strconv.Itoa(hit) + " hit, " + strconv.Itoa(g.Spared) + " spared"
		ch.Rows = append(ch.Rows, r)
	}
	ch.Height = len(labels)*28 + 4
	return ch
}
