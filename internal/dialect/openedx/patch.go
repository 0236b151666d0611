package openedx

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// mergePatchType is the one Content-Type Open edX takes for a PATCH, compared as sent.
const mergePatchType = "application/merge-patch+json"

// readOnlyKeys are the fields Open edX refuses to change, each with its own error.
var readOnlyKeys = map[string]bool{"username": true, "date_joined": true, "is_active": true, "password_toggle_history": true,
	"profile_image": true, "requires_parental_consent": true}

// writableKeys are the fields Open edX's PATCH acts on; any other key is ignored, as
// Open edX ignores it: time_zone too, which only the preferences API changes.
var writableKeys = map[string]bool{"name": true, "bio": true, "gender": true, "level_of_education": true, "country": true,
	"state": true, "year_of_birth": true, "goals": true, "mailing_address": true, "city": true, "phone_number": true,
	"language_proficiencies": true, "social_links": true, "account_privacy": true, "email": true, "secondary_email": true,
	"language": true}

// fieldError is one entry of Open edX's field_errors.
type fieldError struct {
	developer, user string
}

// fieldErrors are a PATCH's errors by field, in the order found.
type fieldErrors struct {
	keys []string
	errs map[string]fieldError
}

func (f *fieldErrors) add(key string, e fieldError) {
	if f.errs == nil {
		f.errs = map[string]fieldError{}
	}
	if _, seen := f.errs[key]; !seen {
		f.keys = append(f.keys, key)
	}
	f.errs[key] = e
}

func (f *fieldErrors) body() obj {
	errs := make(obj, 0, len(f.keys))
	for _, k := range f.keys {
		e := f.errs[k]
		errs = append(errs, kv{k, obj{{"developer_message", e.developer}, {"user_message", e.user}}})
	}
	return obj{{"field_errors", errs}}
}

// invalid is the usual error of a value: Open edX quotes the value as Python prints it
// and the validator's errors as a Python list.
func invalid(key string, sent any, errors string) fieldError {
	return fieldError{developer: fmt.Sprintf("Value '%s' is not valid for field '%s': %s", pyStr(sent), key, errors),
		user: "This value is invalid."}
}

// pyStr is Python's str() of a parsed JSON value: text as is, anything else as repr().
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

func pyList(msgs ...string) string {
	out := "["
	for i, m := range msgs {
		if i > 0 {
			out += ", "
		}
		out += pyString(m)
	}
	return out + "]"
}

// patch applies a merge-patch to the caller's own account, in Open edX's order of
// checks: the media type, then who may change the account, then every field at once.
func (h *Handler) patch(w http.ResponseWriter, r *http.Request, ctx context.Context, actor *roster.Actor, username string) {
	if ct := r.Header.Get("Content-Type"); ct != mergePatchType {
		writeJSON(w, http.StatusUnsupportedMediaType, obj{{"detail", fmt.Sprintf("Unsupported media type %q in request.", ct)}})
		return
	}
	ref := roster.AccountRef{Username: username}
	access, err := h.dir.AccountAccess(ctx, ref, "", "")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if !access.Edit.Allowed {
		switch {
		case access.AccountID == actor.AccountID:
			h.writeError(w, r, &roster.Error{Code: roster.EFORBIDDEN, Message: access.Edit.Detail})
		case h.mayLookUp(ctx):
			writeEmpty(w, http.StatusForbidden) // the seed page: staff learn it exists
		default:
			writeEmpty(w, http.StatusNotFound) // others do not
		}
		return
	}
	var body map[string]any
	if err := httpx.DecodeJSON(r, &body); err != nil {
		if err := httpx.TooLarge(err); roster.ErrorCode(err) == roster.ETOOLARGE {
			h.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusBadRequest, obj{{"detail", "JSON parse error - " + roster.ErrorMessage(err)}})
		return
	}
	sch, err := h.dir.Schema(ctx)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	patch, sent, errs := translatePatch(sch, body)
	if len(errs.keys) > 0 {
		// Report the core's faults too, all in one answer; nothing is written.
		_, err := h.dir.MergeAccount(ctx, ref, patch, roster.WriteOptions{CheckOnly: true})
		if e := roster.AsError(err); err != nil && e.Code == roster.EINVALID {
			addProblems(&errs, sch, e.Problems, sent)
		}
		writeJSON(w, http.StatusBadRequest, errs.body())
		return
	}
	// A new email is mailed a confirmation link (the core's rule for this surface); the
	// link points where the client reached Roster, unless a public address is configured.
	rec, err := h.dir.MergeAccount(ctx, ref, patch, roster.WriteOptions{Origin: httpx.Origin(r)})
	if err != nil {
		e := roster.AsError(err)
		switch e.Code {
		case roster.EINVALID:
			addProblems(&errs, sch, e.Problems, sent)
			writeJSON(w, http.StatusBadRequest, errs.body())
		case roster.EUNAVAILABLE:
			if e.Reason != roster.RQueue {
				h.writeError(w, r, err)
				return
			}
			// The confirmation could not be queued, and nothing was saved: Open edX's
			// answer to a link it could not mail.
			msg := "Unable to send email activation link. Please try again later."
			writeJSON(w, http.StatusBadRequest, obj{{"developer_message", "Error thrown from do_email_change_request: '" + msg + "'"},
				{"user_message", msg}})
		case roster.ECONFLICT, roster.EPRECONDITION:
			writeJSON(w, http.StatusBadRequest, obj{{"developer_message", "Error thrown when saving account updates: '" + roster.ErrorMessage(e) + "'"},
				{"user_message", nil}})
		default:
			h.writeError(w, r, err)
		}
		return
	}
	w.Header().Set("Allow", "GET, HEAD, OPTIONS, PATCH")
	writeOK(w, account(r, rec))
}

// translatePatch turns Open edX's fields into a patch of canonical attributes, and
// returns what was sent for each (for messages). Shapes that have no canonical form (a
// list where an object belongs) are errors here; what the values may be is the core's to
// say.
func translatePatch(sch *roster.Schema, body map[string]any) (map[string]any, map[string]any, fieldErrors) {
	patch, sent := map[string]any{}, map[string]any{}
	var errs fieldErrors
	for _, key := range sortedKeys(body) {
		v := body[key]
		if readOnlyKeys[key] {
			errs.add(key, fieldError{"This field is not editable via this API", fmt.Sprintf("The '%s' field cannot be edited.", key)})
			continue
		}
		attr := sch.ByWireName(roster.ViaOpenEdX, key)
		if !writableKeys[key] || attr == nil {
			continue
		}
		sent[attr.Name] = v
		switch key {
		case "language_proficiencies":
			codes, e := languageCodes(v)
			if e != "" {
				errs.add(key, invalid(key, v, e))
				continue
			}
			patch[attr.Name] = codes
		case "social_links":
			links, e := socialLinks(v)
			if e != nil {
				errs.add(key, *e)
				continue
			}
			if len(links) > 0 {
				patch[attr.Name] = links
			}
		case "account_privacy":
			if v == "" {
				msg := "Preference 'account_privacy' cannot be set to an empty value."
				errs.add(key, fieldError{msg, msg})
				continue
			}
			patch[attr.Name] = v
		case "phone_number":
			if v == nil {
				errs.add(key, invalid(key, v, pyList("This field may not be null.")))
				continue
			}
			patch[attr.Name] = v
		default:
			patch[attr.Name] = v
		}
	}
	return patch, sent, errs
}

// languageCodes reads Open edX's [{"code": "en"}, …] as a list of codes, or says, as
// Django REST framework's list serializer says it, why it is no such list.
func languageCodes(v any) ([]any, string) {
	items, ok := v.([]any)
	if !ok {
		if v == nil {
			return nil, "{'non_field_errors': ['This field may not be null.']}"
		}
		return nil, fmt.Sprintf(`{'non_field_errors': ['Expected a list of items but got type "%s".']}`, pyType(v))
	}
	codes := make([]any, 0, len(items))
	itemErrs := make([]string, len(items))
	bad := false
	for i, it := range items {
		m, ok := it.(map[string]any)
		switch {
		case !ok:
			itemErrs[i], bad = fmt.Sprintf("{'non_field_errors': ['Invalid data. Expected a dictionary, but got %s.']}", pyType(it)), true
		case m["code"] == nil:
			itemErrs[i], bad = "{'code': ['This field is required.']}", true
		default:
			itemErrs[i] = "{}"
			codes = append(codes, m["code"])
		}
	}
	if bad {
		return nil, "[" + join(itemErrs) + "]"
	}
	return codes, ""
}

// socialLinks reads Open edX's [{"platform", "social_link"}, …] as a merge patch of the
// platform → link object: an empty link removes the platform.
func socialLinks(v any) (map[string]any, *fieldError) {
	items, ok := v.([]any)
	if !ok {
		e := invalid("social_links", v, fmt.Sprintf(`{'non_field_errors': ['Expected a list of items but got type "%s".']}`, pyType(v)))
		return nil, &e
	}
	out := map[string]any{}
	for _, it := range items {
		m, ok := it.(map[string]any)
		platform, okP := m["platform"].(string)
		if !ok || !okP {
			e := invalid("social_links", v, "[{'platform': ['This field is required.']}]")
			return nil, &e
		}
		if _, dup := out[platform]; dup {
			e := invalid("social_links", v, pyList("The social_links field must consist of unique social platforms."))
			return nil, &e
		}
		link := m["social_link"]
		if s, isStr := link.(string); isStr && s == "" || link == nil {
			link = nil
		}
		out[platform] = link
	}
	return out, nil
}

// addProblems words the core's problems as Open edX's field errors.
func addProblems(errs *fieldErrors, sch *roster.Schema, problems []roster.Problem, sent map[string]any) {
	for _, p := range problems {
		attr := sch.Attr(p.Field)
		key := p.Field
		if attr != nil && attr.WireName(roster.ViaOpenEdX) != "" {
			key = attr.WireName(roster.ViaOpenEdX)
		}
		v := sent[p.Field]
		switch {
		case p.Code == roster.PReadOnly || p.Code == roster.PForbidden:
			errs.add(key, fieldError{"This field is not editable via this API", fmt.Sprintf("The '%s' field cannot be edited.", key)})
		case p.Field == "bio" && p.Code == roster.PTooLong:
			msg := fmt.Sprintf("The about me field must be at most %d characters long.", p.Limit)
			errs.add(key, fieldError{fmt.Sprintf("Value '%s' is not valid for field '%s': %s", pyStr(v), key, pyList(msg)), msg})
		case p.Field == "email":
			msg := "Valid e-mail address required."
			if p.Reason == roster.RSameEmail {
				msg = "Old email is the same as the new email."
			}
			errs.add(key, fieldError{"Error thrown from validate_new_email: '" + msg + "'", msg})
		case p.Reason == roster.RSocialUsername:
			errs.add(key, fieldError{"Error when adding new social link: '" + p.Message + "'", p.Message})
		case p.Field == "language_proficiencies" && p.Code == roster.PDuplicate:
			errs.add(key, invalid(key, v, pyList("The language_proficiencies field must consist of unique languages.")))
		case p.Field == "language_proficiencies" && p.Code == roster.PChoice:
			errs.add(key, invalid(key, v, languageItemError(v, p.Value, p.Message)))
		case attr != nil && attr.Type == roster.TypeInt && p.Code == roster.PType:
			errs.add(key, invalid(key, v, pyList("A valid integer is required.")))
		case attr != nil && attr.Type != roster.TypeInt && attr.Type != roster.TypeList && attr.Type != roster.TypeObject && p.Code == roster.PType:
			errs.add(key, invalid(key, v, pyList("Not a valid string.")))
		default:
			errs.add(key, invalid(key, v, pyList(p.Message)))
		}
	}
}

// languageItemError puts the error of the refused code at its place in the list, as the
// list serializer reports each item.
func languageItemError(sent, code any, msg string) string {
	items, _ := sent.([]any)
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = "{}"
		if m, ok := it.(map[string]any); ok && fmt.Sprint(m["code"]) == fmt.Sprint(code) {
			out[i] = "{'code': " + pyList(msg) + "}"
		}
	}
	return "[" + join(out) + "]"
}

// pyType names a parsed JSON value's Python type.
func pyType(v any) string {
	switch v.(type) {
	case string:
		return "str"
	case bool:
		return "bool"
	case json.Number:
		if n := v.(json.Number); len(n) > 0 && isIntText(string(n)) {
			return "int"
		}
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case nil:
		return "NoneType"
	}
	return fmt.Sprintf("%T", v)
}

func isIntText(s string) bool {
	for i, c := range s {
		if !(c >= '0' && c <= '9' || i == 0 && c == '-') {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
