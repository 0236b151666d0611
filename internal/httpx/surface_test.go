package httpx_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// TestRouterWritesEachSurfacesErrors: what the shared middleware refuses, or a panic,
// is answered by the surface that owns the route; routes of no surface by the fallback.
func TestRouterWritesEachSurfacesErrors(t *testing.T) {
	writer := func(name string) httpx.ErrorWriter {
		return func(w http.ResponseWriter, r *http.Request, err error) {
			e := roster.AsError(err)
			w.WriteHeader(httpx.StatusOf(e))
			io.WriteString(w, name+":"+e.Code+":"+e.Reason)
		}
	}
	fallback := &httpx.Surface{Name: "native", WriteError: writer("native")}
	other := &httpx.Surface{Name: "other", WriteError: writer("other"), BodyLimit: 10}
	rt := httpx.NewRouter(fallback, 5)
	rt.HandleFunc(other, "POST /other/{x}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("x") == "panic" {
			panic("boom")
		}
		_, err := io.ReadAll(r.Body)
		if err != nil {
			other.WriteError(w, r, httpx.TooLarge(err))
		}
	})
	rt.HandleFunc(nil, "POST /plain", func(w http.ResponseWriter, r *http.Request) {})
	h := rt.Guard(slog.New(slog.DiscardHandler))(rt)
	for _, c := range []struct {
		path, body string
		header     string
		chunked    bool
		want       string
		status     int
	}{
		{"/other/a", "0123456789", "", false, "", 200},
		{"/other/a", "0123456789a", "", false, "other:too_large:body", 413},
		{"/other/a", "0123456789a", "", true, "other:too_large:body", 413}, // no declared length: found while reading
		{"/plain", "012345", "", false, "native:too_large:body", 413},
		{"/other/a", "", strings.Repeat("h", httpx.MaxHeaderBytes), false, "other:too_large:headers", 431},
		{"/other/panic", "", "", false, "other:internal:", 500},
	} {
		r := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
		if c.chunked {
			r.ContentLength = -1
		}
		if c.header != "" {
			r.Header.Set("X-Padding", c.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status || w.Body.String() != c.want {
			t.Errorf("%s (%d bytes): %d %q, want %d %q", c.path, len(c.body), w.Code, w.Body, c.status, c.want)
		}
	}
	if got := rt.Surfaces(); len(got) != 1 || got[0] != other {
		t.Errorf("surfaces %v", got)
	}
}
