package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/stewardhq/steward/internal/errs"
)

// Lists are paginated the same way everywhere: ?limit= (1 to 1000, default 100) and
// ?cursor=, the opaque next of the previous page, which encodes the key of its last item.

// pageQuery returns the decoded cursor ("" for the first page) and the page size.
// valid checks a decoded cursor's key (e.g. as an account ID).
func pageQuery(r *http.Request, valid func(string) bool) (after string, limit int, err error) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return "", 0, errs.Field("limit", "must be an integer from 1 to 1000")
		}
		limit = n
	}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil || !valid(string(b)) {
			return "", 0, errs.Field("cursor", "is not a cursor this API gave out")
		}
		after = string(b)
	}
	return after, limit, nil
}

// page trims list, fetched with limit+1 items, to limit and returns the cursor of the
// next page, or "" when this is the last.
func page[T any](list []T, limit int, key func(T) string) ([]T, string) {
	if list == nil {
		list = []T{}
	}
	if len(list) <= limit {
		return list, ""
	}
	return list[:limit], base64.RawURLEncoding.EncodeToString([]byte(key(list[limit-1])))
}

// anyKey accepts any cursor key, for lists whose domain service checks it.
func anyKey(string) bool { return true }
