package pybossa

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// descriptions are Werkzeug's texts for the statuses PYBOSSA's error pages show, which
// its JSON mode sends as "description".
var descriptions = map[int]string{
	400: "The browser (or proxy) sent a request that this server could not understand.",
	403: "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.",
	404: "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
	405: "The method is not allowed for the requested URL.",
	409: "A conflict happened while processing the request. The resource might have been modified while the request was being processed.",
	413: "The data value transmitted exceeds the capacity limit.",
	429: "This user has exceeded an allotted request count. Try again later.",
	431: "One or more header fields exceeds the maximum size.",
	500: "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.",
	503: "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.",
}

// headings name each status on the HTML error page.
var headings = map[int]string{400: "Bad request", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 409: "Conflict",
	413: "Request too large", 429: "Too many requests", 431: "Request headers too large", 500: "Internal error", 503: "Unavailable"}

// writeError answers err as PYBOSSA's error handlers do: in JSON mode
// {"code", "description", "template"}, else its error page.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = httpx.TooLarge(err)
	e := roster.AsError(err)
	status := httpx.StatusOf(e)
	description := descriptions[status]
	switch {
	case e.Reason == roster.RCSRF:
		status, description = http.StatusBadRequest, "CSRF validation failed."
	case e.Reason == roster.RCrossOrigin:
		description = e.Message
	case e.Code == roster.EINVALID:
		description = roster.ErrorMessage(e)
	case e.Code == roster.EUNAUTHENTICATED:
		// Only too many bad credentials end here (a bad key is anonymous).
		status, description = http.StatusTooManyRequests, descriptions[http.StatusTooManyRequests]
	}
	if description == "" {
		description = roster.ErrorMessage(e)
	}
	if e.Code == roster.EINTERNAL || e.Code == roster.EUNAVAILABLE {
		if !httpx.ClientGone(r) {
			h.log.ErrorContext(r.Context(), "request failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
		}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	h.writeStatus(w, r, status, description)
}

// writeStatus writes an error status with its description.
func (h *Handler) writeStatus(w http.ResponseWriter, r *http.Request, status int, description string) {
	if jsonMode(r) {
		writeJSON(w, status, map[string]any{"code": status, "description": description, "template": fmt.Sprintf("%d.html", status)})
		return
	}
	heading := headings[status]
	if heading == "" {
		heading = http.StatusText(status)
	}
	h.pages.Error(w, r, status, heading, description, "")
}

// notFound answers a path under /admin/ that PYBOSSA does not have.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.writeStatus(w, r, http.StatusNotFound, descriptions[http.StatusNotFound])
}

// userNotFound is PYBOSSA's answer to add or del of an unknown id: JSON, whatever was
// asked.
func userNotFound(w http.ResponseWriter, message string) {
	writeJSON(w, http.StatusNotFound, map[string]any{"error": message, "status_code": 404})
}
