package redcap

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

var contentTypes = map[string]string{
	"json": "application/json; charset=utf-8",
	"csv":  "text/csv; charset=utf-8",
	"xml":  "text/xml; charset=utf-8",
}

func writeBody(w http.ResponseWriter, status int, format string, body []byte) {
	w.Header().Set("Content-Type", contentTypes[format])
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeError writes an error body as REDCap does for returnFormat: {"error":…},
// "ERROR: …" or an XML hash. REDCap does not escape the message in XML; neither does
// Roster, so clients see the same bytes.
func writeError(w http.ResponseWriter, returnFormat string, status int, msg string) {
	var b bytes.Buffer
	switch returnFormat {
	case "json":
		b.WriteString(`{"error":`)
		appendJSONString(&b, msg)
		b.WriteByte('}')
	case "csv":
		b.WriteString("ERROR: ")
		b.WriteString(msg)
	default:
		b.WriteString(`<?xml version="1.0" encoding="UTF-8" ?><hash><error>`)
		b.WriteString(msg)
		b.WriteString(`</error></hash>`)
	}
	writeBody(w, status, returnFormat, b.Bytes())
}

// REDCap's default messages.
const (
	msgNoPermission = "You do not have permissions to use the API"
	msgServerError  = "The server encountered an error processing your request."
)

// writeCoreError answers a refusal from the core with REDCap's status and message.
func (h *Handler) writeCoreError(req *request, err error) {
	e := roster.AsError(err)
	status, msg := http.StatusBadRequest, e.Message
	switch e.Code {
	case roster.EUNAUTHENTICATED:
		status, msg = http.StatusForbidden, msgNoPermission
	case roster.ETOOMANY:
		req.w.Header().Set("Retry-After", strconv.Itoa(max(1, e.RetryAfter)))
		status, msg = http.StatusForbidden, msgNoPermission
	case roster.EFORBIDDEN:
		if e.Reason == roster.RAPIRights {
			status = http.StatusForbidden
		}
	case roster.ETOOLARGE:
		status = http.StatusRequestEntityTooLarge
		if e.Reason == roster.RHeaders {
			status = http.StatusRequestHeaderFieldsTooLarge
		}
	case roster.EUNAVAILABLE: // the database is unreachable, busy or read-only: the message says which
		status = http.StatusServiceUnavailable
		if msg == "" {
			msg = "The database is unavailable; try again shortly."
		}
	case roster.EINTERNAL:
		status, msg = http.StatusInternalServerError, msgServerError
		if httpx.ClientGone(req.r) {
			break
		}
		h.log.Error("REDCap API call failed", "content", req.content, "action", req.action, "err", err,
			"request_id", httpx.RequestIDFrom(req.r.Context()))
	}
	if msg == "" {
		msg = roster.ErrorMessage(err)
	}
	writeError(req.w, req.returnFormat, status, msg)
}
