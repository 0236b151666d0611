package roster

// Selecting accounts. The core decides what a caller may filter, search and sort by and
// writes it as a Selection: conditions on the attributes' stored values, including the
// conditions under which the caller may read an attribute at all, so that a row whose
// value is hidden from the caller never matches by it nor sorts by it. The store turns
// a Selection into SQL; it decides nothing.

// Cond is a condition on an account's stored attribute values. A nil Cond holds for
// every account.
type Cond interface{ isCond() }

// Lookup is how Match compares an attribute's value with a given one.
type Lookup string

const (
	Exact       Lookup = "exact"
	IExact      Lookup = "iexact"
	StartsWith  Lookup = "startswith"
	IStartsWith Lookup = "istartswith"
	EndsWith    Lookup = "endswith"
	IEndsWith   Lookup = "iendswith"
	IContains   Lookup = "icontains"
	GT          Lookup = "gt"
	GTE         Lookup = "gte"
	LT          Lookup = "lt"
	LTE         Lookup = "lte"
	In          Lookup = "in"     // Value is a []any of values
	IIn         Lookup = "iin"    // In, without regard to case
	Range       Lookup = "range"  // Value is a []any of two values, both ends included
	IsNull      Lookup = "isnull" // Value is a bool: true matches accounts without a value
)

type (
	// All holds when every condition holds.
	All []Cond
	// AnyOf holds when one condition holds.
	AnyOf []Cond
	// Not holds when C does not.
	Not struct{ C Cond }
	// Never holds for no account.
	Never struct{}
	// Match compares an attribute's value with Value. A profile attribute without a
	// value compares as its default. Value is of the attribute's type: string, int64,
	// bool or time.Time.
	Match struct {
		Attr   *Attribute
		Lookup Lookup
		Value  any
	}
	// Holds is true when the list attribute Attr holds Value.
	Holds struct {
		Attr  *Attribute
		Value string
	}
	// IsAccount holds for the account of that id only.
	IsAccount struct{ ID int64 }
	// MemberOf holds for accounts that are members of a project at one of Places
	// (REDCap members are matched by username); with no places, of any project.
	MemberOf struct{ Places []ProjectPlace }
)

// ProjectPlace is a project, or one DAG of it (DAGID 0: the whole project).
type ProjectPlace struct {
	ProjectID int64
	DAGID     int64
}

func (All) isCond()       {}
func (AnyOf) isCond()     {}
func (Not) isCond()       {}
func (Never) isCond()     {}
func (Match) isCond()     {}
func (Holds) isCond()     {}
func (IsAccount) isCond() {}
func (MemberOf) isCond()  {}

// And joins conditions, dropping those that always hold (nil) and folding to Never when
// one never holds.
func And(cs ...Cond) Cond {
	var out All
	for _, c := range cs {
		switch x := c.(type) {
		case nil:
		case Never:
			return Never{}
		case All:
			out = append(out, x...)
		default:
			out = append(out, c)
		}
	}
	switch len(out) {
	case 0:
		return nil
	case 1:
		return out[0]
	}
	return out
}

// Or joins alternatives: nil (always) when one always holds, Never when none can.
func Or(cs ...Cond) Cond {
	var out AnyOf
	for _, c := range cs {
		switch x := c.(type) {
		case nil:
			return nil
		case Never:
		case AnyOf:
			out = append(out, x...)
		default:
			out = append(out, c)
		}
	}
	switch len(out) {
	case 0:
		return Never{}
	case 1:
		return out[0]
	}
	return out
}

// Negate is Not, simplified.
func Negate(c Cond) Cond {
	switch x := c.(type) {
	case nil:
		return Never{}
	case Never:
		return nil
	case Not:
		return x.C
	}
	return Not{C: c}
}

// AccountSelection is what a list of accounts reads: the store's side of a list.
type AccountSelection struct {
	Where    Cond
	States   []State // empty: every state except deleted
	AnyState bool    // include deleted accounts too
	Sort     AccountSort
	// SortAttr orders by an attribute the store keeps no index for (Sort is then
	// ignored).
	SortAttr *Attribute
	Desc     bool
	// SortVisible is where the caller may read the sort key. Elsewhere the row sorts as
	// if the key were empty (the display name as the username), so an order never
	// reveals what the caller may not read. nil: everywhere.
	SortVisible Cond
	// Then are later keys, each ordering what the keys before it leave tied; the first
	// by id ends the order. id breaks the ties left in Desc's direction. A selection with
	// later keys pages by offset: the store refuses a cursor and issues none.
	Then      []SortKey
	Limit     int    // 0: no limit (streams only); lists cap it
	Offset    int    // offset paging, for dialects that need it
	Cursor    string // opaque keyset cursor from a previous page; overrides Offset
	WantTotal bool   // count every match (costs a second query)
}

// SortKey is one later key of an order (AccountSelection.Then): what Sort, SortAttr,
// Desc and SortVisible are to the first.
type SortKey struct {
	Sort    AccountSort
	Attr    *Attribute // an attribute the store keeps no index for (Sort is then ignored)
	Desc    bool
	Visible Cond // where the caller may read the key; elsewhere the row sorts as if it were empty
}
