package api

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

func refOf(r *http.Request) roster.AccountRef { return roster.ParseAccountRef(r.PathValue("ref")) }

func meRef(r *http.Request) roster.AccountRef {
	return roster.RefID(roster.ActorFromContext(r.Context()).AccountID)
}

func readOptions(r *http.Request) roster.ReadOptions {
	return roster.ReadOptions{AsOthers: r.URL.Query().Get("view") == "shared"}
}

func (h *Handler) getUser(w http.ResponseWriter, r *http.Request) error {
	opt := readOptions(r)
	rec, err := h.dir.GetAccount(r.Context(), refOf(r), opt)
	if err != nil {
		return err
	}
	return okAccount(w, http.StatusOK, rec, opt)
}

// okAccount writes an account with its ETag. The tag is the account's version: it
// changes with every change of the account, and a client sends it back in If-Match so
// that its change applies only to what it read. The shared view is another
// representation of the same version, so it gets its own tag.
func okAccount(w http.ResponseWriter, status int, rec *roster.Record, opt roster.ReadOptions) error {
	w.Header().Set("ETag", etag(rec.Version, opt))
	return ok(w, status, rec)
}

func etag(version int64, opt roster.ReadOptions) string {
	if opt.AsOthers {
		return `"` + strconv.FormatInt(version, 10) + `-shared"`
	}
	return `"` + strconv.FormatInt(version, 10) + `"`
}

// writeOptions reads If-Match. "*" or no header: any version. Otherwise one strong tag
// this API issued, of either view; any other list (weak tags, tags of other versions
// together, tags this API never issued) cannot match a single version, so the change
// is refused as a failed precondition, as RFC 9110 asks.
func writeOptions(r *http.Request) roster.WriteOptions {
	w := ifMatch(r)
	w.Origin = httpx.Origin(r) // for links a change mails (a surface that confirms new emails)
	return w
}

func ifMatch(r *http.Request) roster.WriteOptions {
	h := strings.TrimSpace(strings.Join(r.Header.Values("If-Match"), ","))
	if h == "" {
		return roster.WriteOptions{}
	}
	var version int64
	for _, t := range strings.Split(h, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return roster.WriteOptions{}
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.Trim(t, `"`), "-shared"), 10, 64)
		if !strings.HasPrefix(t, `"`) || !strings.HasSuffix(t, `"`) || len(t) < 3 || err != nil || v <= 0 || (version != 0 && v != version) {
			return roster.WriteOptions{IfVersion: -1}
		}
		version = v
	}
	return roster.WriteOptions{IfVersion: version}
}

func (h *Handler) getMe(w http.ResponseWriter, r *http.Request) error {
	if roster.ActorFromContext(r.Context()).AccountID == 0 {
		return roster.Errorf(roster.ENOTFOUND, "The operator has no account.")
	}
	opt := readOptions(r)
	rec, err := h.dir.GetAccount(r.Context(), meRef(r), opt)
	if err != nil {
		return err
	}
	return okAccount(w, http.StatusOK, rec, opt)
}

// decodeObject reads a JSON object body; merge patches and plain JSON are both accepted.
func decodeObject(r *http.Request) (map[string]any, error) {
	switch mt := httpx.MediaType(r); mt {
	case "application/json", "application/merge-patch+json", "":
	default:
		return nil, roster.Errorf(roster.EINVALID, "Unsupported Content-Type %q: send application/json or application/merge-patch+json.", mt)
	}
	var m map[string]any
	if err := httpx.DecodeJSON(r, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, roster.Errorf(roster.EINVALID, "The request body must be a JSON object.")
	}
	return m, nil
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request) error {
	return h.patch(w, r, refOf(r))
}

func (h *Handler) patchMe(w http.ResponseWriter, r *http.Request) error {
	return h.patch(w, r, meRef(r))
}

func (h *Handler) patch(w http.ResponseWriter, r *http.Request, ref roster.AccountRef) error {
	patch, err := decodeObject(r)
	if err != nil {
		return err
	}
	rec, err := h.dir.MergeAccount(r.Context(), ref, patch, writeOptions(r))
	if err != nil {
		return err
	}
	return okAccount(w, http.StatusOK, rec, roster.ReadOptions{})
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject(r)
	if err != nil {
		return err
	}
	rec, err := h.dir.CreateAccount(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/users/"+strconv.FormatInt(rec.ID, 10))
	return okAccount(w, http.StatusCreated, rec, roster.ReadOptions{})
}

// stateHandler moves the account to a lifecycle state (DELETE is a soft delete).
func stateHandler(st roster.State) func(h *Handler, w http.ResponseWriter, r *http.Request) error {
	return func(h *Handler, w http.ResponseWriter, r *http.Request) error {
		rec, err := h.dir.SetState(r.Context(), refOf(r), st, writeOptions(r))
		if err != nil {
			return err
		}
		return okAccount(w, http.StatusOK, rec, roster.ReadOptions{})
	}
}

func (h *Handler) setPassword(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Password        string `json:"password"`
		CurrentPassword string `json:"current_password"`
	}
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return err
	}
	if err := h.dir.SetPassword(r.Context(), refOf(r), body.Password, body.CurrentPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type userList struct {
	Users      []*roster.Record `json:"users"`
	NextCursor string           `json:"next_cursor,omitempty"`
	Total      *int             `json:"total,omitempty"`
}

// listParams are the parameters of GET /v1/users other than filters.
var listParams = map[string]bool{"q": true, "state": true, "sort": true, "limit": true, "cursor": true, "offset": true,
	"total": true, "view": true}

// listFilter reads the query of GET /v1/users. Besides its own parameters, ATTR.LOOKUP=V
// filters by an attribute (ATTR=V for exact), and a few names stand for filters
// (sysadmin, staff, capability, email, username, created_after, created_before). Which
// attributes and lookups a list accepts is the schema's to say; the core checks. Every
// parameter's problem is reported.
func listFilter(q url.Values) (roster.AccountFilter, error) {
	var f roster.AccountFilter
	var ps []roster.Problem
	bad := func(field, msg string) {
		ps = append(ps, roster.Problem{Field: field, Code: roster.PFormat, Message: msg})
	}
	f.Query = q.Get("q")
	f.Cursor = q.Get("cursor")
	for _, v := range multi(q, "state") {
		if v == "any" {
			f.AnyState = true
			continue
		}
		f.States = append(f.States, roster.State(v)) // the core checks it
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if listParams[k] {
			continue
		}
		vals := multi(q, k)
		switch k {
		case "username", "email":
			f.Fields = append(f.Fields, roster.Filter(k, roster.In, vals...))
		case "sysadmin", "staff":
			f.Fields = append(f.Fields, roster.Filter(k, roster.Exact, q.Get(k)))
		case "capability":
			for _, c := range vals {
				f.Fields = append(f.Fields, roster.Filter(c, roster.Exact, "true"))
			}
		case "created_after":
			f.Fields = append(f.Fields, roster.Filter("created", roster.GT, q.Get(k)))
		case "created_before":
			f.Fields = append(f.Fields, roster.Filter("created", roster.LT, q.Get(k)))
		default:
			attr, lookup, dotted := strings.Cut(k, ".")
			if !dotted {
				lookup = string(roster.Exact)
			}
			switch roster.Lookup(lookup) {
			case roster.In, roster.Range:
				f.Fields = append(f.Fields, roster.Filter(attr, roster.Lookup(lookup), vals...))
			default:
				f.Fields = append(f.Fields, roster.Filter(attr, roster.Lookup(lookup), q.Get(k)))
			}
		}
	}
	if s := q.Get("sort"); s != "" {
		f.Desc = strings.HasPrefix(s, "-")
		f.Sort = roster.AccountSort(strings.TrimPrefix(s, "-"))
	}
	for name, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || name == "limit" && n < 1 {
				bad(name, name+" is a whole number (a limit, at least 1).")
				continue
			}
			*dst = n
		}
	}
	f.WantTotal = q.Get("total") == "true"
	if len(ps) > 0 {
		return f, roster.Invalid(ps...)
	}
	return f, nil
}

// multi reads a parameter given repeatedly or comma-separated.
func multi(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (h *Handler) listUsers(w http.ResponseWriter, r *http.Request) error {
	f, perr := listFilter(r.URL.Query())
	p, err := h.dir.ListAccounts(r.Context(), f, readOptions(r))
	if perr != nil {
		// Report what the core found wrong with the rest too, every problem at once.
		if e := roster.AsError(err); e.Code == roster.EINVALID {
			return roster.Invalid(append(roster.AsError(perr).Problems, e.Problems...)...)
		}
		return perr
	}
	if err != nil {
		return err
	}
	out := userList{Users: p.Records, NextCursor: p.NextCursor}
	if out.Users == nil {
		out.Users = []*roster.Record{}
	}
	if f.WantTotal {
		out.Total = &p.Total
	}
	if p.NextCursor != "" {
		q := r.URL.Query()
		q.Set("cursor", p.NextCursor)
		q.Del("offset")
		w.Header().Set("Link", "</v1/users?"+q.Encode()+`>; rel="next"`)
	}
	return ok(w, http.StatusOK, out)
}
