package httpx

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func readAll(t *testing.T, f *Form) string {
	t.Helper()
	rd, ok := f.Spooled()
	if !ok {
		t.Fatal("no spooled field")
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadFormURLEncoded(t *testing.T) {
	body := "token=AB%2FC&&users%5B0%5D=a+b&users[1]=100%&flag&data=%5B%7B%22u%22%3A1%7D%5D&format=json&format=csv"
	r := httptest.NewRequest("POST", "/api/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	f, err := ReadForm(r, FormOptions{Spool: "data"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]string{"token": "AB/C", "users[0]": "a b", "users[1]": "100%", "flag": "", "data": "", "format": "csv"}
	for k, v := range want {
		if got, ok := f.Values[k]; !ok || got != v {
			t.Errorf("%s = %q (%v), want %q", k, got, ok, v)
		}
	}
	if strings.Join(f.Keys, " ") != "token users[0] users[1] flag data format" {
		t.Errorf("keys in order: %v", f.Keys)
	}
	if got := readAll(t, f); got != `[{"u":1}]` {
		t.Errorf("data = %q", got)
	}
	// The spool reads from the start every time.
	if got := readAll(t, f); got != `[{"u":1}]` {
		t.Errorf("data read again = %q", got)
	}
}

// TestReadFormLastDataWins: the spooled field's last value wins, a bare key (no "=")
// being an empty value, as PHP reads it. Before, "data=0&data" left "0" in the spool
// while the field read as empty: REDCap would see no data, Roster imported "0". Found
// by FuzzReadForm.
func TestReadFormLastDataWins(t *testing.T) {
	for body, want := range map[string]string{"data=0&data": "", "data=0&data&token=T": "", "data&data=1": "1", "data": "", "data=a&data=": ""} {
		r := httptest.NewRequest("POST", "/api/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		f, err := ReadForm(r, FormOptions{Spool: "data"})
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, f); got != want || !f.Has("data") || f.Get("data") != "" {
			t.Errorf("%q: data spooled as %q, want %q", body, got, want)
		}
		f.Close()
	}
}

func TestReadFormSpoolsToFile(t *testing.T) {
	big := strings.Repeat("0123456789,", 300_000) // 3.3 MB, past the in-memory threshold
	body := "data=" + strings.ReplaceAll(big, ",", "%2C") + "&token=T"
	r := httptest.NewRequest("POST", "/api/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f, err := ReadForm(r, FormOptions{Spool: "data"})
	if err != nil {
		t.Fatal(err)
	}
	if f.spool.file == nil {
		t.Fatal("a 3 MB field stayed in memory")
	}
	name := f.spool.file.Name()
	if got := readAll(t, f); got != big {
		t.Fatalf("spooled data differs: %d bytes, want %d", len(got), len(big))
	}
	if f.Get("token") != "T" {
		t.Fatalf("token after the data: %q", f.Get("token"))
	}
	// Read through its handle only: a process killed now leaves no file behind.
	if fileExists(name) {
		t.Fatal("the spool file has a name in the file system while in use")
	}
	f.Close()
	if fileExists(name) {
		t.Fatal("Close left the spool file behind")
	}
}

// TestReadFormSpoolsPastTheFormLimit: the spooled field does not count against
// MaxFormBytes while it is being read, form-encoded or multipart: PyCap's import of
// 100,000 users sends 17.8 MB of data.
func TestReadFormSpoolsPastTheFormLimit(t *testing.T) {
	big := strings.Repeat("username,email\n", MaxFormBytes/15+1000) // past MaxFormBytes once escaped
	esc := strings.NewReplacer(",", "%2C", "\n", "%0A").Replace(big)
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("token", "T")
	mw.WriteField("data", big+big)
	mw.Close()
	for name, req := range map[string]struct{ body, ctype, want string }{
		"urlencoded": {"token=T&data=" + esc + "&format=csv", "application/x-www-form-urlencoded", big},
		"multipart":  {mp.String(), mw.FormDataContentType(), big + big},
	} {
		r := httptest.NewRequest("POST", "/api/", strings.NewReader(req.body))
		r.Header.Set("Content-Type", req.ctype)
		f, err := ReadForm(r, FormOptions{Spool: "data"})
		if err != nil {
			t.Fatalf("%s: %d bytes of data: %v", name, len(req.body), err)
		}
		if got := readAll(t, f); got != req.want || f.Get("token") != "T" {
			t.Fatalf("%s: data of %d bytes, want %d", name, len(got), len(req.want))
		}
		f.Close()
	}
}

func TestReadFormFieldTooLong(t *testing.T) {
	r := httptest.NewRequest("POST", "/api/", strings.NewReader("token="+strings.Repeat("a", MaxFieldBytes+1)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := ReadForm(r, FormOptions{Spool: "data"}); err != ErrFieldTooLong {
		t.Fatalf("err = %v, want ErrFieldTooLong", err)
	}
}

func TestReadFormMultipart(t *testing.T) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("token", "T")
	fw, _ := mw.CreateFormFile("data", "users.csv")
	fw.Write([]byte("username\na b\n"))
	mw.WriteField("format", "csv")
	mw.Close()
	r := httptest.NewRequest("POST", "/api/", &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	f, err := ReadForm(r, FormOptions{Spool: "data"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Get("token") != "T" || f.Get("format") != "csv" || !f.Has("data") {
		t.Fatalf("values %v", f.Values)
	}
	if got := readAll(t, f); got != "username\na b\n" {
		t.Fatalf("data = %q", got)
	}
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

// counting serves a body of size bytes: head, then pieces (pattern repeated, or what
// piece makes of each index), and counts how much of it was read.
type counting struct {
	head    string
	pattern string
	piece   func(i int) string
	size    int64
	n       int64
	pending string
	i       int
}

func (c *counting) Read(p []byte) (int, error) {
	if c.n >= c.size {
		return 0, io.EOF
	}
	if c.n == 0 && c.pending == "" {
		c.pending = c.head
	}
	k := 0
	for k < len(p) && c.n < c.size {
		if c.pending == "" {
			if c.piece != nil {
				c.pending = c.piece(c.i)
			} else {
				c.pending = c.pattern
			}
			c.i++
		}
		m := copy(p[k:], c.pending)
		if rest := c.size - c.n; int64(m) > rest {
			m = int(rest)
		}
		c.pending = c.pending[m:]
		k += m
		c.n += int64(m)
	}
	return k, nil
}

const hostileBody = 60 << 20

// multipartPart is one multipart field, as a body of many repeats it.
func multipartPart(name, value string) string {
	return "--B\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
}

// TestReadFormStopsAtTheLimits: a body of tiny fields, of many middling ones, or of one
// endless multipart header is read only up to the limits on what lies outside the
// spooled field, in both encodings.
func TestReadFormStopsAtTheLimits(t *testing.T) {
	kib := strings.Repeat("v", 1024)
	for _, c := range []struct {
		name, contentType, head, pattern string
		want                             error // nil: any error
	}{
		{"urlencoded tiny keys", "application/x-www-form-urlencoded", "", "a=&", ErrTooManyFields},
		{"urlencoded 1 KiB values", "application/x-www-form-urlencoded", "", "k=" + kib + "&", ErrFormTooLarge},
		{"urlencoded ampersands", "application/x-www-form-urlencoded", "", "&", ErrFormTooLarge},
		{"multipart tiny parts", "multipart/form-data; boundary=B", "", multipartPart("a", ""), ErrTooManyFields},
		{"multipart 1 KiB parts", "multipart/form-data; boundary=B", "", multipartPart("k", kib), ErrFormTooLarge},
		{"multipart endless header", "multipart/form-data; boundary=B", "--B\r\nX-Pad: ", "x", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := &counting{head: c.head, pattern: c.pattern, size: hostileBody}
			r := httptest.NewRequest("POST", "/api/", body)
			r.Header.Set("Content-Type", c.contentType)
			_, err := ReadForm(r, FormOptions{Spool: "data"})
			if err == nil || c.want != nil && err != c.want {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if body.n > MaxFormBytes+128<<10 {
				t.Fatalf("read %d bytes of %d before stopping (%v)", body.n, body.size, err)
			}
		})
	}
}

// TestReadFormMemoryBound: 60 MiB of tiny keys cost a bounded, small amount of memory,
// not a multiple of the body.
func TestReadFormMemoryBound(t *testing.T) {
	// Distinct keys, each of which the form must remember.
	body := &counting{piece: func(i int) string { return strconv.FormatInt(int64(i), 36) + "=&" }, size: hostileBody}
	r := httptest.NewRequest("POST", "/api/", body)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadForm(r, FormOptions{Spool: "data"})
	runtime.ReadMemStats(&after)
	if err != ErrTooManyFields {
		t.Fatalf("err = %v", err)
	}
	// What is left is the bookkeeping of MaxFormFields distinct keys (about 200 bytes
	// each, all told); before the limits, this body cost over a gigabyte.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > hostileBody/2 {
		t.Fatalf("reading the form allocated %d bytes in all, for a %d-byte body", alloc, hostileBody)
	}
}

// TestReadFormFieldHook: the hook sees each field as it is read, the spooled one before
// its value; an error from it stops the reading there, so a refused request is never
// read further, let alone spooled.
func TestReadFormFieldHook(t *testing.T) {
	refused := errors.New("bad token")
	for _, c := range []struct{ name, contentType, head, pattern string }{
		{"urlencoded", "application/x-www-form-urlencoded", "token=BAD&content=user&format=json&data=", "x%2C"},
		{"multipart", "multipart/form-data; boundary=B", multipartPart("token", "BAD") + multipartPart("format", "json") +
			"--B\r\nContent-Disposition: form-data; name=\"data\"\r\n\r\n", "x,"},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := &counting{head: c.head, pattern: c.pattern, size: 100 << 20}
			r := httptest.NewRequest("POST", "/api/", body)
			r.Header.Set("Content-Type", c.contentType)
			var seen []string
			_, err := ReadForm(r, FormOptions{Spool: "data", Field: func(name, value string) error {
				seen = append(seen, name+"="+value)
				if name == "data" {
					return refused
				}
				return nil
			}})
			if err != refused {
				t.Fatalf("err = %v, want the hook's", err)
			}
			if got := strings.Join(seen, "&"); !strings.HasPrefix(got, "token=BAD&") || !strings.HasSuffix(got, "format=json&data=") {
				t.Fatalf("hook saw %s", got)
			}
			if body.n > readAhead+int64(len(c.head)) {
				t.Fatalf("read %d bytes of a %d-byte body after the hook refused it", body.n, body.size)
			}
		})
	}
}
