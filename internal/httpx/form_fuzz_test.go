package httpx

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// fuzzBoundary is the boundary of FuzzReadForm's multipart bodies.
const fuzzBoundary = "XyZfuzzBoundary"

// chunked returns at most n bytes per read, to move where reads split the body.
type chunked struct {
	r io.Reader
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// phpForm decodes a form-encoded body as PHP does, the plain way: pairs split on &, a
// key from its value on the first =, + a space, %XX a byte and any other % itself;
// empty pairs skipped. It returns every key as sent and the last value of each.
func phpForm(body string) ([]string, map[string]string) {
	unescape := func(s string) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == '+':
				b.WriteByte(' ')
			case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
				b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
				i += 2
			default:
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	var keys []string
	vals := map[string]string{}
	for _, pair := range strings.Split(body, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k = unescape(k)
		keys = append(keys, k)
		vals[k] = unescape(v)
	}
	return keys, vals
}

// rawParts reads a multipart body's parts with the standard library alone: every
// part's name as sent and the last value of each.
func rawParts(body []byte) ([]string, map[string]string, error) {
	mr := multipart.NewReader(bytes.NewReader(body), fuzzBoundary)
	var keys []string
	vals := map[string]string{}
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return keys, vals, nil
		}
		if err != nil {
			return nil, nil, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, err
		}
		k := p.FormName()
		keys = append(keys, k)
		vals[k] = string(b)
	}
}

// FuzzReadForm feeds REDCap's POST bodies (form-encoded, or multipart with a fixed
// boundary) to the streaming form reader, with reads of the body split every chunk+1
// bytes. It must not panic, and what it reads must be what the body says: for a
// form-encoded body, PHP's decoding (the reference above), never an error; for a
// multipart one, what mime/multipart reads, or an error where it fails. The data field
// is spooled whole, its last value winning, and the field hook sees every field in the
// order sent.
func FuzzReadForm(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, multipartBody bool, chunk uint8) {
		r := httptest.NewRequest("POST", "/api/", &chunked{r: bytes.NewReader(body), n: int(chunk) + 1})
		if multipartBody {
			r.Header.Set("Content-Type", "multipart/form-data; boundary="+fuzzBoundary)
		} else {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		var hooked []string
		form, err := ReadForm(r, FormOptions{Spool: "data", Field: func(name, value string) error {
			hooked = append(hooked, name)
			return nil
		}})
		var sent []string
		var vals map[string]string
		var refErr error
		if multipartBody {
			sent, vals, refErr = rawParts(body)
		} else {
			sent, vals = phpForm(string(body))
		}
		var keys []string // first-seen order
		for _, k := range sent {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
		switch {
		case err != nil && refErr == nil:
			t.Fatalf("refused a body the reference reads (%v): %v", keys, err)
		case err == nil && refErr != nil:
			t.Fatalf("read a body the reference refuses (%v): %v", refErr, form.Keys)
		case err != nil:
			if IsTooLarge(err) {
				t.Fatalf("a body of %d bytes is too large: %v", len(body), err)
			}
			return
		}
		defer form.Close()
		if !slices.Equal(form.Keys, keys) {
			t.Fatalf("keys %q, want %q", form.Keys, keys)
		}
		for _, k := range keys {
			want := vals[k]
			if k == "data" {
				want = ""
			}
			if got := form.Values[k]; got != want {
				t.Fatalf("%q = %q, want %q", k, got, want)
			}
		}
		if !slices.Equal(hooked, sent) {
			t.Fatalf("the hook saw %q, the body sent %q", hooked, sent)
		}
		rd, spooled := form.Spooled()
		if _, sent := vals["data"]; sent != spooled {
			t.Fatalf("data sent %v, spooled %v", sent, spooled)
		}
		if spooled {
			for range 2 { // the spool reads from its start every time
				got, err := io.ReadAll(rd)
				if err != nil || string(got) != vals["data"] {
					t.Fatalf("spooled data %q (%v), want %q", got, err, vals["data"])
				}
				rd, _ = form.Spooled()
			}
		}
		if err := form.Close(); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("closing: %v", err)
		}
	})
}
