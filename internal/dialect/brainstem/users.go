package brainstem

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// seedKeys are the user object's keys in the seed page's order: its fields, then the
// admin-only ones. Any other attribute with a BrainSTEM name (names.brainstem) follows,
// in schema order, so that a new field is one schema entry.
var seedKeys = []string{"id", "email", "first_name", "last_name", groupsKey, "website", "google_scholar", "orcid_id",
	"atlas_preference", "is_superuser", "is_project_admin", "is_group_admin", "is_taxonomies_admin", "is_resources_admin",
	"is_attributes_admin", "is_contact_form_email_receiver"}

// groupsKey is the one key that is no attribute: the groups the user owns, from the
// core's groups, shown to callers who may read groups (signed in).
const groupsKey = "groups_own_json"

// field is one key of the user object: an attribute, or nil for groupsKey.
type field struct {
	key  string
	attr *roster.Attribute
}

// fields are the user object's keys under sch.
func fields(sch *roster.Schema) []field {
	var out []field
	for _, k := range seedKeys {
		if k == groupsKey {
			out = append(out, field{k, nil})
		} else if a := sch.ByWireName(roster.ViaBrainSTEM, k); a != nil {
			out = append(out, field{k, a})
		}
	}
	for _, a := range sch.Attrs() {
		if k := a.Names[roster.ViaBrainSTEM]; k != "" && !slices.Contains(seedKeys, k) {
			out = append(out, field{k, a})
		}
	}
	return out
}

// user renders a record as BrainSTEM's user object, holding the keys the core let the
// caller read. id is the account's numeric id. groups is nil where the caller may not
// read groups.
func user(rec *roster.Record, fs []field, groups []roster.GroupMembership, showGroups bool) obj {
	out := make(obj, 0, len(fs))
	for _, f := range fs {
		switch {
		case f.attr == nil:
			if showGroups {
				gs := make([]obj, len(groups))
				for i, g := range groups {
					gs[i] = obj{{"id", g.GroupID}, {"name", g.GroupName}}
				}
				out = append(out, kv{f.key, gs})
			}
		case f.attr.Name == "id":
			out = append(out, kv{f.key, rec.ID})
		case rec.Visible(f.attr.Name):
			v, _ := rec.Get(f.attr.Name)
			out = append(out, kv{f.key, wireValue(f.attr, v)})
		}
	}
	return out
}

// wireValue is a value as Django REST framework's serializer fields write it: unset text
// as "" (as the seed's example shows an empty website), unset flags as false.
func wireValue(a *roster.Attribute, v any) any {
	if v == nil {
		switch a.Type {
		case roster.TypeString, roster.TypeText:
			return ""
		case roster.TypeBool:
			return false
		}
		return nil
	}
	if t, ok := v.(time.Time); ok {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	return v
}

// render renders records with the groups each owns, read in one go.
func (h *Handler) render(ctx context.Context, sch *roster.Schema, recs []*roster.Record) ([]obj, error) {
	ids := make([]int64, len(recs))
	for i, rec := range recs {
		ids[i] = rec.ID
	}
	owned, shown, err := h.dir.OwnedGroups(ctx, ids)
	if err != nil {
		return nil, err
	}
	fs := fields(sch)
	out := make([]obj, len(recs))
	for i, rec := range recs {
		out[i] = user(rec, fs, owned[rec.ID], shown)
	}
	return out, nil
}

// listUsers answers the list: {"users": [...]} first, then Django REST framework's
// count, next and previous, and dynamic-rest's meta, which the clients read.
func (h *Handler) listUsers(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, obj{{"detail", "Malformed query string."}})
		return
	}
	sch, err := h.dir.Schema(ctx)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	lq, qe := parseListQuery(q, sch)
	if qe == nil {
		var page *roster.RecordPage
		if page, err = h.dir.ListAccounts(ctx, lq.filter(), roster.ReadOptions{}); err == nil {
			users, err := h.render(ctx, sch, page.Records)
			if err != nil {
				h.writeError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, listBody(r, q, users, page.Total, lq))
			return
		}
		qe = listRefusal(err, sch)
	}
	if qe != nil {
		writeJSON(w, http.StatusBadRequest, obj{{"error", "Invalid " + qe.param + " parameter"}, {"detail", qe.detail}})
		return
	}
	h.writeError(w, r, err)
}

// listRefusal words the core's refusal of a filter or an order. One on a field the
// caller can read of no account is one of a field that its view does not have: to a
// non-administrator, is_superuser does not exist.
func listRefusal(err error, sch *roster.Schema) *queryError {
	e := roster.AsError(err)
	if (e.Code != roster.EINVALID && e.Code != roster.EFORBIDDEN) || len(e.Problems) == 0 {
		return nil
	}
	p := e.Problems[0]
	param, name := "filter", p.Field
	if p.Field == "sort" {
		param = "sort"
	}
	if a := sch.Attr(name); a != nil && a.Names[roster.ViaBrainSTEM] != "" {
		name = a.Names[roster.ViaBrainSTEM]
	}
	switch {
	case p.Code == roster.PForbidden && param == "sort":
		return &queryError{param, "You may not sort by this field"}
	case p.Code == roster.PForbidden:
		return noField(param, name)
	case p.Code == roster.PFormat:
		return &queryError{param, fmt.Sprintf("Invalid value for field '%s': %s", name, p.Message)}
	}
	return &queryError{param, p.Message}
}

// listBody is the list's envelope.
func listBody(r *http.Request, q url.Values, users []obj, total int, lq listQuery) obj {
	link := func(offset int) any {
		u := url.Values{}
		for k, vs := range q {
			u[k] = vs
		}
		u.Set("limit", strconv.Itoa(lq.limit))
		u.Del("page")
		u.Del("per_page")
		if offset > 0 {
			u.Set("offset", strconv.Itoa(offset))
		} else {
			u.Del("offset")
		}
		return httpx.Origin(r) + r.URL.Path + "?" + u.Encode()
	}
	var next, prev any
	if lq.offset+lq.limit < total {
		next = link(lq.offset + lq.limit)
	}
	if lq.offset > 0 {
		prev = link(max(0, lq.offset-lq.limit))
	}
	pages := max(1, (total+lq.limit-1)/lq.limit)
	return obj{{"users", users}, {"count", total}, {"next", next}, {"previous", prev},
		{"meta", obj{{"total_results", total}, {"total_pages", pages}, {"page", lq.offset/lq.limit + 1}, {"per_page", lq.limit}}}}
}

// showUser answers the detail: {"user": {...}}.
func (h *Handler) showUser(ctx context.Context, w http.ResponseWriter, r *http.Request, ref roster.AccountRef) {
	rec, err := h.dir.GetAccount(ctx, ref, roster.ReadOptions{})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeUser(ctx, w, r, rec)
}

func (h *Handler) writeUser(ctx context.Context, w http.ResponseWriter, r *http.Request, rec *roster.Record) {
	sch, err := h.dir.Schema(ctx)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	users, err := h.render(ctx, sch, []*roster.Record{rec})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, obj{{"user", users[0]}})
}

// patchUser changes a user, in Django REST framework's order: the user is found (404),
// the caller may change it (403: its own, unless an administrator), then the body is
// read and every field checked at once (400). Keys that are no field of the caller's
// view (unknown ones, id, groups_own_json, and the admin-only flags for others) are
// ignored, as Django REST framework ignores them.
func (h *Handler) patchUser(ctx context.Context, w http.ResponseWriter, r *http.Request, ref roster.AccountRef) {
	access, err := h.dir.AccountAccess(ctx, ref, "", "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !access.Edit.Allowed {
		h.writeError(w, r, roster.Errorf(roster.EFORBIDDEN, "%s", access.Edit.Detail))
		return
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body := map[string]any{}
	if len(b) > 0 {
		if mt := httpx.MediaType(r); mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, obj{{"detail", fmt.Sprintf("Unsupported media type %q in request.", r.Header.Get("Content-Type"))}})
			return
		}
		var v any
		if err := httpx.DecodeJSONBytes(b, &v); err != nil {
			writeJSON(w, http.StatusBadRequest, obj{{"detail", "JSON parse error - " + roster.ErrorMessage(err)}})
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			writeJSON(w, http.StatusBadRequest, obj{{"non_field_errors", []string{"Invalid data. Expected a dictionary, but got " + pyType(v) + "."}}})
			return
		}
		body = m
	}
	sch, err := h.dir.Schema(ctx)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	patch := map[string]any{}
	for k, v := range body {
		if a := sch.ByWireName(roster.ViaBrainSTEM, k); a != nil && a.Write != roster.WriteNone {
			patch[a.Name] = v
		}
	}
	rec, err := h.dir.UpdateAccount(ctx, roster.RefID(access.AccountID), patch)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	h.writeUser(ctx, w, r, rec)
}

// pyType names a JSON value's type as Django REST framework's message does.
func pyType(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "str"
	case bool:
		return "bool"
	case nil:
		return "NoneType"
	}
	return "int"
}

// deleteUser removes a user: administrators only (the core's "delete" action, checked
// before the user is looked up, as Django REST framework checks a view's permission),
// a soft delete as /v1's DELETE makes, answered 204 with no body.
func (h *Handler) deleteUser(ctx context.Context, w http.ResponseWriter, r *http.Request, ref roster.AccountRef) {
	if err := h.dir.Authorize(ctx, "delete"); err != nil {
		h.writeError(w, r, err)
		return
	}
	if _, err := h.dir.SetState(ctx, ref, roster.StateDeleted, roster.WriteOptions{}); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Vary", "Accept, Authorization")
	w.WriteHeader(http.StatusNoContent)
}
