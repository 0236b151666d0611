package ckan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// requestData reads an action's data dict as CKAN does: from the query string of a GET
// (for actions without side effects), else from the body: a form (a key that repeats
// becomes a list), the legacy form whose only key is the JSON, or a JSON object.
func requestData(r *http.Request, sideEffectFree bool) (map[string]any, error) {
	if r.Method == http.MethodGet {
		if !sideEffectFree {
			return nil, errors.New("Invalid request. Please use POST method for your request")
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, fmt.Errorf("Invalid query string: %w", err)
		}
		return mixed(q), nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		var form url.Values
		if mt == "multipart/form-data" {
			if err := r.ParseMultipartForm(1 << 20); err != nil {
				return nil, fmt.Errorf("Error decoding form data: %w", err)
			}
			form = r.MultipartForm.Value
		} else {
			if err := r.ParseForm(); err != nil {
				return nil, fmt.Errorf("Error decoding form data: %w", err)
			}
			form = r.PostForm
		}
		if len(form) == 1 {
			for k, vs := range form {
				if len(vs) == 1 && (vs[0] == "" || vs[0] == "1") && strings.HasPrefix(strings.TrimSpace(k), "{") {
					return decodeObject([]byte(k))
				}
			}
		}
		if len(form) > 0 {
			return mixed(form), nil
		}
		return map[string]any{}, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("Error reading the request: %w", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	return decodeObject(body)
}

func decodeObject(b []byte) (map[string]any, error) {
	if !utf8.Valid(b) {
		return nil, errors.New("Error decoding JSON data. Error: the request body is not valid UTF-8 JSON data extracted from the request: {}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("Error decoding JSON data. Error: %v JSON data extracted from the request: {}", err)
	}
	// Python's json.loads, which CKAN uses, refuses anything after the value.
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("Error decoding JSON data. Error: Extra data JSON data extracted from the request: {}")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Request data JSON decoded to %s but it needs to be a dictionary.", pyRepr(v))
	}
	return m, nil
}

// mixed turns parameters into CKAN's data dict: one value as a string, several as a list.
func mixed(vals url.Values) map[string]any {
	out := make(map[string]any, len(vals))
	for k, vs := range vals {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			l := make([]any, len(vs))
			for i, v := range vs {
				l[i] = v
			}
			out[k] = l
		}
	}
	return out
}

// str reads a scalar parameter as text.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case nil:
		return ""
	case []any:
		if len(x) > 0 {
			return str(x[0])
		}
		return ""
	}
	return fmt.Sprint(v)
}

// asbool reads a boolean parameter as CKAN's asbool does.
func asbool(v any, def bool) (bool, error) {
	switch x := v.(type) {
	case nil:
		return def, nil
	case bool:
		return x, nil
	}
	switch strings.ToLower(str(v)) {
	case "true", "yes", "on", "y", "t", "1":
		return true, nil
	case "false", "no", "off", "n", "f", "0":
		return false, nil
	}
	return def, fmt.Errorf("String is not true/false: %s", pyRepr(v))
}

// list reads a parameter that may be a JSON list, a repeated form key, or one string
// (which may hold several values separated by commas).
func list(v any) []string {
	var out []string
	add := func(s string) {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			add(str(e))
		}
	case nil:
	default:
		add(str(x))
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
