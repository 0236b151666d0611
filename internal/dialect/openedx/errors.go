package openedx

import (
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// errNoCredentials is a request that shows no credential.
var errNoCredentials = &roster.Error{Code: roster.EUNAUTHENTICATED, Message: "Authentication credentials were not provided."}

// writeError answers err as Open edX's views and Django REST framework do.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = httpx.TooLarge(err)
	e := roster.AsError(err)
	switch e.Code {
	case roster.EUNAUTHENTICATED:
		w.Header().Set("WWW-Authenticate", `JWT realm="api"`)
		if err != errNoCredentials && r.Header.Get("Authorization") != "" {
			// The bearer token matched none: Open edX's bearer authentication says so.
			writeJSON(w, http.StatusUnauthorized, obj{{"error_code", "token_nonexistent"},
				{"developer_message", "The provided access token does not match any valid tokens."}})
			return
		}
		// A session that does not check out is no session, as in Django.
		writeJSON(w, http.StatusUnauthorized, obj{{"detail", "Authentication credentials were not provided."}})
	case roster.EFORBIDDEN:
		detail := "You do not have permission to perform this action."
		if e.Reason == roster.RCSRF {
			detail = "CSRF Failed: CSRF token missing or incorrect."
		}
		writeJSON(w, http.StatusForbidden, obj{{"detail", detail}})
	case roster.ENOTFOUND:
		writeEmpty(w, http.StatusNotFound)
	case roster.ETOOMANY:
		after := max(1, e.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(after))
		writeJSON(w, http.StatusTooManyRequests, obj{{"detail", "Request was throttled. Expected available in " + strconv.Itoa(after) + " seconds."}})
	case roster.EINTERNAL, roster.EUNAVAILABLE:
		if !httpx.ClientGone(r) {
			h.log.ErrorContext(r.Context(), "request failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
		}
		status := http.StatusInternalServerError
		detail := "A server error occurred."
		if e.Code == roster.EUNAVAILABLE {
			status, detail = http.StatusServiceUnavailable, roster.ErrorMessage(e)
		}
		writeJSON(w, status, obj{{"detail", detail}})
	default:
		writeJSON(w, httpx.StatusOf(e), obj{{"detail", roster.ErrorMessage(e)}})
	}
}
