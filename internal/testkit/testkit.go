// Package testkit runs HTTP surfaces against a real core over a real store, on SQLite
// and, when ROSTER_TEST_POSTGRES_URL is set, on PostgreSQL, behind a loopback server.
// Tests of the API and of every dialect use it.
package testkit

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/projects"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/sqlite"
)

// Env is one test's Roster: a store, the accounts core and the project service over it,
// and the server.
type Env struct {
	Svc      *core.Service
	Projects *projects.Service
	Store    roster.Store
	Log      *slog.Logger
	Logs     *SyncBuffer
	IPs      *httpx.ClientIPs
	*httptest.Server
}

// Engines runs fn on SQLite, and on PostgreSQL when ROSTER_TEST_POSTGRES_URL is set.
// register adds the surfaces under test to the server's mux.
func Engines(t *testing.T, register func(e *Env, mux *http.ServeMux), fn func(t *testing.T, e *Env)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		fn(t, newEnv(t, st, register))
	})
	t.Run("postgres", func(t *testing.T) { fn(t, newEnv(t, pgtest.Open(t), register)) })
}

func newEnv(t *testing.T, st roster.Store, register func(e *Env, mux *http.ServeMux)) *Env {
	t.Helper()
	logs := &SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	svc, err := core.New(st, core.Config{PasswordParams: secret.TestParams, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Svc: svc, Projects: projects.New(st, svc, projects.Config{}), Store: st, Log: log, Logs: logs, IPs: &httpx.ClientIPs{}}
	mux := http.NewServeMux()
	register(e, mux)
	var h http.Handler = mux
	h = httpx.AccessLog(log, e.IPs)(h)
	h = httpx.LimitBody(4<<20, map[string]int64{"/api/": 64 << 20})(h)
	h = httpx.RequestID(h)
	e.Server = httptest.NewServer(h)
	t.Cleanup(func() {
		e.Server.Close()
		svc.Quiesce()
		st.Close()
	})
	return e
}

// Operator is the context of the trusted command-line operator.
func Operator() context.Context {
	return roster.NewContextWithActor(context.Background(), roster.Actor{Trusted: true, Via: roster.ViaCLI})
}

// Account creates an account as the operator and returns it and an API key of it.
func (e *Env) Account(t testing.TB, in map[string]any) (*roster.Record, string) {
	t.Helper()
	rec, err := e.Svc.CreateAccount(Operator(), in)
	if err != nil {
		t.Fatal(err)
	}
	k, err := e.Svc.CreateAPIKey(Operator(), roster.RefID(rec.ID), roster.KeyRequest{Label: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return rec, k.Secret
}

// Reply is a response, read whole.
type Reply struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends a request with a body (string) and headers given as name, value pairs.
func (e *Env) Do(t testing.TB, method, path, body string, header ...string) Reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// SyncBuffer is a buffer that a running server may write while the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
