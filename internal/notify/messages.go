package notify

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"text/template"
	"time"

	"golang.org/x/text/language"

	"github.com/stewardhq/steward/internal/enforce"
	"github.com/stewardhq/steward/internal/leak"
)

//go:embed messages/*.tmpl
var messageFiles embed.FS

// Messages holds one template set per locale, each defining "subject" and "body".
type Messages struct {
	tags    []language.Tag
	matcher language.Matcher
	sets    map[language.Tag]*template.Template
}

// dateFormats are how each locale writes a time.
var dateFormats = map[string]string{
	"en":    "2 January 2006 15:04 MST",
	"zh-CN": "2006年1月2日 15:04（MST）",
}

// MustMessages parses the embedded templates; it panics on a broken one, which a test
// catches before release.
func MustMessages() *Messages {
	m, err := loadMessages(messageFiles)
	if err != nil {
		panic(err)
	}
	for tag, t := range m.sets {
		parts := []string{"appeal.subject", "appeal.body", "incident.subject", "incident.body"}
		for _, dt := range leak.IncidentDataTypes {
			parts = append(parts, "incident.type."+dt)
		}
		for _, part := range parts {
			if t.Lookup(part) == nil {
				panic(fmt.Sprintf("notify: messages of %s do not define %q", tag, part))
			}
		}
	}
	return m
}

func loadMessages(fsys fs.FS) (*Messages, error) {
	names, err := fs.Glob(fsys, "messages/*.tmpl")
	if err != nil {
		return nil, err
	}
	m := &Messages{sets: map[language.Tag]*template.Template{}}
	slices.Sort(names)
	// English first: it is what the matcher falls back to.
	slices.SortStableFunc(names, func(a, b string) int {
		switch {
		case strings.HasSuffix(a, "/en.tmpl"):
			return -1
		case strings.HasSuffix(b, "/en.tmpl"):
			return 1
		}
		return 0
	})
	for _, name := range names {
		locale := strings.TrimSuffix(strings.TrimPrefix(name, "messages/"), ".tmpl")
		tag, err := language.Parse(locale)
		if err != nil {
			return nil, fmt.Errorf("notify: %s: %w", name, err)
		}
		layout, ok := dateFormats[locale]
		if !ok {
			return nil, fmt.Errorf("notify: %s: no date format for %s", name, locale)
		}
		t, err := template.New(locale).Option("missingkey=error").Funcs(template.FuncMap{
			"date": func(t time.Time) string { return t.UTC().Format(layout) },
		}).ParseFS(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("notify: %w", err)
		}
		for _, part := range []string{"subject", "body"} {
			if t.Lookup(part) == nil {
				return nil, fmt.Errorf("notify: %s does not define %q", name, part)
			}
		}
		m.tags = append(m.tags, tag)
		m.sets[tag] = t
	}
	if len(m.tags) == 0 {
		return nil, fmt.Errorf("notify: no message templates")
	}
	m.matcher = language.NewMatcher(m.tags)
	return m, nil
}

// match returns the tag of the messages best matching locale; an unparsable locale
// matches the fallback.
func (m *Messages) match(locale string) language.Tag {
	want, _ := language.Parse(locale)
	_, i, _ := m.matcher.Match(want)
	return m.tags[i]
}

// Locales returns the locales there are messages for.
func (m *Messages) Locales() []string {
	out := make([]string, len(m.tags))
	for i, t := range m.tags {
		out[i] = t.String()
	}
	return out
}

// view is what a template sees of a change.
type view struct {
	Event        string
	Kind         string
	AllServices  bool
	Services     []string
	Capabilities []string
	Policy       string // the policy's title in the locale; empty without a policy
	Clause       string // the policy clause, in the locale
	ReasonCode   string
	Start        time.Time
	Until        time.Time // zero: no end
	Lifted       bool
	LiftedAt     time.Time
	Wrongful     bool
	LiftReason   string // why it was lifted, as staff wrote it
	StillAllowed []string
	AppealURL    string
}

// Render returns the subject and body of c's notice in the locale best matching locale,
// and that locale.
func (m *Messages) Render(locale string, c enforce.Change) (subject, body, used string, err error) {
	return m.renderer().render(locale, c)
}

// renderer renders the notices of many changes, each distinct message once: the notices
// of like changes (a bulk action's batch) differ only in their appeal link, which is put
// into a rendering made with a mark in its place. Templates write .AppealURL as it is.
type renderer struct {
	m    *Messages
	done map[string]rendered // by locale and view, with the mark for the link
}

type rendered struct{ subject, body string }

const appealMark = "\x00appeal\x00"

func (m *Messages) renderer() *renderer { return &renderer{m: m, done: map[string]rendered{}} }

func (r *renderer) render(locale string, c enforce.Change) (subject, body, used string, err error) {
	tag := r.m.match(locale)
	used = tag.String()
	v := viewOf(c, used)
	url := v.AppealURL
	if url != "" {
		v.AppealURL = appealMark
	}
	k, err := json.Marshal(v)
	if err != nil {
		return "", "", "", err
	}
	key := used + "\x00" + string(k)
	got, ok := r.done[key]
	if !ok {
		if got, err = r.m.execute(tag, v); err != nil {
			return "", "", "", err
		}
		r.done[key] = got
	}
	if url == "" {
		return got.subject, got.body, used, nil
	}
	return strings.ReplaceAll(got.subject, appealMark, url), strings.ReplaceAll(got.body, appealMark, url), used, nil
}

// viewOf returns what the templates of locale see of c.
func viewOf(c enforce.Change, locale string) view {
	sn := c.Sanction
	v := view{
		Event: string(c.Event), Kind: string(sn.Kind), ReasonCode: sn.ReasonCode, Start: sn.Start,
		AllServices: slices.Contains(sn.Scope.Services, enforce.AllServices), Capabilities: sn.Scope.Capabilities,
		StillAllowed: enforce.Protected, AppealURL: c.AppealURL,
	}
	for _, s := range sn.Scope.Services {
		if s != enforce.AllServices {
			v.Services = append(v.Services, s)
		}
	}
	if sn.End != nil {
		v.Until = *sn.End
	}
	if sn.Lifted != nil {
		v.Lifted, v.LiftedAt, v.Wrongful, v.LiftReason = true, sn.Lifted.At, sn.Lifted.Wrongful, sn.Lifted.Reason
	}
	if c.Policy != nil {
		v.Policy, v.Clause = c.Policy.Title[locale], c.Policy.Clause[locale]
	}
	return v
}

// execute renders v with the templates of tag.
func (m *Messages) execute(tag language.Tag, v view) (rendered, error) {
	t := m.sets[tag]
	var sb strings.Builder
	if err := t.ExecuteTemplate(&sb, "subject", v); err != nil {
		return rendered{}, fmt.Errorf("notify: %s subject: %w", tag, err)
	}
	subject := strings.TrimSpace(sb.String())
	sb.Reset()
	if err := t.ExecuteTemplate(&sb, "body", v); err != nil {
		return rendered{}, fmt.Errorf("notify: %s body: %w", tag, err)
	}
	return rendered{subject, tidy(sb.String())}, nil
}

// tidy trims each line and drops the blank runs template actions leave behind.
func tidy(s string) string {
	var out []string
	blank := true
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, line)
		blank = false
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
