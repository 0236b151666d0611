package ckan

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

const contentType = "application/json;charset=utf-8"

// ckanError is a failure in CKAN's shape: a status and the envelope's error object.
type ckanError struct {
	status int
	body   obj
}

func (e *ckanError) Error() string { return fmt.Sprintf("ckan: %d %v", e.status, e.body) }

func authBody(msg string) obj {
	m := "Access denied"
	if msg != "" {
		m += ": " + msg
	}
	return obj{{"__type", "Authorization Error"}, {"message", m}}
}

// denied is CKAN's 403 Authorization Error; msg follows "Access denied: ".
func denied(msg string) error {
	return &ckanError{status: http.StatusForbidden, body: authBody(msg)}
}

// notFound is CKAN's 404 Not Found Error; msg follows "Not found: ".
func notFound(msg string) error {
	m := "Not found"
	if msg != "" {
		m += ": " + msg
	}
	return &ckanError{status: http.StatusNotFound, body: obj{{"__type", "Not Found Error"}, {"message", m}}}
}

// invalid is CKAN's 409 Validation Error: field → messages, then __type.
func invalid(fields obj) error {
	return &ckanError{status: http.StatusConflict, body: append(fields, kv{"__type", "Validation Error"})}
}

func missing(fields ...string) error {
	var o obj
	for _, f := range fields {
		o = append(o, kv{f, []string{"Missing value"}})
	}
	return invalid(o)
}

// writeError maps a failure to CKAN's envelope. Core errors are translated here, in one
// place: problems become CKAN's field errors under CKAN's names and words.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, help, action string, err error) {
	if e := roster.AsError(err); e.Code == roster.ETOOLARGE {
		// CKAN refuses what it cannot read before any action runs, as a bare string.
		status, what := http.StatusRequestEntityTooLarge, "body is"
		if e.Reason == roster.RHeaders {
			status, what = http.StatusRequestHeaderFieldsTooLarge, "URL and headers are"
		}
		writeRaw(w, status, pyJSON("Bad request - the request "+what+" too large"))
		return
	}
	var ce *ckanError
	if !errors.As(err, &ce) {
		ce = h.translate(r.Context(), action, err)
		if ce.status >= http.StatusInternalServerError && !httpx.ClientGone(r) {
			h.log.Error("CKAN action failed", "action", action, "err", err, "request_id", httpx.RequestIDFrom(r.Context()))
		}
	}
	if e := roster.AsError(err); e.Code == roster.ETOOMANY && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", itoa(e.RetryAfter))
	}
	writeFailure(w, help, ce)
}

func (h *Handler) translate(ctx context.Context, action string, err error) *ckanError {
	e := roster.AsError(err)
	sch, serr := h.dir.Schema(ctx)
	if serr != nil {
		sch = nil
	}
	switch e.Code {
	case roster.EUNAUTHENTICATED:
		return denied("Action " + action + " requires an authenticated user").(*ckanError)
	case roster.EFORBIDDEN:
		if len(e.Problems) > 0 {
			// Fields the caller may not set: CKAN reports them as field errors
			// ("That login name can not be modified.").
			return invalid(h.fieldErrors(sch, e.Problems)).(*ckanError)
		}
		return denied("").(*ckanError)
	case roster.ETOOMANY:
		return denied("too many failed attempts; try again later").(*ckanError)
	case roster.ENOTFOUND:
		return notFound("").(*ckanError)
	case roster.EUNAVAILABLE: // the database is unreachable, busy or read-only
		return &ckanError{status: http.StatusServiceUnavailable,
			body: obj{{"__type", "Service Unavailable"}, {"message", roster.ErrorMessage(e)}}}
	case roster.EINVALID, roster.ECONFLICT, roster.EPRECONDITION:
		if len(e.Problems) > 0 {
			return invalid(h.fieldErrors(sch, e.Problems)).(*ckanError)
		}
		return invalid(obj{{"message", e.Message}}).(*ckanError)
	}
	return &ckanError{status: http.StatusInternalServerError,
		body: obj{{"__type", "Internal Server Error"}, {"message", "Internal Server Error"}}}
}

// fieldErrors turns problems into CKAN's error dict: each field under its CKAN name, in
// schema order, worded as CKAN words it where CKAN has its own words.
func (h *Handler) fieldErrors(sch *roster.Schema, ps []roster.Problem) obj {
	if sch == nil {
		sch, _ = roster.LoadSchema() // the store could not be asked: CKAN's names are the default ones
	}
	pos := func(p roster.Problem) int {
		for i, a := range sch.Attrs() {
			if a.Name == p.Field {
				return i
			}
		}
		return len(sch.Attrs())
	}
	ps = slices.Clone(ps)
	slices.SortStableFunc(ps, func(a, b roster.Problem) int { return pos(a) - pos(b) })
	var out obj
	index := map[string]int{}
	for _, p := range ps {
		field := p.Field
		if a := sch.Attr(p.Field); a != nil && a.WireName("ckan") != "" {
			field = a.WireName("ckan")
		}
		msg := ckanMessage(p)
		if i, ok := index[field]; ok {
			out[i].v = append(out[i].v.([]string), msg)
			continue
		}
		index[field] = len(out)
		out = append(out, kv{field, []string{msg}})
	}
	return out
}

func ckanMessage(p roster.Problem) string {
	val, _ := p.Value.(string)
	switch {
	case p.Code == roster.PRequired:
		return "Missing value"
	case p.Field == "username" && p.Code == roster.PTaken:
		return "That login name is not available."
	case p.Field == "username" && p.Code == roster.PForbidden:
		return "That login name can not be modified."
	case p.Field == "email" && p.Code == roster.PTaken:
		return fmt.Sprintf("The email address '%s' belongs to a registered user.", strings.ToLower(val))
	case p.Field == "email" && p.Code == roster.PFormat:
		return fmt.Sprintf("Email %s is not a valid format", val)
	case p.Field == "password" && p.Code == roster.PTooShort:
		return fmt.Sprintf("Your password must be %d characters or longer", p.Limit)
	case p.Field == "sysadmin" && p.Code == roster.PForbidden:
		return "Cannot modify your own sysadmin privileges"
	}
	return p.Message
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(body)
}

func writeFailure(w http.ResponseWriter, help string, e *ckanError) {
	writeRaw(w, e.status, pyJSON(obj{{"help", help}, {"success", false}, {"error", e.body}}))
}

// writeBadRequest writes CKAN's bare-string 400.
func writeBadRequest(w http.ResponseWriter, msg string) {
	writeRaw(w, http.StatusBadRequest, pyJSON("Bad request - "+msg))
}

// validCallback reports whether a JSONP callback is a plain JavaScript name path
// (jQuery's jQuery123_456, a.b.c): echoed into a script, anything else could be code.
func validCallback(cb string) bool {
	if cb == "" || len(cb) > 128 {
		return false
	}
	for _, part := range strings.Split(cb, ".") {
		if part == "" {
			return false
		}
		for i, c := range part {
			letter := c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

func writeJSONP(w http.ResponseWriter, callback string, body []byte) {
	w.Header().Set("Content-Type", "application/javascript;charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "%s(%s);", callback, body)
}
