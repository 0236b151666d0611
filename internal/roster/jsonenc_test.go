package roster

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// appendJSON must write what encoding/json writes (bar HTML escaping), for every value
// a profile can hold.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, true, false, "", "plain", "quote \" backslash \\ slash /", "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
		"ünïcødé ✓ 😀", "bad \xff utf8 \xc3", "line\u2028sep\u2029", json.Number("12345678901234567890"), json.Number("-1.5e3"),
		int64(-42), 7, []string{"a", "b\"c"}, []any{"x", 1.5, nil, map[string]any{"k": []any{}}},
		map[string]any{"z": 1, "a": "x", "m": map[string]any{"b": false, "a": nil}}, map[string]any{}, []any{}, 3.25,
	}
	for _, v := range values {
		got, err := appendJSON(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("appendJSON(%#v) = %s, want %s", v, got, want.Bytes())
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "é\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendJSONString(nil, s)
		want, _ := json.Marshal(s)
		var w bytes.Buffer
		json.HTMLEscape(&w, got)
		if w.String() != string(want) {
			t.Fatalf("%q: %s, want %s", s, got, want)
		}
	})
}

func TestRecordJSON(t *testing.T) {
	s, _ := LoadSchema()
	a := &Account{ID: 7, UUID: "u", Username: "alice", CreatedAt: time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.UTC),
		Profile: map[string]any{"bio": "<b>&", "info": map[string]any{"x": []any{json.Number("1")}}}}
	r := NewRecord(s, a)
	for _, n := range []string{"info", "username", "created", "bio", "year_of_birth"} {
		r.Set(n, a.Value(s.Attr(n)))
	}
	b, err := json.Marshal(r) // through encoding/json, which checks the output is valid
	if err != nil {
		t.Fatal(err)
	}
	want := `{"username":"alice","created":"2024-01-02T03:04:05.6Z","bio":"\u003cb\u003e\u0026","year_of_birth":null,"info":{"x":[1]}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// TestRecordOf: a record of some attributes holds those only, and reads and writes
// as a whole record does.
func TestRecordOf(t *testing.T) {
	s, _ := LoadSchema()
	a := &Account{ID: 7, UUID: "u", Username: "alice", Email: "a@example.org", LastName: "Liddell"}
	of := []*Attribute{s.Attr("username"), s.Attr("email"), s.Attr("last_name")}
	r := NewRecordOf(s, a, of)
	for _, n := range []string{"email", "last_name", "bio"} { // bio is not among them
		r.Set(n, a.Value(s.Attr(n)))
	}
	r.SetAttr(s.Attr("first_name"), "Alice") // neither
	if v, ok := r.Get("email"); !ok || v != "a@example.org" {
		t.Fatalf("email = %v, %v", v, ok)
	}
	for _, n := range []string{"username", "bio", "first_name", "nonsense"} {
		if r.Visible(n) {
			t.Errorf("%s is visible", n)
		}
	}
	if got := len(r.Attrs()); got != 2 || r.Attrs()[0].Name != "email" {
		t.Errorf("attrs %v", r.Attrs())
	}
	b, err := json.Marshal(r)
	if err != nil || string(b) != `{"email":"a@example.org","last_name":"Liddell"}` {
		t.Fatalf("%s, %v", b, err)
	}
}

func decodeStd(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, errProfileSyntax // trailing data
	}
	if m == nil {
		return nil, errProfileSyntax
	}
	return m, nil
}

func FuzzUnmarshalProfile(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b","n":-1.5e+3,"t":true,"f":false,"z":null}`, `{"o":{"x":[1,"]",{}]},"e":"\u00e9\n\"","u":"ü"}`,
		`{"a":01}`, `{"a":1.}`, `{"a":"\x01"}`, `{"a":1}x`, ` { "a" : [ ] } `, `{"a":"\xff"}`, `[1]`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, werr := decodeStd(b)
		got, gerr := UnmarshalProfile(b)
		if len(bytes.TrimSpace(b)) == 0 {
			return // an empty document is an empty profile here
		}
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%q: encoding/json err %v, UnmarshalProfile err %v", b, werr, gerr)
		}
		if werr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %#v, want %#v", b, got, want)
		}
	})
}
