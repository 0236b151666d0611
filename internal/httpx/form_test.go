package httpx

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"os"
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
	f, err := ReadForm(r, "data")
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

func TestReadFormSpoolsToFile(t *testing.T) {
	big := strings.Repeat("0123456789,", 300_000) // 3.3 MB, past the in-memory threshold
	body := "data=" + strings.ReplaceAll(big, ",", "%2C") + "&token=T"
	r := httptest.NewRequest("POST", "/api/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	f, err := ReadForm(r, "data")
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
	f.Close()
	if fileExists(name) {
		t.Fatal("Close left the spool file behind")
	}
}

func TestReadFormFieldTooLong(t *testing.T) {
	r := httptest.NewRequest("POST", "/api/", strings.NewReader("token="+strings.Repeat("a", MaxFieldBytes+1)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := ReadForm(r, "data"); err != ErrFieldTooLong {
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
	f, err := ReadForm(r, "data")
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
