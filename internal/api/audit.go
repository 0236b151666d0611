package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// audit pages through the audit log: after=SEQ returns the entries that follow, oldest
// first, so a reader that keeps the last seq it saw misses nothing.
func (h *Handler) audit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f roster.AuditFilter
	var ps []roster.Problem
	ints := map[string]*int64{"after": &f.After, "actor": &f.ActorID, "target": &f.TargetID}
	for name, dst := range ints {
		*dst = wholeNumber(q, name, &ps)
	}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				ps = append(ps, roster.Problem{Field: name, Code: roster.PFormat, Message: name + " is an RFC 3339 time."})
				continue
			}
			*dst = t
		}
	}
	f.Limit = pageLimit(q, &ps)
	if len(ps) > 0 {
		return roster.Invalid(ps...)
	}
	f.TargetType, f.Action = q.Get("target_type"), q.Get("action")
	es, err := h.dir.ListAudit(r.Context(), f)
	if err != nil {
		return err
	}
	entries := make([]auditEntryJSON, len(es))
	for i, e := range es {
		entries[i] = toAuditEntry(e)
	}
	out := map[string]any{"entries": entries}
	if len(es) > 0 {
		out["last_seq"] = es[len(es)-1].Seq
	}
	return ok(w, http.StatusOK, out)
}

// wholeNumber reads a query parameter that is a whole number, 0 when absent; a bad one
// adds a problem.
func wholeNumber(q url.Values, name string, ps *[]roster.Problem) int64 {
	v := q.Get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		*ps = append(*ps, roster.Problem{Field: name, Code: roster.PFormat, Message: name + " is a whole number."})
		return 0
	}
	return n
}

// pageLimit reads a list's limit, 1 to 1000, 100 when absent; a bad one adds a problem.
func pageLimit(q url.Values, ps *[]roster.Problem) int {
	v := q.Get("limit")
	if v == "" {
		return 100
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		*ps = append(*ps, roster.Problem{Field: "limit", Code: roster.PFormat, Message: "limit is 1 to 1000."})
	}
	return n
}
