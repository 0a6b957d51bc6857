package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/stewardhq/steward/internal/authority"
	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/principal"
)

//go:embed templates/*.html messages/*.html
var templateFiles embed.FS

// locales are the portal's languages, English first: what the matcher falls back to.
var locales = []string{"en", "zh-CN"}

var matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// dateFormats are how each locale writes a time, as notices write it.
var dateFormats = map[string]string{
	"en":    "2 January 2006 15:04 MST",
	"zh-CN": "2006年1月2日 15:04（MST）",
}

// views holds every page's template and, per locale, the message catalogue: each
// messages/<locale>.html defines one template per message, as the notices' catalogue
// does.
type views struct {
	pages    map[string]*template.Template
	messages map[string]*template.Template
}

func mustViews() *views {
	v, err := loadViews(templateFiles)
	if err != nil {
		panic(err)
	}
	return v
}

func loadViews(fsys fs.FS) (*views, error) {
	v := &views{pages: map[string]*template.Template{}, messages: map[string]*template.Template{}}
	for _, l := range locales {
		t, err := template.New(l).Option("missingkey=error").ParseFS(fsys, "messages/"+l+".html")
		if err != nil {
			return nil, err
		}
		v.messages[l] = t
	}
	// Every message of English is in every other catalogue.
	for _, t := range v.messages["en"].Templates() {
		for _, l := range locales[1:] {
			if t.Name() != "en" && t.Name() != "en.html" && v.messages[l].Lookup(t.Name()) == nil {
				return nil, fmt.Errorf("web: messages/%s.html lacks %q", l, t.Name())
			}
		}
	}
	names, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	base := template.New("").Funcs(v.funcs())
	for _, n := range names {
		if strings.HasPrefix(n, "templates/_") {
			if _, err := base.ParseFS(fsys, n); err != nil {
				return nil, err
			}
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "templates/_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(fsys, n)
		if err != nil {
			return nil, err
		}
		v.pages[strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")] = t
	}
	return v, nil
}

func (v *views) funcs() template.FuncMap {
	return template.FuncMap{
		"t": v.message,
		"date": func(locale string, t any) string {
			switch t := t.(type) {
			case time.Time:
				return t.UTC().Format(dateFormats[locale])
			case *time.Time:
				if t != nil {
					return t.UTC().Format(dateFormats[locale])
				}
			}
			return "—"
		},
		// money writes minor units (fen, cents) as major units.
		"money": func(n int64) string {
			sign := ""
			if n < 0 {
				sign, n = "-", -n
			}
			return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
		},
		"may":       may,
		"pct":       func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) },
		"add":       func(a, b int) int { return a + b },
		"hasPrefix": strings.HasPrefix,
		"pad":       func(n int) string { return strings.Repeat(" ", len(fmt.Sprint(n))) },
		"kinds": func() []string {
			return []string{string(enforce.Suspend), string(enforce.Restrict), string(enforce.Ban), string(enforce.Warning)}
		},
		"authorities": func() []string {
			return []string{string(authority.LegalOrder), string(authority.Policy), string(authority.Automated)}
		},
		"join": func(ss []string) string { return strings.Join(ss, ", ") },
	}
}

// message renders the catalogue's message key in locale with args.
func (v *views) message(locale, key string, args ...any) (template.HTML, error) {
	t := v.messages[locale]
	if t == nil {
		t = v.messages["en"]
	}
	var data any
	if len(args) == 1 {
		data = args[0]
	} else if len(args) > 1 {
		data = args
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, key, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

// view is what every template gets.
type view struct {
	L     string // locale
	Title string
	P     principal.Principal
	CSRF  string
	Path  string
	Data  any
}

func (s *server) render(c *call, res result) {
	t := s.views.pages[res.view]
	if t == nil {
		s.Logger.Error("no such view", "view", res.view)
		http.Error(c.w, "internal error", http.StatusInternalServerError)
		return
	}
	title := c.title
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, res.view+".html", view{L: c.locale, Title: title, P: c.p, CSRF: c.csrf, Path: c.r.URL.Path, Data: res.data}); err != nil {
		s.Logger.Error("render", "view", res.view, "err", err)
		http.Error(c.w, "internal error", http.StatusInternalServerError)
		return
	}
	c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if res.status != 0 {
		c.w.WriteHeader(res.status)
	}
	c.w.Write(b.Bytes())
}

// locale returns the language of a page: the one the viewer chose (?lang= or its
// cookie), else fallback (an account's own), else what the browser asks for.
func (s *server) locale(r *http.Request, fallback string) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		return match(l)
	}
	if ck, err := r.Cookie(localeCookie); err == nil {
		return match(ck.Value)
	}
	if fallback != "" {
		return match(fallback)
	}
	return match(r.Header.Get("Accept-Language"))
}

func match(s string) string {
	tags, _, _ := language.ParseAcceptLanguage(s)
	_, i, _ := matcher.Match(tags...)
	return locales[i]
}

// accountLocale returns the account's own language, "" when it has none.
func (s *server) accountLocale(c *call, account string) string {
	a, err := s.Accounts.Get(c.r.Context(), account)
	if err != nil {
		return ""
	}
	return a.Locale
}

// formErr returns errs.Invalid naming field when v is empty.
func required(fs *errs.Fields, field, v string) {
	if strings.TrimSpace(v) == "" {
		fs.Add(field, "is required")
	}
}
