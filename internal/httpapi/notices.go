package httpapi

import (
	"net/http"

	"github.com/stewardhq/steward/internal/notify"
)

type noticePage struct {
	Notices []*notify.Notice `json:"notices"`
	Next    string           `json:"next,omitempty"` // cursor of the next page; absent on the last
}

func (s *server) listNotices(r *http.Request) (int, any, error) {
	after, limit, err := pageQuery(r, anyKey) // Notices.List checks it as a notice ID
	if err != nil {
		return 0, nil, err
	}
	list, err := s.Notices.List(r.Context(), r.PathValue("id"), after, limit+1)
	if err != nil {
		return 0, nil, err
	}
	var p noticePage
	p.Notices, p.Next = page(list, limit, func(n *notify.Notice) string { return n.ID })
	return http.StatusOK, p, nil
}
