package roster

import (
	"bytes"
	"encoding/json"
	"testing"
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
