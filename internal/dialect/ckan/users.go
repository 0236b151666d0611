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

// userDict renders an account as CKAN's user dictionary, keys in CKAN's order. Keys the
// reader may not see (email for others, a private user's full name, …) are left out.
func (h *Handler) userDict(rec *roster.Record, withExtras bool) obj {
	get := func(name string) (any, bool) { return rec.Get(name) }
	d := obj{{"id", rec.UUID}, {"name", rec.Username}}
	fullname, fullnameOK := get("name")
	if fullname == "" {
		fullname = nil
	}
	for _, f := range []struct{ wire, attr string }{
		{"fullname", "name"}, {"created", "created"}, {"about", "bio"}, {"last_active", "last_login"},
		{"activity_streams_email_notifications", "activity_streams_email_notifications"},
		{"sysadmin", "sysadmin"}, {"state", "state"}, {"image_url", "image_url"},
	} {
		v, ok := get(f.attr)
		if !ok {
			continue
		}
		if f.attr == "name" {
			v = fullname
		}
		d = append(d, kv{f.wire, v})
	}
	display := rec.Username
	if s, _ := fullname.(string); fullnameOK && strings.TrimSpace(s) != "" {
		display = s
	}
	d = append(d, kv{"display_name", display})
	email, emailOK := get("email")
	if emailOK {
		e, _ := email.(string)
		sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(e))))
		d = append(d, kv{"email_hash", hex.EncodeToString(sum[:])})
	}
	d = append(d, kv{"number_created_packages", 0})
	if emailOK {
		// CKAN shows the owner and sysadmins the legacy per-user API key. Roster has none
		// (keys are separate and shown once), so it is always null.
		d = append(d, kv{"apikey", nil}, kv{"email", email})
	}
	if v, ok := get("plugin_extras"); ok && withExtras {
		d = append(d, kv{"plugin_extras", v})
	}
	if v, ok := get("image_url"); ok {
		d = append(d, kv{"image_display_url", v})
	}
	return d
}

// Keys of a user dict that are computed, not stored: a client sends them back with
// user_patch, and CKAN ignores them.
var derivedKeys = map[string]bool{"display_name": true, "email_hash": true, "number_created_packages": true,
	"image_display_url": true, "created": true, "last_active": true, "apikey": true, "datasets": true,
	"num_followers": true, "token": true, "id": true, "password_hash": true, "with_apitoken": true}

// sysadminOnly are the keys CKAN silently ignores from anyone but a sysadmin.
var sysadminOnly = []string{"sysadmin", "state", "plugin_extras"}

// input translates a data dict into attribute values by canonical name. Unknown keys are
// ignored, as CKAN ignores them; an empty password means "unchanged".
func (h *Handler) input(data map[string]any, sysadmin bool) map[string]any {
	in := map[string]any{}
	for k, v := range data {
		if derivedKeys[k] {
			continue
		}
		if !sysadmin && (k == "sysadmin" || k == "state" || k == "plugin_extras") {
			continue
		}
		a := h.dir.Schema().ByWireName("ckan", k)
		if a == nil {
			continue
		}
		if k == "password" && str(v) == "" {
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

func (h *Handler) isSysadmin(ctx context.Context) bool { return h.dir.RequireSysadmin(ctx) == nil }

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
	d := h.userDict(rec, extras && h.isSysadmin(ctx))
	if b, _ := asbool(data["include_datasets"], false); b {
		d = append(d, kv{"datasets", []any{}}) // Roster keeps no datasets
	}
	if b, _ := asbool(data["include_num_followers"], false); b {
		d = append(d, kv{"num_followers", 0})
	}
	return d, nil
}

// orders maps user_list's order_by onto Roster's orders. CKAN also accepts about,
// sysadmin and number_created_packages, which Roster does not order by; they fall back
// to the default order. Anything else is refused rather than ignored.
var orders = map[string]roster.AccountSort{
	"display_name": roster.SortDisplay, "name": roster.SortUsername, "fullname": roster.SortName,
	"created": roster.SortCreated, "id": roster.SortUUID,
	"about": roster.SortDisplay, "sysadmin": roster.SortDisplay, "number_created_packages": roster.SortDisplay, "": roster.SortDisplay,
}

// userList lists every account but the deleted. Without limit (CKAN has none) the whole
// list is streamed; limit and offset page it, as an extension.
func (h *Handler) userList(ctx context.Context, data map[string]any) (any, error) {
	orderBy := str(data["order_by"])
	if orderBy == "edits" {
		return nil, invalid(obj{{"message", "order_by=edits is no longer supported"}})
	}
	sortKey, ok := orders[orderBy]
	if !ok {
		return nil, invalid(obj{{"order_by", []string{"Unknown order_by: use one of display_name, name, fullname, created, id, about, sysadmin, number_created_packages"}}})
	}
	allFields, err := asbool(data["all_fields"], true)
	if err != nil {
		return nil, invalid(obj{{"all_fields", []string{err.Error()}}})
	}
	f := roster.AccountFilter{Query: str(data["q"]), Email: str(data["email"]), Sort: sortKey}
	if f.Email != "" && !h.isSysadmin(ctx) {
		return nil, denied("")
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
	render := func(r *roster.Record) any {
		if allFields {
			return h.userDict(r, false)
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

func (h *Handler) userCreate(ctx context.Context, data map[string]any) (any, error) {
	if err := h.dir.RequireSysadmin(ctx); err != nil {
		return nil, denied(fmt.Sprintf("User %s not authorized to create users via the API", roster.ActorFromContext(ctx).Username))
	}
	withToken, _ := asbool(data["with_apitoken"], false)
	in := h.input(data, true)
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
		return nil, invalid(h.fieldErrors(probs))
	}
	rec, err := h.dir.CreateAccount(ctx, in)
	if err != nil {
		return nil, err
	}
	_, extras := data["plugin_extras"]
	d := h.userDict(rec, extras)
	if withToken {
		k, err := h.dir.CreateAPIKey(ctx, roster.RefID(rec.ID), roster.KeyRequest{Label: "default"})
		if err != nil {
			return nil, err
		}
		d = append(d, kv{"token", k.Secret})
	}
	return d, nil
}

// replaced are the user dict's fields that user_update sets from what it is given,
// clearing them when they are missing: the update is a full replace of the dict.
var replaced = []string{"name", "bio", "image_url"}

func (h *Handler) userUpdate(ctx context.Context, data map[string]any) (any, error) {
	return h.update(ctx, data, true)
}

func (h *Handler) userPatch(ctx context.Context, data map[string]any) (any, error) {
	if roster.ErrorCode(h.dir.RequireSysadmin(ctx)) == roster.EUNAUTHENTICATED {
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
	sysadmin := h.isSysadmin(ctx)
	rec, err := h.dir.GetAccount(ctx, roster.ParseAccountRef(id), roster.ReadOptions{})
	if err != nil {
		if roster.ErrorCode(err) != roster.ENOTFOUND {
			return nil, err
		}
		if !replace && !sysadmin {
			return nil, denied("User not found")
		}
		if !replace {
			return nil, notFound("")
		}
		return nil, notFound("User was not found.")
	}
	ref := roster.RefID(rec.ID)
	// An empty change asks the core only whether the caller may edit the account.
	if _, err := h.dir.UpdateAccount(ctx, ref, map[string]any{}); err != nil {
		switch e := roster.AsError(err); e.Code {
		case roster.EUNAUTHENTICATED:
			return nil, denied("Have to be logged in to edit user")
		case roster.EFORBIDDEN:
			if strings.Contains(e.Message, "read-only") {
				return nil, denied(strings.TrimSuffix(e.Message, "."))
			}
			return nil, denied(fmt.Sprintf("User %s not authorized to edit user %s", roster.ActorFromContext(ctx).Username, rec.UUID))
		}
		return nil, err
	}
	in := h.input(data, sysadmin)
	if n, ok := data["name"]; ok {
		if s, _ := n.(string); roster.FoldKey(s) == roster.FoldKey(rec.Username) {
			delete(in, "username") // the same name again is no change
		} else if p := nameProblems(n); p != nil {
			return nil, invalid(obj{{"name", p}})
		}
	}
	if replace {
		if str(data["email"]) == "" {
			return nil, missing("email")
		}
		for _, a := range replaced {
			if _, ok := in[a]; !ok {
				in[a] = nil
			}
		}
	}
	out, err := h.dir.UpdateAccount(ctx, ref, in)
	if err != nil {
		return nil, err
	}
	_, extras := data["plugin_extras"]
	return h.userDict(out, extras && sysadmin), nil
}

func (h *Handler) userDelete(ctx context.Context, data map[string]any) (any, error) {
	if err := h.dir.RequireSysadmin(ctx); err != nil {
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
