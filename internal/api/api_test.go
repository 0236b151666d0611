package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/api"
	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/sqlite"
)

// server is Roster's API on a loopback port over a real store.
type server struct {
	*httptest.Server
	svc   *core.Service
	store roster.Store
	logs  *bytes.Buffer
}

// engines runs a test on SQLite, and on PostgreSQL when ROSTER_TEST_POSTGRES_URL is set.
func engines(t *testing.T, fn func(t *testing.T, s *server)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		fn(t, newServer(t, st))
	})
	t.Run("postgres", func(t *testing.T) { fn(t, newServer(t, pgtest.Open(t))) })
}

func newServer(t *testing.T, st roster.Store) *server {
	t.Helper()
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	svc, err := core.New(st, core.Config{PasswordParams: secret.TestParams, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ips := &httpx.ClientIPs{}
	api.New(svc, log, ips, api.Options{}).Register(mux)
	var h http.Handler = mux
	h = httpx.AccessLog(log, ips)(h)
	h = httpx.LimitBody(1 << 20)(h)
	h = httpx.RequestID(h)
	s := &server{Server: httptest.NewServer(h), svc: svc, store: st, logs: logs}
	t.Cleanup(func() {
		s.Close()
		svc.Quiesce()
		st.Close()
	})
	return s
}

// account creates an account as the operator and returns a key of it.
func (s *server) account(t *testing.T, in map[string]any) string {
	t.Helper()
	ctx := roster.NewContextWithActor(context.Background(), roster.Actor{Trusted: true, Via: roster.ViaCLI})
	rec, err := s.svc.CreateAccount(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.svc.CreateAPIKey(ctx, roster.RefID(rec.ID), roster.KeyRequest{Label: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret
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
	c := s.Client()
	c.Jar = jar
	return c
}
