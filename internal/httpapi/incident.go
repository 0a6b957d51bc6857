package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/leak"
	"github.com/stewardhq/steward/internal/principal"
	"github.com/stewardhq/steward/internal/problem"
)

var (
	incidentsW = []principal.Role{principal.Security, principal.Compliance}
	incidentsR = []principal.Role{principal.Security, principal.Compliance, principal.Auditor}
)

// incidentRoutes are the routes of incidents and of evidence (evidenceRoutes).
func (s *server) incidentRoutes() []route {
	return append([]route{
		{Method: "POST", Path: "/v1/incidents", Roles: incidentsW,
			Summary: `Declares a personal-data incident: what leaked, why, what it may do, what was done, what users can do, whom to contact; its grade sets the regulator deadline (critical 1h, major 4h, general 72h from detected_at, or report_within); "affected" is {"leak": ID} or {"selection": CEL over account}, fixed now (at most 100,000 accounts).`,
			Request: incidentBody{}, Reply: incidentReply{}, Status: http.StatusCreated, write: s.createIncident},
		{Method: "GET", Path: "/v1/incidents/{id}", Roles: incidentsR,
			Summary: "Returns an incident with its regulator deadline, the time left and how it stands against it (pending, near, passed, met, missed).",
			Reply:   incidentReply{}, handle: s.getIncident},
		{Method: "POST", Path: "/v1/incidents/{id}/notify", Roles: incidentsW,
			Summary: "Sends every affected user a notice in their language of what the law asks (data types, cause and possible harm, remedies, what they can do, contact), all at once; once only (409).",
			Reply:   incidentReply{}, write: s.notifyIncident},
		{Method: "GET", Path: "/v1/incidents/{id}/report", Roles: incidentsR,
			Summary: "The regulator's report of an incident as JSON, or as a readable page with Accept: text/html or ?format=html; drawing it up is audited.",
			Query:   []param{{"format", "string", "html for the page (default: JSON, or as Accept asks)"}}, Reply: leak.IncidentReport{}, raw: s.incidentReport},
	}, s.evidenceRoutes()...)
}

// incidentBody is an incident as declared; detected_at is parsed here so that a
// malformed one is named with every other fault.
type incidentBody struct {
	Title        string                `json:"title"`
	DetectedAt   string                `json:"detected_at"` // RFC 3339
	DataTypes    []string              `json:"data_types"`
	Cause        string                `json:"cause"`
	Harm         string                `json:"harm"`
	Remedies     string                `json:"remedies"`
	Advice       string                `json:"advice"`
	Contact      string                `json:"contact"`
	Grade        leak.IncidentGrade    `json:"grade"`
	ReportWithin string                `json:"report_within,omitempty"`
	Affected     leak.IncidentAffected `json:"affected"`
}

// incidentReply is an incident with how it stands against its deadline now.
type incidentReply struct {
	*leak.Incident
	DeadlineState leak.DeadlineState `json:"deadline_state"`
	// TimeLeft is the time until the deadline (negative once it passed), while users
	// are untold; absent once they were told.
	TimeLeft        string `json:"time_left,omitempty"`
	TimeLeftSeconds *int64 `json:"time_left_seconds,omitempty"`
}

func (s *server) incidentReply(in *leak.Incident) incidentReply {
	now := s.Incidents.Now()
	out := incidentReply{Incident: in, DeadlineState: in.DeadlineState(now)}
	if in.State == leak.IncidentOpen {
		left := in.Deadline.Sub(now).Truncate(time.Second)
		secs := int64(left / time.Second)
		out.TimeLeft, out.TimeLeftSeconds = left.String(), &secs
	}
	return out
}

func (s *server) createIncident(r *http.Request, body []byte) (applyFunc, error) {
	var b incidentBody
	if err := decodeJSON(body, &b); err != nil {
		return nil, err
	}
	req := leak.IncidentRequest{Title: b.Title, DataTypes: b.DataTypes, Cause: b.Cause, Harm: b.Harm, Remedies: b.Remedies,
		Advice: b.Advice, Contact: b.Contact, Grade: b.Grade, ReportWithin: b.ReportWithin, Affected: b.Affected}
	at, perr := parseTime("detected_at", b.DetectedAt)
	if perr != nil {
		// Every other fault too, with detected_at's own message.
		fs := errs.Fields(errs.FieldsOf(perr))
		for _, f := range errs.FieldsOf(s.Incidents.Check(req)) {
			if f.Field != "detected_at" {
				fs = append(fs, f)
			}
		}
		return nil, fs.Err()
	}
	req.DetectedAt = at
	// The affected accounts are found here, before the write transaction: a selection
	// reads every account, which must not hold the database's one writer.
	d, err := s.Incidents.Prepare(r.Context(), req)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) (int, any, error) {
		in, err := s.Incidents.Commit(ctx, d)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, s.incidentReply(in), nil
	}, nil
}

func (s *server) getIncident(r *http.Request) (int, any, error) {
	in, err := s.Incidents.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.incidentReply(in), nil
}

func (s *server) notifyIncident(r *http.Request, body []byte) (applyFunc, error) {
	if strings.TrimSpace(string(body)) != "" && strings.TrimSpace(string(body)) != "{}" {
		return nil, errs.Field("body", "takes no body: the notice says what the incident says")
	}
	id := r.PathValue("id")
	return func(ctx context.Context) (int, any, error) {
		in, err := s.Incidents.Notify(ctx, id)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, s.incidentReply(in), nil
	}, nil
}

// wantsHTML reports whether r asks for the page: ?format=html, or an Accept that names
// text/html before (or without) application/json.
func wantsHTML(r *http.Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "html":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, errs.Field("format", "must be html or json")
	}
	accept := r.Header.Get("Accept")
	h, j := strings.Index(accept, "text/html"), strings.Index(accept, "application/json")
	return h >= 0 && (j < 0 || h < j), nil
}

func (s *server) incidentReport(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) { problem.Write(w, problem.For(err, w.Header().Get("X-Request-Id"), s.Logger)) }
	html, err := wantsHTML(r)
	if err != nil {
		fail(err)
		return
	}
	rep, err := s.Incidents.Report(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(err)
		return
	}
	if !html {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	var sb strings.Builder
	if err := incidentPage.Execute(&sb, rep); err != nil {
		fail(err)
		return
	}
	writeBody(w, http.StatusOK, "text/html; charset=utf-8", []byte(sb.String()))
}
