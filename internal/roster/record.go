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
	// values and visible are indexed by the attribute's position in the schema.
	values  []any
	visible []bool
}

// NewRecord starts an empty record of the account; the core adds what may be seen.
func NewRecord(s *Schema, a *Account) *Record {
	n := len(s.attrs)
	return &Record{ID: a.ID, UUID: a.UUID, Username: a.Username, Version: a.Version, schema: s, values: make([]any, n), visible: make([]bool, n)}
}

// Set puts a visible attribute's value into the record.
func (r *Record) Set(name string, v any) {
	if i, ok := r.schema.index[name]; ok {
		r.setAt(i, v)
	}
}

func (r *Record) setAt(i int, v any) {
	r.values[i], r.visible[i] = v, true
}

// SetAttr is Set for an attribute of the record's schema, by position, without a lookup.
func (r *Record) SetAttr(a *Attribute, v any) { r.setAt(a.index, v) }

// Get returns an attribute's value and whether the reader may see it. A visible
// attribute without a value gives (nil, true).
func (r *Record) Get(name string) (any, bool) {
	i, ok := r.schema.index[name]
	if !ok || !r.visible[i] {
		return nil, false
	}
	return r.values[i], true
}

// Visible reports whether the reader may see the attribute.
func (r *Record) Visible(name string) bool {
	i, ok := r.schema.index[name]
	return ok && r.visible[i]
}

// Attrs returns the visible attributes in schema order.
func (r *Record) Attrs() []*Attribute {
	var out []*Attribute
	for i, a := range r.schema.attrs {
		if r.visible[i] {
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
	for i, a := range r.schema.attrs {
		if !r.visible[i] {
			continue
		}
		v := r.values[i]
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
