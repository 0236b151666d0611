package api

import (
	"net/http"
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
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				ps = append(ps, roster.Problem{Field: name, Code: roster.PFormat, Message: name + " is a whole number."})
				continue
			}
			*dst = n
		}
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
	f.Limit = 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			ps = append(ps, roster.Problem{Field: "limit", Code: roster.PFormat, Message: "limit is 1 to 1000."})
		}
		f.Limit = n
	}
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
