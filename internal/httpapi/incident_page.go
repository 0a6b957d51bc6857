package httpapi

import (
	"html/template"
	"strings"
	"time"
)

// incidentPage is the regulator's report as a page, from the same record as its JSON.
var incidentPage = template.Must(template.New("incident").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"join": func(ss []string) string { return strings.Join(ss, ", ") },
}).Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Incident report: {{ .Incident.Title }}</title>
<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5}th{text-align:left;padding-right:1rem;vertical-align:top}</style>
</head>
<body>
<h1>Personal-data incident report</h1>
<p>Drawn up {{ date .GeneratedAt }} from Steward's record of incident <code>{{ .Incident.ID }}</code> (version {{ .Incident.Version }}).</p>
<table>
<tr><th>Title</th><td>{{ .Incident.Title }}</td></tr>
<tr><th>Grade</th><td>{{ .Incident.Grade }}</td></tr>
<tr><th>Detected</th><td>{{ date .Incident.DetectedAt }}</td></tr>
<tr><th>Declared</th><td>{{ date .Incident.CreatedAt }} by {{ .Incident.CreatedBy.Name }} ({{ .Incident.CreatedBy.Role }})</td></tr>
<tr><th>Data types</th><td>{{ join .Incident.DataTypes }}</td></tr>
<tr><th>Cause</th><td>{{ .Incident.Cause }}</td></tr>
<tr><th>Possible harm</th><td>{{ .Incident.Harm }}</td></tr>
<tr><th>Remedies taken</th><td>{{ .Incident.Remedies }}</td></tr>
<tr><th>Advice to users</th><td>{{ .Incident.Advice }}</td></tr>
<tr><th>Contact</th><td>{{ .Incident.Contact }}</td></tr>
<tr><th>Affected accounts</th><td>{{ .Incident.Accounts }}</td></tr>
<tr><th>Users notified</th><td>{{ if .Incident.NotifiedAt }}{{ date .Incident.NotifiedAt.UTC }}{{ else }}not yet{{ end }}</td></tr>
<tr><th>Deadline</th><td>{{ date .Incident.Deadline }}: {{ .Deadline }}</td></tr>
</table>
<h2>Timeline</h2>
<ol>{{ range .Timeline }}<li>{{ date .At }}: {{ .What }}</li>{{ end }}</ol>
</body>
</html>
`))
