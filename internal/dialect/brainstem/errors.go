package brainstem

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// writeError answers err as BrainSTEM's Django REST framework views do.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = httpx.TooLarge(err)
	e := roster.AsError(err)
	switch e.Code {
	case roster.EUNAUTHENTICATED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
		detail := "Invalid token."
		switch {
		case err == errNoCredentials || r.Header.Get("Authorization") == "":
			detail = "Authentication credentials were not provided."
		case e.Reason == roster.RAccountInactive:
			detail = "User inactive or deleted."
		}
		writeJSON(w, http.StatusUnauthorized, obj{{"detail", detail}})
	case roster.EFORBIDDEN:
		writeJSON(w, http.StatusForbidden, obj{{"detail", "You do not have permission to perform this action."}})
	case roster.ENOTFOUND:
		writeJSON(w, http.StatusNotFound, obj{{"detail", "Not found."}})
	case roster.EINVALID, roster.ECONFLICT:
		if e.Reason == roster.RLastSysadmin {
			writeJSON(w, http.StatusBadRequest, obj{{"is_superuser", []string{e.Message}}})
			return
		}
		if len(e.Problems) == 0 {
			writeJSON(w, http.StatusBadRequest, obj{{"detail", roster.ErrorMessage(e)}})
			return
		}
		h.writeFieldErrors(w, r, e.Problems)
	case roster.ETOOMANY:
		after := max(1, e.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(after))
		writeJSON(w, http.StatusTooManyRequests, obj{{"detail", "Request was throttled. Expected available in " + strconv.Itoa(after) + " seconds."}})
	case roster.EINTERNAL, roster.EUNAVAILABLE:
		if !httpx.ClientGone(r) {
			h.log.ErrorContext(r.Context(), "request failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
		}
		status, detail := http.StatusInternalServerError, "A server error occurred."
		if e.Code == roster.EUNAVAILABLE {
			status, detail = http.StatusServiceUnavailable, roster.ErrorMessage(e)
		}
		writeJSON(w, status, obj{{"detail", detail}})
	default:
		writeJSON(w, httpx.StatusOf(e), obj{{"detail", roster.ErrorMessage(e)}})
	}
}

// writeFieldErrors writes Django REST framework's validation error: every field's
// messages at once, by BrainSTEM's field names.
func (h *Handler) writeFieldErrors(w http.ResponseWriter, r *http.Request, ps []roster.Problem) {
	sch, err := h.dir.Schema(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var out obj
	at := map[string]int{}
	for _, p := range ps {
		key, msg := p.Field, p.Message
		if a := sch.Attr(p.Field); a != nil {
			if n := a.Names[roster.ViaBrainSTEM]; n != "" {
				key = n
			}
			msg = drfMessage(a, p)
		}
		if i, ok := at[key]; ok {
			out[i].v = append(out[i].v.([]string), msg)
			continue
		}
		at[key] = len(out)
		out = append(out, kv{key, []string{msg}})
	}
	writeJSON(w, http.StatusBadRequest, out)
}

// drfMessage words a problem as Django's and Django REST framework's validators do.
func drfMessage(a *roster.Attribute, p roster.Problem) string {
	switch p.Code {
	case roster.PRequired:
		return "This field may not be blank."
	case roster.PTooLong:
		return fmt.Sprintf("Ensure this field has no more than %d characters.", p.Limit)
	case roster.PTaken:
		if a.Name == "email" {
			return "user with this email address already exists."
		}
		return "user with this " + a.Names[roster.ViaBrainSTEM] + " already exists."
	case roster.PType:
		switch a.Type {
		case roster.TypeBool:
			return "Must be a valid boolean."
		case roster.TypeInt:
			return "A valid integer is required."
		}
		return "Not a valid string."
	case roster.PFormat:
		switch a.Format {
		case "email":
			return "Enter a valid email address."
		case "url":
			return "Enter a valid URL."
		}
	case roster.PChoice:
		if p.Value != nil {
			return fmt.Sprintf("%q is not a valid choice.", fmt.Sprint(p.Value))
		}
	}
	return p.Message
}
