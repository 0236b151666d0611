package roster

import (
	"fmt"
	"slices"
	"time"
)

// Normalize checks a value for the named attribute in the context of the whole schema.
func (s *Schema) Normalize(a *Attribute, v any) (any, *Problem) {
	out, p := a.Normalize(v)
	if p != nil || a.Format != "attribute" || out == nil {
		return out, p
	}
	// Attribute lists name attributes that can be shared one by one.
	for _, name := range out.([]string) {
		b := s.Attr(name)
		if b == nil || (b.Read != LevelShared && b.Read != LevelCustom) {
			return nil, a.problem(PChoice, fmt.Sprintf("%q is not an attribute that can be shared.", name), name)
		}
	}
	return out, nil
}

// Value returns the account's value of a column, capability or profile attribute: string,
// bool, int64, time.Time (zero-free: nil when unset), []string or map[string]any, or nil.
// Computed and secret attributes are not held by the account; Value returns nil for them.
func (a *Account) Value(attr *Attribute) any {
	switch attr.Storage {
	case StoreColumn:
		switch attr.Name {
		case "id":
			return a.ID
		case "uuid":
			return a.UUID
		case "username":
			return a.Username
		case "email":
			return a.Email
		case "name":
			return a.Name
		case "first_name":
			return a.FirstName
		case "last_name":
			return a.LastName
		case "state":
			return string(a.State)
		case "sysadmin":
			return a.Sysadmin
		case "staff":
			return a.Staff
		case "created":
			return timeOrNil(a.CreatedAt)
		case "updated":
			return timeOrNil(a.UpdatedAt)
		case "last_login":
			return timeOrNil(a.LastLoginAt)
		}
	case StoreCapability:
		return a.HasCapability(attr.Name)
	case StoreProfile:
		v, ok := a.Profile[attr.Name]
		if !ok || v == nil {
			return attr.Default
		}
		return profileValue(attr, v)
	}
	return nil
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// profileValue converts a stored JSON value to the attribute's canonical Go type.
func profileValue(attr *Attribute, v any) any {
	switch attr.Type {
	case TypeInt:
		if n, ok := toInt64(v); ok {
			return n
		}
	case TypeTime:
		if s, ok := v.(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return t.UTC()
			}
		}
	case TypeList:
		if xs, ok := v.([]any); ok {
			out := make([]string, 0, len(xs))
			for _, x := range xs {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return v
}

// SetValue stores a normalized value (see Attribute.Normalize) into the account. It
// refuses computed and secret attributes, which are not held by the account.
func (a *Account) SetValue(attr *Attribute, v any) error {
	switch attr.Storage {
	case StoreColumn:
		str, _ := v.(string)
		b, _ := v.(bool)
		switch attr.Name {
		case "username":
			a.Username = str
		case "email":
			a.Email = str
		case "name":
			a.Name = str
		case "first_name":
			a.FirstName = str
		case "last_name":
			a.LastName = str
		case "state":
			a.State = State(str)
		case "sysadmin":
			a.Sysadmin = b
		case "staff":
			a.Staff = b
		default:
			return fmt.Errorf("roster: attribute %q is maintained by Roster", attr.Name)
		}
	case StoreCapability:
		on, _ := v.(bool)
		i := slices.Index(a.Capabilities, attr.Name)
		switch {
		case on && i < 0:
			a.Capabilities = append(a.Capabilities, attr.Name)
			slices.Sort(a.Capabilities)
		case !on && i >= 0:
			a.Capabilities = slices.Delete(a.Capabilities, i, i+1)
		}
	case StoreProfile:
		if a.Profile == nil {
			a.Profile = map[string]any{}
		}
		if v == nil {
			delete(a.Profile, attr.Name)
		} else {
			a.Profile[attr.Name] = storedForm(v)
		}
	default:
		return fmt.Errorf("roster: attribute %q cannot be set on an account", attr.Name)
	}
	return nil
}
