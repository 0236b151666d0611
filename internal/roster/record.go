package roster

import "time"

// Record is an account as one reader may see it: only the attributes the core decided
// that reader may read, with their values. Dialects and the native API render Records;
// they never see an Account, so they cannot show what the reader may not see.
type Record struct {
	ID       int64
	UUID     string
	Username string
	// Version is the account's version when it was read: the basis of ETags, and of
	// WriteOptions.IfVersion.
	Version int64
	schema  *Schema
	// of, when set, lists the only attributes the record can hold (NewRecordOf), and
	// values and visible are indexed by position in it; otherwise by the attribute's
	// position in the schema.
	of      []*Attribute
	values  []any
	visible []bool
}

// NewRecord starts an empty record of the account; the core adds what may be seen.
func NewRecord(s *Schema, a *Account) *Record {
	n := len(s.attrs)
	return &Record{ID: a.ID, UUID: a.UUID, Username: a.Username, Version: a.Version, schema: s, values: make([]any, n), visible: make([]bool, n)}
}

// NewRecordOf is NewRecord for a record that holds only some attributes, of, given in
// schema order: a listing of many accounts that shows a few of their attributes then
// allocates for those few.
func NewRecordOf(s *Schema, a *Account, of []*Attribute) *Record {
	n := len(of)
	return &Record{ID: a.ID, UUID: a.UUID, Username: a.Username, Version: a.Version, schema: s, of: of, values: make([]any, n), visible: make([]bool, n)}
}

// slot is where the attribute at schema position i is held, or -1.
func (r *Record) slot(i int) int {
	if r.of == nil {
		return i
	}
	for k, a := range r.of {
		if a.index == i {
			return k
		}
	}
	return -1
}

// attrs are the attributes the record can hold, in slot order.
func (r *Record) attrs() []*Attribute {
	if r.of != nil {
		return r.of
	}
	return r.schema.attrs
}

// Set puts a visible attribute's value into the record.
func (r *Record) Set(name string, v any) {
	if i, ok := r.schema.index[name]; ok {
		r.setAt(r.slot(i), v)
	}
}

func (r *Record) setAt(k int, v any) {
	if k >= 0 {
		r.values[k], r.visible[k] = v, true
	}
}

// SetAttr is Set for an attribute of the record's schema, by position, without a lookup.
func (r *Record) SetAttr(a *Attribute, v any) { r.setAt(r.slot(a.index), v) }

// Get returns an attribute's value and whether the reader may see it. A visible
// attribute without a value gives (nil, true).
func (r *Record) Get(name string) (any, bool) {
	i, ok := r.schema.index[name]
	if !ok {
		return nil, false
	}
	k := r.slot(i)
	if k < 0 || !r.visible[k] {
		return nil, false
	}
	return r.values[k], true
}

// Visible reports whether the reader may see the attribute.
func (r *Record) Visible(name string) bool {
	_, ok := r.Get(name)
	return ok
}

// Attrs returns the visible attributes in schema order.
func (r *Record) Attrs() []*Attribute {
	var out []*Attribute
	for k, a := range r.attrs() {
		if r.visible[k] {
			out = append(out, a)
		}
	}
	return out
}

// Schema is the schema the record was read under.
func (r *Record) Schema() *Schema { return r.schema }

// MarshalJSON writes the visible attributes by canonical name, in schema order.
func (r *Record) MarshalJSON() ([]byte, error) { return r.AppendJSON(make([]byte, 0, 2048)) }

// AppendJSON appends what MarshalJSON writes.
func (r *Record) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	first := true
	for k, a := range r.attrs() {
		if !r.visible[k] {
			continue
		}
		v := r.values[k]
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(appendJSONString(b, a.Name), ':')
		var err error
		if t, isTime := v.(time.Time); isTime {
			b = append(t.UTC().AppendFormat(append(b, '"'), time.RFC3339Nano), '"')
		} else if b, err = appendJSON(b, v); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// JSONValue is the form of a value in Roster's JSON: times in RFC 3339 UTC.
func JSONValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return v
}
