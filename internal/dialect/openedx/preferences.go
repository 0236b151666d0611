package openedx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// Open edX keeps account visibility as user preferences: account_privacy, and
// visibility.<field> ("all_users" shares the field when the privacy is custom). Roster
// keeps them as the account's privacy and shared_fields attributes. It also keeps the
// preferences the account micro-frontend saves, as attributes (attributePreferences);
// it keeps no other preference.

const (
	privacyKey       = "account_privacy"
	visibilityPrefix = "visibility."
	timeZoneKey      = "time_zone"
)

// attributePreferences are the preferences Roster keeps as attributes, by Open edX's key:
// the time zone, and the language (pref-lang), which the accounts API calls language.
var attributePreferences = map[string]string{timeZoneKey: "time_zone", "pref-lang": "locale"}

// preferenceKeyPattern is the single-key route's key, as Open edX's route matches it: a
// key with a dot (visibility.bio) or a dash (pref-lang) is reached through the collection
// only.
var preferenceKeyPattern = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)

// preferences reads the caller's view of an account's visibility preferences, after the
// core's decision that the caller may: the owner, and staff (for reading).
func (h *Handler) preferenceAccount(w http.ResponseWriter, r *http.Request, ctx context.Context, actor *roster.Actor, write bool) (*roster.Record, bool) {
	username := r.PathValue("username")
	if !usernamePattern.MatchString(username) {
		writeEmpty(w, http.StatusNotFound)
		return nil, false
	}
	ref := roster.AccountRef{Username: username}
	access, err := h.dir.AccountAccess(ctx, ref, "", "")
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND && !h.mayLookUp(ctx) {
			// Open edX decides who may before it looks the user up.
			writeJSON(w, http.StatusForbidden, obj{{"detail", "You do not have permission to perform this action."}})
			return nil, false
		}
		h.writeError(w, r, err)
		return nil, false
	}
	sharedRead := access.Field("shared_fields")
	switch {
	case write && !access.Edit.Allowed && access.AccountID == actor.AccountID:
		h.writeError(w, r, &roster.Error{Code: roster.EFORBIDDEN, Message: access.Edit.Detail})
		return nil, false
	case write && !access.Edit.Allowed && h.mayLookUp(ctx):
		writeEmpty(w, http.StatusForbidden) // staff read others' preferences, never change them
		return nil, false
	case !write && (sharedRead == nil || !sharedRead.Read.Allowed), write && !access.Edit.Allowed:
		writeJSON(w, http.StatusForbidden, obj{{"detail", "You do not have permission to perform this action."}})
		return nil, false
	}
	rec, err := h.dir.GetAccount(ctx, ref, roster.ReadOptions{})
	if err != nil {
		h.writeError(w, r, err)
		return nil, false
	}
	return rec, true
}

// storedPreferences are the account's preferences, as Open edX lists them, by key.
func storedPreferences(rec *roster.Record) obj {
	prefs := map[string]any{}
	if v, _ := rec.Get("privacy"); v != nil {
		prefs[privacyKey] = v
	}
	for key, attr := range attributePreferences {
		if v, _ := rec.Get(attr); v != nil && v != "" {
			prefs[key] = v
		}
	}
	shared, _ := rec.Get("shared_fields")
	fields, _ := shared.([]string)
	sch := rec.Schema()
	for _, f := range fields {
		if a := sch.Attr(f); a != nil && a.WireName(roster.ViaOpenEdX) != "" {
			prefs[visibilityPrefix+a.WireName(roster.ViaOpenEdX)] = "all_users"
		}
	}
	out := make(obj, 0, len(prefs))
	for _, k := range sortedKeys(prefs) {
		out = append(out, kv{k, prefs[k]})
	}
	return out
}

func (h *Handler) preferences(w http.ResponseWriter, r *http.Request) {
	ctx, actor := h.caller(w, r)
	if actor == nil {
		return
	}
	if r.Method != http.MethodPatch {
		rec, ok := h.preferenceAccount(w, r, ctx, actor, false)
		if ok {
			w.Header().Set("Allow", "GET, PATCH, HEAD, OPTIONS")
			writeOK(w, storedPreferences(rec))
		}
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != mergePatchType {
		writeJSON(w, http.StatusUnsupportedMediaType, obj{{"detail", fmt.Sprintf("Unsupported media type %q in request.", r.Header.Get("Content-Type"))}})
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		h.writeError(w, r, httpx.TooLarge(err))
		return
	}
	var body map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := httpx.DecodeJSONBytes(raw, new(any)); err != nil {
			writeJSON(w, http.StatusBadRequest, obj{{"detail", "JSON parse error - " + roster.ErrorMessage(err)}})
			return
		}
		_ = httpx.DecodeJSONBytes(raw, &body) // a value that is no object is no data
	}
	if len(body) == 0 {
		msg := "No data provided for user preference update"
		writeJSON(w, http.StatusBadRequest, obj{{"developer_message", msg}, {"user_message", msg}})
		return
	}
	rec, ok := h.preferenceAccount(w, r, ctx, actor, true)
	if !ok {
		return
	}
	h.setPreferences(w, r, ctx, rec, body, true)
}

// setPreferences applies preference changes as one change of the account, at the
// version read, so that a concurrent change is not overwritten: every error at once, and
// nothing saved while any remains.
func (h *Handler) setPreferences(w http.ResponseWriter, r *http.Request, ctx context.Context, rec *roster.Record, prefs map[string]any, wrapped bool) {
	sch := rec.Schema()
	shared, _ := rec.Get("shared_fields")
	fields, _ := shared.([]string)
	fields = slices.Clone(fields)
	patch := map[string]any{}
	keyOf := map[string]string{} // attribute → the preference that changes it, for errors
	var errs fieldErrors
	for _, key := range sortedKeys(prefs) {
		v := prefs[key]
		text := ""
		if v != nil {
			text = strings.TrimSpace(pyStr(v))
			if text == "" {
				msg := fmt.Sprintf("Preference '%s' cannot be set to an empty value.", key)
				errs.add(key, fieldError{msg, msg})
				continue
			}
		}
		attr := attributePreferences[key]
		switch {
		case key == privacyKey:
			attr = "privacy"
		case attr != "":
		case strings.HasPrefix(key, visibilityPrefix):
			a := sch.ByWireName(roster.ViaOpenEdX, strings.TrimPrefix(key, visibilityPrefix))
			if a == nil {
				// Open edX's shareable fields Roster keeps no value of
				// (course_certificates): always empty, so nothing to share.
				continue
			}
			fields = slices.DeleteFunc(fields, func(f string) bool { return f == a.Name })
			if text == "all_users" {
				fields = append(fields, a.Name)
			}
			patch["shared_fields"] = fields
			keyOf["shared_fields"] = "visibility"
			continue
		default:
			errs.add(key, fieldError{
				fmt.Sprintf("Roster keeps only the preferences account_privacy, visibility.<field>, time_zone and pref-lang, not '%s'.", key),
				fmt.Sprintf("The preference '%s' cannot be saved.", key)})
			continue
		}
		keyOf[attr] = key
		patch[attr] = nil
		if v != nil {
			patch[attr] = text
		}
	}
	if len(patch) > 0 {
		// With faults of its own found, the dialect asks the core for its faults too.
		_, err := h.dir.MergeAccount(ctx, roster.RefID(rec.ID), patch, roster.WriteOptions{IfVersion: rec.Version, CheckOnly: len(errs.keys) > 0})
		if err != nil {
			e := roster.AsError(err)
			if e.Code != roster.EINVALID {
				h.writeError(w, r, err)
				return
			}
			for _, p := range e.Problems {
				key := keyOf[p.Field]
				if key == "" {
					key = p.Field
				}
				errs.add(key, preferenceValueError(key, prefs[key], p.Message))
			}
		}
	}
	if len(errs.keys) > 0 {
		if !wrapped {
			e := errs.errs[errs.keys[0]]
			writeJSON(w, http.StatusBadRequest, obj{{"developer_message", e.developer}, {"user_message", e.user}})
			return
		}
		writeJSON(w, http.StatusBadRequest, errs.body())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// preferenceValueError is Open edX's error of a value its preference refuses: the time
// zone's own, or the serializer's.
func preferenceValueError(key string, sent any, msg string) fieldError {
	v := pyStr(sent)
	if key == timeZoneKey {
		return fieldError{fmt.Sprintf("Value '%s' not valid for preference '%s': Not in timezone set.", v, key),
			fmt.Sprintf("Value '%s' is not a valid time zone selection.", v)}
	}
	return fieldError{fmt.Sprintf("Value '%s' not valid for preference '%s': {'value': %s}", v, key, pyList(msg)),
		fmt.Sprintf("Value '%s' is not valid for user preference '%s'.", v, key)}
}

// preference serves one preference: GET, PUT and DELETE; account_privacy and time_zone
// are reachable so (Open edX's key pattern has neither dot nor dash).
func (h *Handler) preference(w http.ResponseWriter, r *http.Request) {
	ctx, actor := h.caller(w, r)
	if actor == nil {
		return
	}
	key := r.PathValue("key")
	if !preferenceKeyPattern.MatchString(key) {
		writeEmpty(w, http.StatusNotFound)
		return
	}
	rec, ok := h.preferenceAccount(w, r, ctx, actor, r.Method != http.MethodGet && r.Method != http.MethodHead)
	if !ok {
		return
	}
	current, _ := storedPreferences(rec).get(key)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if current == nil {
			writeEmpty(w, http.StatusNotFound)
			return
		}
		w.Header().Set("Allow", "GET, PUT, DELETE, HEAD, OPTIONS")
		writeOK(w, current)
	case http.MethodPut:
		var v any
		if err := httpx.DecodeJSON(r, &v); err != nil {
			if r.ContentLength != 0 {
				writeJSON(w, http.StatusBadRequest, obj{{"detail", "JSON parse error - " + roster.ErrorMessage(err)}})
				return
			}
			v = map[string]any{}
		}
		if v == nil {
			msg := fmt.Sprintf("Preference '%s' cannot be set to an empty value.", key)
			writeJSON(w, http.StatusBadRequest, obj{{"developer_message", msg}, {"user_message", msg}})
			return
		}
		h.setPreferences(w, r, ctx, rec, map[string]any{key: v}, false)
	case http.MethodDelete:
		if current == nil {
			writeEmpty(w, http.StatusNotFound)
			return
		}
		h.setPreferences(w, r, ctx, rec, map[string]any{key: nil}, false)
	}
}

func (o obj) get(k string) (any, bool) {
	for _, m := range o {
		if m.k == k {
			return m.v, true
		}
	}
	return nil, false
}
