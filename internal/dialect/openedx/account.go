package openedx

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// accountKeys are the account object's keys in Open edX's order (its admin_fields, then
// the seed page's language and accomplishments_shared). A key is either an attribute
// with that Open edX name (names.openedx) or one of the fixed keys below.
var accountKeys = []string{
	"account_privacy", "profile_image", "username", "bio", "course_certificates", "country", "date_joined",
	"language_proficiencies", "level_of_education", "social_links", "time_zone", "name", "email", "id",
	"verified_name", "extended_profile", "gender", "state", "goals", "is_active", "last_login", "mailing_address",
	"requires_parental_consent", "secondary_email", "secondary_email_enabled", "year_of_birth", "phone_number",
	"pending_name_change", "language", "accomplishments_shared",
}

// fixedKey is a key Open edX always sends with the same value here (Roster keeps no
// certificates, verified names, extended profiles or pending name changes; and Open edX's
// accounts API answers time_zone null whatever the time_zone preference holds, which only
// the preferences API serves). It shows where the caller reads the attribute it goes
// with: course_certificates where date_joined shows, time_zone where the time_zone
// attribute would (so that it is shared one by one, visibility.time_zone), the others
// only in the full view (last_login's level).
type fixedKey struct {
	value     any
	companion string // canonical attribute whose visibility it follows
}

var fixedKeys = map[string]fixedKey{
	"course_certificates":     {nil, "created"},
	"time_zone":               {nil, "time_zone"},
	"verified_name":           {nil, "last_login"},
	"extended_profile":        {[]any{}, "last_login"},
	"secondary_email_enabled": {nil, "secondary_email"},
	"pending_name_change":     {nil, "last_login"},
	"accomplishments_shared":  {false, "last_login"},
}

// imageSizes are the profile image's sizes, by Open edX's names.
var imageSizes = []struct {
	name string
	px   int
}{{"full", 500}, {"large", 120}, {"medium", 50}, {"small", 30}}

// account renders a record as Open edX's account object, holding the keys the core let
// the caller read.
func account(r *http.Request, rec *roster.Record) obj {
	sch := rec.Schema()
	out := make(obj, 0, len(accountKeys))
	for _, key := range accountKeys {
		if key == "profile_image" {
			out = append(out, kv{key, profileImage(r, rec)})
			continue
		}
		if f, ok := fixedKeys[key]; ok {
			if rec.Visible(f.companion) {
				out = append(out, kv{key, f.value})
			}
			continue
		}
		attr := sch.ByWireName(roster.ViaOpenEdX, key)
		if attr == nil || !rec.Visible(attr.Name) {
			continue
		}
		v, _ := rec.Get(attr.Name)
		out = append(out, kv{key, wireValue(attr, v)})
	}
	return out
}

// wireValue converts a value to Open edX's form of its field.
func wireValue(attr *roster.Attribute, v any) any {
	switch attr.Name {
	case "created": // date_joined: whole seconds
		if t, ok := v.(time.Time); ok {
			return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
		}
	case "language_proficiencies":
		codes, _ := v.([]string)
		codes = slices.Sorted(slices.Values(codes))
		out := make([]obj, len(codes))
		for i, c := range codes {
			out[i] = obj{{"code", c}}
		}
		return out
	case "social_links":
		links, _ := v.(map[string]any)
		platforms := make([]string, 0, len(links))
		for p := range links {
			platforms = append(platforms, p)
		}
		slices.Sort(platforms)
		out := make([]obj, len(platforms))
		for i, p := range platforms {
			out[i] = obj{{"platform", p}, {"social_link", links[p]}}
		}
		return out
	case "name":
		if v == nil {
			return ""
		}
	}
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return nil
		}
		x = x.UTC()
		if x.Nanosecond() == 0 {
			return x.Format("2006-01-02T15:04:05Z")
		}
		return x.Format("2006-01-02T15:04:05.000000Z")
	case string:
		if x == "" && attr.Type == roster.TypeString {
			return nil
		}
	}
	return v
}

// profileImage is the profile_image object: the absolute addresses of the account's
// uploaded images, versioned by the upload time (epoch seconds) so that caches fetch a
// new upload, or of the default images. The core leaves both attributes out where the
// caller may not see an image (an account that needs parental consent).
func profileImage(r *http.Request, rec *roster.Record) obj {
	base := httpx.Origin(r)
	at, _ := rec.Get("profile_image_uploaded_at")
	name, _ := rec.Get("profile_image_name")
	uploaded, ok := at.(time.Time)
	stem, _ := name.(string)
	has := ok && stem != ""
	out := obj{{"has_image", has}}
	for _, s := range imageSizes {
		url := base + "/static/images/profiles/default_" + strconv.Itoa(s.px) + ".png"
		if has {
			url = base + "/media/profile-images/" + stem + "_" + strconv.Itoa(s.px) + ".jpg?v=" + strconv.FormatInt(uploaded.Unix(), 10)
		}
		out = append(out, kv{"image_url_" + s.name, url})
	}
	return out
}

// list answers GET /accounts: by username (the seed's usernames too), else by email or
// lms_user_id (staff only), else the caller's own account.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	ctx, actor := h.accountsCaller(w, r)
	if actor == nil {
		return
	}
	q := r.URL.Query()
	opt := roster.ReadOptions{AsOthers: q.Get("view") == "shared"}
	names, byName := q["username"], q.Has("username")
	if !byName {
		names, byName = q["usernames"], q.Has("usernames")
	}
	var recs []*roster.Record
	switch {
	case byName:
		var refs []roster.AccountRef
		seen := map[string]bool{}
		for _, v := range names {
			for _, u := range strings.Split(strings.Trim(v, ","), ",") {
				if u != "" && !seen[roster.FoldKey(u)] {
					seen[roster.FoldKey(u)] = true
					refs = append(refs, roster.AccountRef{Username: u})
				}
			}
		}
		found, err := h.dir.GetAccounts(ctx, refs, opt)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		for _, rec := range found {
			if rec != nil {
				recs = append(recs, rec)
			}
		}
	case q.Has("email"):
		page, err := h.dir.ListAccounts(ctx, roster.AccountFilter{Fields: []roster.FieldFilter{roster.Filter("email", roster.IExact, q.Get("email"))}, Limit: 2}, opt)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		recs = page.Records
	case q.Has("lms_user_id"):
		id, err := strconv.ParseInt(q.Get("lms_user_id"), 10, 64)
		if err != nil || id <= 0 || strings.TrimLeft(q.Get("lms_user_id"), "0123456789") != "" {
			writeEmpty(w, http.StatusBadRequest)
			return
		}
		rec, err := h.dir.GetAccount(ctx, roster.RefID(id), opt)
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			h.writeError(w, r, err)
			return
		}
		if rec != nil {
			recs = append(recs, rec)
		}
	default:
		rec, err := h.dir.GetAccount(ctx, roster.RefID(actor.AccountID), opt)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		writeEmpty(w, http.StatusNotFound)
		return
	}
	out := make([]obj, len(recs))
	for i, rec := range recs {
		out[i] = account(r, rec)
	}
	writeOK(w, out)
}

// account answers /accounts/{username}: GET one account, PATCH one's own.
func (h *Handler) account(w http.ResponseWriter, r *http.Request) {
	ctx, actor := h.accountsCaller(w, r)
	if actor == nil {
		return
	}
	username := r.PathValue("username")
	if !usernamePattern.MatchString(username) {
		writeEmpty(w, http.StatusNotFound)
		return
	}
	if r.Method == http.MethodPatch {
		h.patch(w, r, ctx, actor, username)
		return
	}
	rec, err := h.dir.GetAccount(ctx, roster.AccountRef{Username: username}, roster.ReadOptions{AsOthers: r.URL.Query().Get("view") == "shared"})
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Allow", "GET, HEAD, OPTIONS, PATCH")
	writeOK(w, account(r, rec))
}
