package openedx

import (
	"net/http"
	"strconv"
	"strings"

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
			writeTokenRefusal(w, r, e)
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

// writeTokenRefusal words a refused Authorization header as the class of Open edX that
// reads its scheme does: drf-jwt's messages for "JWT", edx-drf-extensions' bearer
// authentication's codes for the rest.
func writeTokenRefusal(w http.ResponseWriter, r *http.Request, e *roster.Error) {
	scheme, _, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if strings.EqualFold(scheme, "jwt") {
		detail := "Error decoding token."
		switch e.Reason {
		case roster.RTokenExpired:
			detail = "Token has expired."
		case roster.RTokenRevoked:
			detail = "Invalid token."
		case roster.RAccountInactive:
			detail = "User account is disabled."
		}
		writeJSON(w, http.StatusUnauthorized, obj{{"detail", detail}})
		return
	}
	code, msg := "token_nonexistent", "The provided access token does not match any valid tokens."
	switch e.Reason {
	case roster.RTokenExpired:
		code, msg = "token_expired", "The provided access token has expired and is no longer valid."
	case roster.RAccountInactive:
		code, msg = "user_is_disabled", "The user linked to the provided access token is disabled."
	}
	writeJSON(w, http.StatusUnauthorized, obj{{"error_code", code}, {"developer_message", msg}})
}
