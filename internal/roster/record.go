package roster

import (
	"bytes"
	"encoding/json"
	"time"
)

// Record is an account as one reader may see it: only the attributes the core decided
// that reader may read, with their values. Dialects and the native API render Records;
// they never see an Account, so they cannot show what the reader may not see.
type Record struct {
	ID       int64
	UUID     string
	Username string
	schema   *Schema
	values   map[string]any
}

// NewRecord starts an empty record of the account; the core adds what may be seen.
func NewRecord(s *Schema, a *Account) *Record {
	return &Record{ID: a.ID, UUID: a.UUID, Username: a.Username, schema: s, values: map[string]any{}}
}

// Set puts a visible attribute's value into the record.
func (r *Record) Set(name string, v any) { r.values[name] = v }

// Get returns an attribute's value and whether the reader may see it. A visible
// attribute without a value gives (nil, true).
func (r *Record) Get(name string) (any, bool) {
	v, ok := r.values[name]
	return v, ok
}

// Visible reports whether the reader may see the attribute.
func (r *Record) Visible(name string) bool {
	_, ok := r.values[name]
	return ok
}

// Attrs returns the visible attributes in schema order.
func (r *Record) Attrs() []*Attribute {
	out := make([]*Attribute, 0, len(r.values))
	for _, a := range r.schema.Attrs() {
		if _, ok := r.values[a.Name]; ok {
			out = append(out, a)
		}
	}
	return out
}

// Schema is the schema the record was read under.
func (r *Record) Schema() *Schema { return r.schema }

// MarshalJSON writes the visible attributes by canonical name, in schema order.
func (r *Record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, a := range r.Attrs() {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(a.Name)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(JSONValue(r.values[a.Name]))
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// JSONValue is the form of a value in Roster's JSON: times in RFC 3339 UTC.
func JSONValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339Nano)
	}
	return v
}
