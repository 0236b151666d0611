package roster

import (
	"strconv"
	"strings"
	"time"
)

// State is an account's lifecycle state.
type State string

const (
	StateActive      State = "active"
	StatePending     State = "pending"     // registered, not yet confirmed or approved
	StateDeactivated State = "deactivated" // suspended; cannot sign in; can be reactivated
	StateDeleted     State = "deleted"     // soft-deleted; username and email stay reserved
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case StateActive, StatePending, StateDeactivated, StateDeleted:
		return true
	}
	return false
}

// Account is a canonical user. Identity, names, state and roles are columns of the
// store; every other schema attribute lives in Profile. Secrets (password hash, API
// keys) are never part of an Account.
type Account struct {
	ID        int64
	UUID      string
	Username  string
	Email     string
	Name      string // full name
	FirstName string
	LastName  string
	State     State
	Sysadmin  bool
	Staff     bool
	// Capabilities are named grants below sysadmin, sorted (see Schema: storage "capability").
	Capabilities []string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  time.Time // zero: never
	// Profile holds the values of profile attributes, by canonical name. Values are JSON
	// values: string, bool, json.Number, []any, map[string]any.
	Profile map[string]any
	// Version increases with every update; stores refuse an update whose Version is stale.
	Version int64
}

// HasCapability reports whether the account holds capability c itself.
func (a *Account) HasCapability(c string) bool {
	for _, x := range a.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// Clone returns a deep copy, so a change can be compared with the original.
func (a *Account) Clone() *Account {
	b := *a
	b.Capabilities = append([]string(nil), a.Capabilities...)
	b.Profile = make(map[string]any, len(a.Profile))
	for k, v := range a.Profile {
		b.Profile[k] = cloneValue(v)
	}
	return &b
}

// CloneValue deep-copies a JSON value.
func CloneValue(v any) any { return cloneValue(v) }

func cloneValue(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = cloneValue(x[i])
		}
		return out
	case []string:
		return append([]string(nil), x...)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = cloneValue(v)
		}
		return out
	}
	return v
}

// AccountRef names an account the way platform clients do: by numeric id, by UUID or by
// username. Usernames may be neither all digits nor UUID-shaped, so a reference is never
// ambiguous.
type AccountRef struct {
	ID       int64
	UUID     string
	Username string
}

// ParseAccountRef reads a reference from its string form.
func ParseAccountRef(s string) AccountRef {
	if IsNumericID(s) {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			return AccountRef{ID: id}
		}
	}
	if IsUUID(s) {
		return AccountRef{UUID: strings.ToLower(s)}
	}
	return AccountRef{Username: s}
}

// RefID is the reference to the account with numeric id id.
func RefID(id int64) AccountRef { return AccountRef{ID: id} }

func (r AccountRef) String() string {
	switch {
	case r.ID != 0:
		return strconv.FormatInt(r.ID, 10)
	case r.UUID != "":
		return r.UUID
	}
	return r.Username
}

// IsNumericID reports whether s has the shape of a numeric account id.
func IsNumericID(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsUUID reports whether s has the canonical 8-4-4-4-12 hexadecimal UUID shape.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// FoldKey is the case-insensitive form under which usernames and emails are unique.
func FoldKey(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// AccountSort names the orders an account list can be read in; each is served by an index.
type AccountSort string

const (
	SortID        AccountSort = "id"
	SortUsername  AccountSort = "username"
	SortName      AccountSort = "name"
	SortCreated   AccountSort = "created"
	SortLastLogin AccountSort = "last_login"
	SortEmail     AccountSort = "email"
	SortDisplay   AccountSort = "display_name" // full name, else username
	SortUUID      AccountSort = "uuid"
)

// Valid reports whether s is a known sort key.
func (s AccountSort) Valid() bool {
	switch s {
	case SortID, SortUsername, SortName, SortCreated, SortLastLogin, SortEmail, SortDisplay, SortUUID:
		return true
	}
	return false
}

// AccountFilter is what a surface asks of a list of accounts: it selects, orders and
// pages them. The core turns it into an AccountSelection for the store, keeping to
// what the schema allows and the caller may read.
type AccountFilter struct {
	States   []State // empty: every state except deleted
	AnyState bool    // include deleted accounts too
	// Fields must all hold. Each names an attribute by its canonical name and one of the
	// lookups its schema entry declares (Attribute.Filter).
	Fields []FieldFilter
	// Query matches a case-insensitive substring of any of QueryAttrs (by default
	// username, full name and email), each where the caller may read it.
	Query      string
	QueryAttrs []string
	// Sort names an attribute whose schema entry declares sort, or SortDisplay; ""
	// orders by id.
	Sort AccountSort
	Desc bool
	// Then are later keys, each ordering what the keys before it leave tied, each by the
	// same rules as Sort; id breaks the ties left, in Desc's direction unless a later key
	// is id itself. A list with later keys pages by offset: a cursor is refused and none
	// is issued.
	Then      []SortBy
	Limit     int    // lists: 0 takes the default page; streams: 0 is no limit
	Offset    int    // offset paging, for dialects that need it
	Cursor    string // opaque keyset cursor from a previous page; overrides Offset
	WantTotal bool   // count every match (costs a second query)
}

// SortBy is one later key of a list's order (AccountFilter.Then): what Sort and Desc are
// to the first.
type SortBy struct {
	Sort AccountSort
	Desc bool
}

// FieldFilter is one condition of a list on one attribute, as a surface received it:
// values are text, read by the attribute's type (one value; two for range; any number
// for in; true or false for isnull).
type FieldFilter struct {
	Attr   string
	Lookup Lookup
	Values []string
	// Not negates the condition (dynamic-rest's filter{-field}): it holds where the
	// caller may read the attribute and the lookup does not match. A value the caller
	// may not read matches neither the filter nor its negation.
	Not bool
}

// Filter builds a FieldFilter.
func Filter(attr string, l Lookup, values ...string) FieldFilter {
	return FieldFilter{Attr: attr, Lookup: l, Values: values}
}

// AccountPage is one page of a list.
type AccountPage struct {
	Accounts   []*Account
	NextCursor string // empty on the last page, and on every page of a list ordered by several keys
	Total      int    // -1 unless WantTotal
}

// MarshalProfile encodes a profile document for storage.
func MarshalProfile(p map[string]any) (string, error) {
	if len(p) == 0 {
		return "{}", nil
	}
	b, err := appendJSON(make([]byte, 0, 64*len(p)), p)
	return string(b), err
}
