package openedx

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
)

// Open edX answers through Django REST framework's JSON renderer: compact, UTF-8 as is,
// keys in the serializer's order. Objects are ordered pairs to keep that order.

type kv struct {
	k string
	v any
}

type obj []kv

func (o obj) MarshalJSON() ([]byte, error) {
	return httpx.MarshalOrdered(len(o), func(i int) (string, any) { return o[i].k, o[i].v })
}

// marshal is encoding/json without HTML escaping, as DRF writes.
func marshal(v any) ([]byte, error) { return httpx.MarshalUnescaped(v) }

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		b, status = []byte(`{"detail":"A server error occurred."}`), http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeOK writes a success as Open edX's views do, with the headers the seed page shows.
func writeOK(w http.ResponseWriter, v any) {
	w.Header().Set("Vary", "Accept")
	writeJSON(w, http.StatusOK, v)
}

// writeEmpty writes a status with no body and no Content-Type, as Open edX's 404s.
func writeEmpty(w http.ResponseWriter, status int) {
	w.Header().Del("Content-Type")
	w.WriteHeader(status)
}

// pyRepr writes v as Python's repr() writes the value Django REST framework parsed from
// JSON: Open edX's developer messages quote the values sent that way.
func pyRepr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		b.WriteString(pyString(x))
	case json.Number:
		if f, err := x.Float64(); err == nil && !strings.ContainsAny(string(x), ".eE") {
			b.WriteString(string(x))
		} else if err == nil {
			b.WriteString(pyFloat(f))
		} else {
			b.WriteString(string(x))
		}
	case float64:
		b.WriteString(pyFloat(x))
	case int, int64:
		fmt.Fprint(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		// Python keeps a JSON object's order; Go's decoder does not, so keys are sorted.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(pyString(k))
			b.WriteString(": ")
			writeRepr(b, x[k])
		}
		b.WriteByte('}')
	default:
		fmt.Fprint(b, x)
	}
}

// pyString is Python's repr of a str: single quotes unless the text holds one and no
// double quote.
func pyString(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case f == math.Trunc(f) && math.Abs(f) < 1e16:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
