package web

import (
	"time"

	"github.com/stewardhq/steward/internal/leak"
)

// incidentView is an incident with its deadline clock as the API's GET shows it: how it
// stands against the regulator's deadline now and, while users are untold, the time left.
type incidentView struct {
	*leak.Incident
	DeadlineState leak.DeadlineState
	Open          bool          // users not told yet: the clock runs
	Left          time.Duration // until the deadline, negative once it passed
}

// LeftText writes Left to the second, "overdue by" once it passed.
func (v incidentView) LeftText() string {
	if v.Left < 0 {
		return "overdue by " + (-v.Left).Truncate(time.Second).String()
	}
	return v.Left.Truncate(time.Second).String() + " left"
}

func (s *server) leakPages() []page {
	return []page{
		{Method: "GET", Path: "/console/incidents/{id}", API: "GET /v1/incidents/{id}", Title: "Incident", handle: s.incident},
		{Method: "GET", Path: "/console/leaks/{id}", API: "GET /v1/leaks/{id}", Title: "Leak investigation", handle: s.leakInvestigation},
	}
}

func (s *server) incident(c *call) (result, error) {
	in, err := s.Incidents.Get(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	now := s.Incidents.Now()
	v := incidentView{Incident: in, DeadlineState: in.DeadlineState(now), Open: in.State == leak.IncidentOpen, Left: in.Deadline.Sub(now)}
	return result{view: "incident", data: v}, nil
}

func (s *server) leakInvestigation(c *call) (result, error) {
	l, err := s.Leak.GetLeak(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return result{}, err
	}
	return result{view: "leak", data: l}, nil
}
