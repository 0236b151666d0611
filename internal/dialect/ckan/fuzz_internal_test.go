package ckan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// The content types a CKAN client sends: ckanapi's JSON, a form (the legacy one whose
// only key is the JSON among them), multipart, none, and one CKAN reads as JSON anyway.
var fuzzContentTypes = []string{"application/json", "application/x-www-form-urlencoded",
	"multipart/form-data; boundary=XyZfuzzBoundary", "", "text/plain; charset=utf-8"}

// FuzzRequestData feeds an action's request (GET with a query string, or POST with a
// body of one of CKAN's content types) to requestData. It must not panic; a data dict
// it returns is never nil; and a JSON body is read as encoding/json reads one object of
// valid UTF-8 with nothing after it: accepted exactly when that succeeds, with the same
// keys.
func FuzzRequestData(f *testing.F) {
	f.Fuzz(func(t *testing.T, get bool, sideEffectFree bool, contentType uint8, query string, body []byte) {
		ct := fuzzContentTypes[int(contentType)%len(fuzzContentTypes)]
		method := http.MethodPost
		if get {
			method = http.MethodGet
		}
		r := httptest.NewRequest(method, "/api/3/action/user_list", bytes.NewReader(body))
		r.URL.RawQuery = query
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		data, err := requestData(r, sideEffectFree)
		if err == nil && data == nil {
			t.Fatal("no error and no data dict")
		}
		if get || !strings.HasPrefix(ct, "application/json") && ct != "" && !strings.HasPrefix(ct, "text/plain") {
			if get && !sideEffectFree && err == nil {
				t.Fatal("a GET of an action with side effects was read")
			}
			if get && sideEffectFree {
				if _, qerr := url.ParseQuery(query); (qerr == nil) != (err == nil) {
					t.Fatalf("query %q: ParseQuery %v, requestData %v", query, qerr, err)
				}
			}
			return
		}
		if len(bytes.TrimSpace(body)) == 0 {
			if err != nil || len(data) != 0 {
				t.Fatalf("an empty body read as %v, %v", data, err)
			}
			return
		}
		var want map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		derr := dec.Decode(&want)
		if derr == nil {
			if _, terr := dec.Token(); terr != io.EOF {
				derr = errTrailing
			}
		}
		valid := utf8.Valid(body) && derr == nil && want != nil
		if valid != (err == nil) {
			t.Fatalf("body %q: encoding/json %v (valid UTF-8 %v), requestData %v", body, derr, utf8.Valid(body), err)
		}
		if valid && !reflect.DeepEqual(data, want) {
			t.Fatalf("read %v, encoding/json %v", data, want)
		}
	})
}

var errTrailing = errors.New("data after the value")

// FuzzPyJSON feeds JSON documents to CKAN's encoder, which writes what Python's
// json.dumps writes: the result must be ASCII, valid JSON, and decode to the value the
// document held; pyRepr, which words values in CKAN's messages, must not panic.
func FuzzPyJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !utf8.Valid(doc) {
			return // requestData refuses such bodies before anything is encoded
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		_ = pyRepr(v)
		out := pyJSON(v)
		for _, c := range out {
			if c >= utf8.RuneSelf {
				t.Fatalf("non-ASCII byte %#x in %s", c, out)
			}
		}
		var back any
		dec = json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		if err := dec.Decode(&back); err != nil {
			t.Fatalf("pyJSON wrote invalid JSON %s: %v", out, err)
		}
		if !reflect.DeepEqual(back, v) {
			t.Fatalf("pyJSON(%s) = %s, which reads back as %v", doc, out, back)
		}
	})
}
