package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/api"
	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// server is Roster's API on a loopback port over a real store.
type server struct {
	*testkit.Env
	svc   *core.Service
	store roster.Store
}

// engines runs a test on SQLite, and on PostgreSQL when ROSTER_TEST_POSTGRES_URL is set.
func engines(t *testing.T, fn func(t *testing.T, s *server)) {
	testkit.Engines(t, func(e *testkit.Env, mux *http.ServeMux) {
		api.New(e.Svc, e.Projects, e.Log, e.IPs, api.Options{}).Register(mux)
	}, func(t *testing.T, e *testkit.Env) {
		fn(t, &server{Env: e, svc: e.Svc, store: e.Store})
	})
}

// account creates an account as the operator and returns a key of it.
func (s *server) account(t *testing.T, in map[string]any) string {
	t.Helper()
	_, key := s.Account(t, in)
	return key
}

// call is one request: a method, a path, an optional JSON body, headers.
type call struct {
	method, path string
	body         any
	header       map[string]string
	client       *http.Client
}

type reply struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

func (s *server) do(t *testing.T, c call) reply {
	t.Helper()
	var body io.Reader
	switch b := c.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		js, _ := json.Marshal(b)
		body = bytes.NewReader(js)
	}
	req, err := http.NewRequest(c.method, s.URL+c.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	cl := c.client
	if cl == nil {
		cl = s.Client()
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&r.json); err != nil {
			t.Fatalf("%s %s: response is not a JSON object: %s", c.method, c.path, raw)
		}
	}
	return r
}

func bearer(key string) map[string]string { return map[string]string{"Authorization": "Bearer " + key} }

func (r reply) want(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// errorCode is the code of a native error body.
func (r reply) errorCode() string {
	e, _ := r.json["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r reply) fields() map[string]any {
	e, _ := r.json["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

func newJarClient(t *testing.T, s *server) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *s.Client() // a copy: the server's client is shared by every other request
	c.Jar = jar
	return &c
}
