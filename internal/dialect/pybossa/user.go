package pybossa

import (
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// secretPlaceholder is what api_key and passwd_hash hold in every user object. PYBOSSA
// shows an admin the stored values; Roster keeps no key or password it could show (they
// are hashed, and keys are shown once when made), so the keys are there with empty
// values, and a client that reads them finds text as it expects.
const secretPlaceholder = ""

// userObject renders an account as PYBOSSA's full user row: every attribute with a
// PYBOSSA name (names.pybossa) that the core put in the record, converted to PYBOSSA's
// types, and the two secret columns with their placeholder. A caller sees only what the
// core let it read; keys it may not read are left out.
func userObject(rec *roster.Record) map[string]any {
	u := map[string]any{"api_key": secretPlaceholder, "passwd_hash": secretPlaceholder}
	for _, a := range rec.Attrs() {
		wire := a.WireName(roster.ViaPYBOSSA)
		if wire == "" || a.Storage == roster.StoreSecret || !a.Readable() {
			continue
		}
		v, _ := rec.Get(a.Name)
		u[wire] = pybossaValue(a, v)
	}
	return u
}

// pybossaValue converts a value to the type of PYBOSSA's column: booleans are never
// null, info is an object, times are ISO text in UTC without a zone, and the privacy
// level is PYBOSSA's privacy_mode flag (private or not).
func pybossaValue(a *roster.Attribute, v any) any {
	switch a.Name {
	case "privacy":
		s, _ := v.(string)
		return s == "" || s == "private"
	case "name":
		if v == nil {
			return "" // PYBOSSA's fullname is required
		}
	case "info":
		if v == nil {
			return map[string]any{}
		}
	}
	switch a.Type {
	case roster.TypeBool:
		b, _ := v.(bool)
		return b
	case roster.TypeTime:
		t, ok := v.(time.Time)
		if !ok || t.IsZero() {
			return nil
		}
		return isoformat(t)
	}
	if s, ok := v.(string); ok && s == "" && a.Name != "name" {
		return nil
	}
	return v
}

// isoformat writes t as Python's datetime.isoformat() does for PYBOSSA's naive UTC
// times: microseconds only when there are any.
func isoformat(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() < 1000 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}
