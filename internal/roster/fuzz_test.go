package roster_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

// FuzzNormalize offers values to every attribute of the default schema, as a client
// sends them: a JSON document's value, or, when the text is no JSON, the text itself
// (what CSV cells and form fields carry). A refusal names the attribute. A value the
// attribute accepts must survive what happens to it next: stored in the account and
// kept in the profile document, it reads back as accepted; read and sent again by a
// client, it is accepted again as the value it is. The core depends on the last to take
// a value sent back unchanged as no change.
func FuzzNormalize(f *testing.F) {
	sch, err := roster.LoadSchema()
	if err != nil {
		f.Fatal(err)
	}
	var attrs []*roster.Attribute
	for _, a := range sch.Attrs() {
		if a.Storage != roster.StoreComputed && a.Storage != roster.StoreSecret {
			attrs = append(attrs, a)
		}
	}
	f.Fuzz(func(t *testing.T, attr uint8, text string) {
		a := attrs[int(attr)%len(attrs)]
		var v any = text
		dec := json.NewDecoder(bytes.NewReader([]byte(text)))
		dec.UseNumber()
		var parsed any
		if dec.Decode(&parsed) == nil && !dec.More() {
			v = parsed
		}
		out, p := sch.Normalize(a, v)
		if p != nil {
			if p.Field != a.Name || p.Code == "" || p.Message == "" {
				t.Fatalf("%s: problem %+v", a.Name, p)
			}
			return
		}
		// Stored as the account holds it, in the profile document as the store writes
		// it, read back and written out as a client reads it.
		acct := &roster.Account{Profile: map[string]any{}}
		if err := acct.SetValue(a, out); err != nil {
			return // maintained by Roster: never set from outside
		}
		doc, err := roster.MarshalProfile(acct.Profile)
		if err != nil {
			t.Fatalf("%s: %#v cannot be stored: %v", a.Name, out, err)
		}
		if acct.Profile, err = roster.UnmarshalProfile([]byte(doc)); err != nil {
			t.Fatalf("%s: stored profile %s does not read back: %v", a.Name, doc, err)
		}
		read := roster.JSONValue(acct.Value(a))
		wire, err := json.Marshal(read)
		if err != nil {
			t.Fatalf("%s: %#v cannot be sent: %v", a.Name, read, err)
		}
		dec = json.NewDecoder(bytes.NewReader(wire))
		dec.UseNumber()
		var sent any
		if err := dec.Decode(&sent); err != nil {
			t.Fatal(err)
		}
		if out != nil && jsonOf(t, out) != string(wire) {
			t.Fatalf("%s: %q was accepted as %#v and read back as %s", a.Name, text, out, wire)
		}
		again, p := sch.Normalize(a, sent)
		if p != nil {
			t.Fatalf("%s: %q was accepted as %#v, read back as %s and refused: %+v", a.Name, text, out, wire, p)
		}
		// A column holds no value as its type's zero, which reads back as such.
		noValue := again == nil && (string(wire) == `""` || string(wire) == "false" || string(wire) == "null")
		if got := jsonOf(t, again); got != string(wire) && !noValue {
			t.Fatalf("%s: %q was accepted as %#v, read back as %s and sent again became %s", a.Name, text, out, wire, got)
		}
	})
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(roster.JSONValue(v))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzLoadSchema feeds schema extensions (the operator's --schema file, and PUT
// /v1/policy/schema from a system administrator) to LoadSchema. No input may panic; a
// refusal is an error, and an accepted extension gives a schema that can be written out
// and that checks values of every kind for each of its attributes without panicking.
func FuzzLoadSchema(f *testing.F) {
	values := []any{nil, "", "x", " 2025-01-31T00:00:00Z ", "12", "true", "[\"a\"]", `{"a":1}`, json.Number("7"), true,
		[]any{"a", "b"}, map[string]any{"k": "v"}, []string{"FR"}}
	f.Fuzz(func(t *testing.T, ext []byte) {
		sch, err := roster.LoadSchema(ext)
		if err != nil {
			return
		}
		if _, err := json.Marshal(sch); err != nil {
			t.Fatalf("an accepted schema cannot be written out: %v", err)
		}
		for _, a := range sch.Attrs() {
			if sch.Attr(a.Name) != a {
				t.Fatalf("attribute %q is not found by its name", a.Name)
			}
			for _, v := range values {
				sch.Normalize(a, v)
			}
		}
	})
}
