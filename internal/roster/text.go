package roster

import (
	"strings"
	"unicode/utf8"
)

// Text rules. Roster stores text only as valid UTF-8 without NUL characters: PostgreSQL
// refuses NUL in text and JSON, and a value SQLite would keep could then never move to
// PostgreSQL. The core refuses such input where it enters, with a problem naming the
// field; the store refuses any that reaches it anyway, the same way on both engines.

// TextMessage is the problem message for text that breaks the rule.
const TextMessage = "Must be valid UTF-8 text without NUL characters."

// ValidText reports whether s is text Roster stores.
func ValidText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// TextProblem is the problem of field holding s, or nil when s is valid text.
func TextProblem(field, s string) *Problem {
	if ValidText(s) {
		return nil
	}
	return &Problem{Field: field, Code: PFormat, Message: TextMessage}
}

// CheckText returns EINVALID naming the first field (name, value, name, value, …) whose
// value breaks the text rule, or nil.
func CheckText(pairs ...string) error {
	var ps []Problem
	for i := 0; i+1 < len(pairs); i += 2 {
		if p := TextProblem(pairs[i], pairs[i+1]); p != nil {
			ps = append(ps, *p)
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return Invalid(ps...)
}

// Limits on JSON values stored in objects: deep nesting breaks the clients that read it
// back (Python's json module recurses), and one attribute should not hold megabytes.
const (
	MaxJSONDepth = 32
	MaxJSONBytes = 64 << 10
)

// checkJSONValue walks a decoded JSON value: every key and string must be valid text, and
// nesting may not pass MaxJSONDepth. It returns the problem's message, or "".
func checkJSONValue(v any, depth int) string {
	if depth > MaxJSONDepth {
		return "Nested too deeply (more than 32 levels)."
	}
	switch x := v.(type) {
	case string:
		if !ValidText(x) {
			return TextMessage
		}
	case map[string]any:
		for k, e := range x {
			if !ValidText(k) {
				return TextMessage
			}
			if m := checkJSONValue(e, depth+1); m != "" {
				return m
			}
		}
	case []any:
		for _, e := range x {
			if m := checkJSONValue(e, depth+1); m != "" {
				return m
			}
		}
	case []string:
		for _, e := range x {
			if !ValidText(e) {
				return TextMessage
			}
		}
	}
	return ""
}
