package httpapi

import (
	"net/http"
	"strconv"

	"github.com/stewardhq/steward/internal/errs"
	"github.com/stewardhq/steward/internal/notify"
)

type noticePage struct {
	Notices []*notify.Notice `json:"notices"`
	Next    string           `json:"next,omitempty"` // cursor of the next page; absent on the last
}

func (s *server) listNotices(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, nil, errs.Field("limit", "must be an integer from 1 to 1000")
		}
		limit = n
	}
	list, err := s.Notices.List(r.Context(), r.PathValue("id"), q.Get("cursor"), limit+1)
	if err != nil {
		return 0, nil, err
	}
	page := noticePage{Notices: list}
	if len(list) > limit {
		page.Notices = list[:limit]
		page.Next = list[limit-1].ID
	}
	return http.StatusOK, page, nil
}
