package ckan

import (
	"encoding/json"
	"testing"
	"time"
)

// The expectations were printed by Python's json.dumps.
func TestPyJSON(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{"plain", `"plain"`},
		{`quote " back \ slash /`, `"quote \" back \\ slash /"`},
		{"tab\tnl\ncr\r bs\b ff\f", `"tab\tnl\ncr\r bs\b ff\f"`},
		{"\x00\x1f\x7f", `"\u0000\u001f\u007f"`},
		{"ünï 😀 ✓", `"\u00fcn\u00ef \ud83d\ude00 \u2713"`},
		{"line\u2028sep", `"line\u2028sep"`},
		{obj{{"a", []any{json.Number("1"), nil, true, "x"}}, {"b", map[string]any{"c": json.Number("1.5")}}}, `{"a": [1, null, true, "x"], "b": {"c": 1.5}}`},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), `"2024-01-02T03:04:05"`},
		{time.Date(2024, 1, 2, 3, 4, 5, 120000000, time.FixedZone("x", 3600)), `"2024-01-02T02:04:05.120000"`},
	} {
		if got := string(pyJSON(c.in)); got != c.want {
			t.Errorf("pyJSON(%#v) = %s, want %s", c.in, got, c.want)
		}
	}
	if got := pyRepr([]any{"a", json.Number("2"), nil, false, map[string]any{"k": true}}); got != "['a', 2, None, False, {'k': True}]" {
		t.Errorf("pyRepr = %s", got)
	}
}
