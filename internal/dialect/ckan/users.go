package ckan

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/roster"
)

// userDict renders an account as CKAN's user dictionary: every attribute with a CKAN
// name (names.ckan) that the core put in the record, in schema order, then the keys
// CKAN derives from them. Keys the reader may not see are left out; the core decided.
// plugin_extras appears only when asked for (include_plugin_extras), as in CKAN.
func (h *Handler) userDict(rec *roster.Record, order []*roster.Attribute, withExtras bool) obj {
	d := obj{}
	var fullname, email any
	var emailOK, imageOK bool
	var image any
	for _, a := range dictAttrs(rec, order) {
		wire := a.WireName("ckan")
		if wire == "" || a.Storage == roster.StoreSecret || wire == "plugin_extras" && !withExtras {
			continue
		}
		v, _ := rec.Get(a.Name)
		if str, ok := v.(string); ok && str == "" && a.Name != "username" {
			v = nil // CKAN writes an empty text column as null
		}
		switch a.Name {
		case "name":
			fullname = v
		case "email":
			email, emailOK = v, true
			continue // CKAN puts it last
		case "image_url":
			image, imageOK = v, true
		}
		d = append(d, kv{wire, v})
	}
	display := rec.Username
	if s, _ := fullname.(string); strings.TrimSpace(s) != "" {
		display = s
	}
	d = append(d, kv{"display_name", display})
	if emailOK {
		e, _ := email.(string)
		sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(e))))
		d = append(d, kv{"email_hash", hex.EncodeToString(sum[:])})
	}
	d = append(d, kv{"number_created_packages", 0})
	if emailOK {
		// CKAN shows those who may see the email the legacy per-user API key. Roster has
		// none (keys are separate and shown once), so it is always null.
		d = append(d, kv{"apikey", nil}, kv{"email", email})
	}
	if imageOK {
		d = append(d, kv{"image_display_url", image})
	}
	return d
}

// dictAttrs lists the record's visible attributes in the user dict's order: those of
// order first, then the rest in schema order.
func dictAttrs(rec *roster.Record, order []*roster.Attribute) []*roster.Attribute {
	visible := rec.Attrs()
	out := make([]*roster.Attribute, 0, len(visible))
	for _, a := range order {
		if rec.Visible(a.Name) {
			out = append(out, a)
		}
	}
	for _, a := range visible {
		if !slices.Contains(order, a) {
			out = append(out, a)
		}
	}
	return out
}

// dictOrder is the user dict's key order, by the core's policy for this surface.
func (h *Handler) dictOrder(ctx context.Context) ([]*roster.Attribute, error) {
	return h.dir.SurfaceList(ctx, "user_dict")
}

// input translates a data dict into attribute values by canonical name. Keys that name
// no attribute are ignored, as CKAN ignores them; an empty password means "unchanged".
// Whether the caller may set each is the core's to decide (and to drop silently where
// CKAN would).
func (h *Handler) input(sch *roster.Schema, data map[string]any) map[string]any {
	in := map[string]any{}
	for k, v := range data {
		a := sch.ByWireName("ckan", k)
		if a == nil || a.Name == "uuid" {
			continue // the id names the user; it is no change
		}
		if a.Storage == roster.StoreSecret && str(v) == "" {
			continue
		}
		in[a.Name] = v
	}
	return in
}

var ckanName = regexp.MustCompile(`^[a-z0-9_\-]*$`)

// nameProblems are CKAN's rules for user names: stricter than Roster's, so a CKAN
// client cannot create names other CKAN clients would refuse.
func nameProblems(v any) []string {
	s, ok := v.(string)
	switch {
	case !ok:
		return []string{"Names must be strings"}
	case s == "new" || s == "edit" || s == "search":
		return []string{"That name cannot be used"}
	case len(s) < 2:
		return []string{"Must be at least 2 characters long"}
	case len(s) > 100:
		return []string{"Name must be a maximum of 100 characters long"}
	case !ckanName.MatchString(s):
		return []string{"Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"}
	}
	return nil
}

func (h *Handler) userShow(ctx context.Context, data map[string]any) (any, error) {
	actor := roster.ActorFromContext(ctx)
	id := str(data["id"])
	ref := roster.ParseAccountRef(id)
	if id == "" {
		if actor.AccountID == 0 {
			return nil, notFound("")
		}
		ref = roster.RefID(actor.AccountID)
	}
	rec, err := h.dir.GetAccount(ctx, ref, roster.ReadOptions{})
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil, notFound("")
		}
		return nil, err
	}
	extras, _ := asbool(data["include_plugin_extras"], false)
	order, err := h.dictOrder(ctx)
	if err != nil {
		return nil, err
	}
	d := h.userDict(rec, order, extras)
	if b, _ := asbool(data["include_datasets"], false); b {
		d = append(d, kv{"datasets", []any{}}) // Roster keeps no datasets
	}
	if b, _ := asbool(data["include_num_followers"], false); b {
		d = append(d, kv{"num_followers", 0})
	}
	return d, nil
}

// unsortable are user_list orders CKAN accepts that Roster does not order by: its own
// derived dict key, and attributes whose schema entry declares no sort. They fall back
// to the default order, display_name.
func unsortable(sch *roster.Schema, orderBy string) bool {
	if orderBy == "number_created_packages" {
		return true
	}
	a := sch.ByWireName("ckan", orderBy)
	return a != nil && !a.Sort
}

// userList lists every account but the deleted. Without limit (CKAN has none) the whole
// list is streamed; limit and offset page it, as an extension.
func (h *Handler) userList(ctx context.Context, data map[string]any) (any, error) {
	sch, err := h.dir.Schema(ctx)
	if err != nil {
		return nil, err
	}
	orderBy := str(data["order_by"])
	f := roster.AccountFilter{Query: str(data["q"])}
	switch a := sch.ByWireName("ckan", orderBy); {
	case orderBy == "edits":
		return nil, invalid(obj{{"message", "order_by=edits is no longer supported"}})
	case orderBy == "" || orderBy == "display_name" || unsortable(sch, orderBy):
		f.Sort = roster.SortDisplay
	case a != nil:
		f.Sort = roster.AccountSort(a.Name)
	default:
		return nil, invalid(obj{{"order_by", []string{"Unknown order_by: use display_name or a sortable user field (" + strings.Join(sortable(sch), ", ") + ")"}}})
	}
	allFields, err := asbool(data["all_fields"], true)
	if err != nil {
		return nil, invalid(obj{{"all_fields", []string{err.Error()}}})
	}
	if e := str(data["email"]); e != "" {
		f.Fields = append(f.Fields, roster.Filter("email", roster.Exact, e))
	}
	var probs obj
	for _, p := range []struct {
		key string
		dst *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := str(data[p.key]); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				probs = append(probs, kv{p.key, []string{"Invalid integer"}})
				continue
			}
			*p.dst = n
		}
	}
	if len(probs) > 0 {
		return nil, invalid(probs)
	}
	order, err := h.dictOrder(ctx)
	if err != nil {
		return nil, err
	}
	render := func(r *roster.Record) any {
		if allFields {
			return h.userDict(r, order, false)
		}
		return r.Username
	}
	if str(data["limit"]) == "" {
		return stream(func(emit func(any) error) error {
			return h.dir.StreamAccounts(ctx, f, roster.ReadOptions{}, func(r *roster.Record) error { return emit(render(r)) })
		}), nil
	}
	if f.Limit == 0 {
		return []any{}, nil
	}
	page, err := h.dir.ListAccounts(ctx, f, roster.ReadOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]any, len(page.Records))
	for i, r := range page.Records {
		out[i] = render(r)
	}
	return out, nil
}

// sortable lists the CKAN names of the attributes a list may be ordered by.
func sortable(sch *roster.Schema) []string {
	var out []string
	for _, a := range sch.Attrs() {
		if w := a.WireName("ckan"); w != "" && a.Sort {
			out = append(out, w)
		}
	}
	return out
}

func (h *Handler) userCreate(ctx context.Context, data map[string]any) (any, error) {
	if err := h.dir.Authorize(ctx, "user_create"); err != nil {
		return nil, denied(fmt.Sprintf("User %s not authorized to create users via the API", roster.ActorFromContext(ctx).Username))
	}
	sch, err := h.dir.Schema(ctx)
	if err != nil {
		return nil, err
	}
	withToken, _ := asbool(data["with_apitoken"], false)
	in := h.input(sch, data)
	if id := str(data["id"]); id != "" {
		in["uuid"] = id
	}
	// CKAN's own rules (its name syntax; a password is required) and the core's, all
	// reported together, as CKAN reports every invalid field at once.
	var probs []roster.Problem
	if str(data["name"]) == "" {
		probs = append(probs, roster.Problem{Field: "username", Code: roster.PRequired})
	} else if p := nameProblems(data["name"]); p != nil {
		probs = append(probs, roster.Problem{Field: "username", Code: roster.PFormat, Message: p[0]})
		delete(in, "username")
	}
	if str(data["password"]) == "" {
		probs = append(probs, roster.Problem{Field: "password", Code: roster.PRequired})
	}
	if str(data["email"]) == "" {
		probs = append(probs, roster.Problem{Field: "email", Code: roster.PRequired})
	}
	if err := h.dir.CheckNewAccount(ctx, in); err != nil {
		e := roster.AsError(err)
		if len(e.Problems) == 0 {
			return nil, err
		}
		for _, p := range e.Problems {
			if !slices.ContainsFunc(probs, func(q roster.Problem) bool { return q.Field == p.Field }) {
				probs = append(probs, p)
			}
		}
	}
	if len(probs) > 0 {
		return nil, invalid(h.fieldErrors(sch, probs))
	}
	rec, err := h.dir.CreateAccount(ctx, in)
	if err != nil {
		return nil, err
	}
	_, extras := data["plugin_extras"]
	order, err := h.dictOrder(ctx)
	if err != nil {
		return nil, err
	}
	d := h.userDict(rec, order, extras)
	if withToken {
		k, err := h.dir.CreateAPIKey(ctx, roster.RefID(rec.ID), roster.KeyRequest{Label: "default"})
		if err != nil {
			return nil, err
		}
		d = append(d, kv{"token", k.Secret})
	}
	return d, nil
}

func (h *Handler) userUpdate(ctx context.Context, data map[string]any) (any, error) {
	return h.update(ctx, data, true)
}

func (h *Handler) userPatch(ctx context.Context, data map[string]any) (any, error) {
	if err := h.dir.Authorize(ctx, "user_patch"); err != nil {
		return nil, denied("Action user_patch requires an authenticated user")
	}
	return h.update(ctx, data, false)
}

// update is user_update (replace) and user_patch (merge), in CKAN's order of checks:
// the id, whether the user exists, whether the caller may edit it, then the values.
func (h *Handler) update(ctx context.Context, data map[string]any, replace bool) (any, error) {
	id := str(data["id"])
	if id == "" {
		return nil, missing("id")
	}
	sch, err := h.dir.Schema(ctx)
	if err != nil {
		return nil, err
	}
	access, err := h.dir.AccountAccess(ctx, roster.ParseAccountRef(id), "", "")
	if err != nil {
		if roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, err
		}
		if !replace {
			if h.dir.Authorize(ctx, "user_patch_unknown") != nil {
				return nil, denied("User not found")
			}
			return nil, notFound("")
		}
		return nil, notFound("User was not found.")
	}
	if !access.Edit.Allowed {
		switch access.Edit.Rule {
		case roster.RuleAnonymous:
			return nil, denied("Have to be logged in to edit user")
		case roster.RuleReadOnlyKey:
			return nil, denied("This API key is read-only")
		}
		return nil, denied(fmt.Sprintf("User %s not authorized to edit user %s", roster.ActorFromContext(ctx).Username, access.UUID))
	}
	ref := roster.RefID(access.AccountID)
	in := h.input(sch, data)
	if n, ok := data["name"]; ok {
		if s, _ := n.(string); roster.FoldKey(s) == roster.FoldKey(access.Username) {
			delete(in, "username") // the same name again is no change
		} else if p := nameProblems(n); p != nil {
			return nil, invalid(obj{{"name", p}})
		}
	}
	if replace {
		if str(data["email"]) == "" {
			return nil, missing("email")
		}
		cleared, err := h.dir.SurfaceList(ctx, "user_update")
		if err != nil {
			return nil, err
		}
		for _, a := range cleared {
			if _, ok := in[a.Name]; !ok {
				in[a.Name] = nil
			}
		}
	}
	out, err := h.dir.UpdateAccount(ctx, ref, in)
	if err != nil {
		return nil, err
	}
	_, extras := data["plugin_extras"]
	order, err := h.dictOrder(ctx)
	if err != nil {
		return nil, err
	}
	return h.userDict(out, order, extras), nil
}

func (h *Handler) userDelete(ctx context.Context, data map[string]any) (any, error) {
	if err := h.dir.Authorize(ctx, "user_delete"); err != nil {
		if roster.ErrorCode(err) == roster.EUNAUTHENTICATED {
			return nil, denied("Action user_delete requires an authenticated user")
		}
		return nil, denied("")
	}
	id := str(data["id"])
	if id == "" {
		return nil, missing("id")
	}
	rec, err := h.dir.GetAccount(ctx, roster.ParseAccountRef(id), roster.ReadOptions{})
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil, notFound(fmt.Sprintf("User %q was not found.", id))
		}
		return nil, err
	}
	if _, err := h.dir.SetState(ctx, roster.RefID(rec.ID), roster.StateDeleted, roster.WriteOptions{}); err != nil {
		return nil, err
	}
	return nil, nil
}
