// Package testkit runs Roster's production HTTP handler (internal/server) against a
// real core over a real store, on SQLite and, when ROSTER_TEST_POSTGRES_URL is set, on
// PostgreSQL, behind a loopback server. Tests of the API and of every dialect use it.
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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/postgres"
	"github.com/rosterhq/roster/internal/postgres/pgtest"
	"github.com/rosterhq/roster/internal/projects"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// Env is one test's Roster: a store, the accounts core and the project service over it,
// and the server.
type Env struct {
	Svc      *core.Service
	Projects *projects.Service
	OAuth    *oauth.Service
	Store    roster.Store
	Log      *slog.Logger
	Logs     *SyncBuffer
	IPs      *httpx.ClientIPs
	// Handler is the production handler the server serves.
	Handler *server.Handler
	*httptest.Server
	open  func(t testing.TB) *sqlstore.DB
	setup Setup
}

// Limits of the test server's bodies: the production defaults, but imports smaller.
const (
	BodyLimit   = 4 << 20
	ImportLimit = 64 << 20
)

// Engines runs fn on SQLite, and on PostgreSQL when ROSTER_TEST_POSTGRES_URL is set.
func Engines(t *testing.T, fn func(t *testing.T, e *Env)) { Run(t, Setup{}, fn) }

// EnginesWith is Engines with the server's configuration adjusted by configure (options
// of a surface, a fault injected between a surface and the core).
func EnginesWith(t *testing.T, configure func(*server.Config), fn func(t *testing.T, e *Env)) {
	Run(t, Setup{Server: configure}, fn)
}

// Setup adjusts what a test's Roster is built from. Any function may be nil.
type Setup struct {
	// Core adjusts the accounts core's configuration (its clock, its throttles). The
	// project service and the token service share the core's clock.
	Core func(*core.Config)
	// OAuth adjusts the token service's configuration (token lifetimes, the signing
	// keys' overlap).
	OAuth func(*oauth.Config)
	// Server adjusts the handler's configuration.
	Server func(*server.Config)
}

// Run is Engines with a Setup.
func Run(t *testing.T, setup Setup, fn func(t *testing.T, e *Env)) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "roster.db")
		open := func(t testing.TB) *sqlstore.DB {
			st, err := sqlite.Open(context.Background(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		fn(t, newEnv(t, open(t), open, setup))
	})
	t.Run("postgres", func(t *testing.T) {
		u := pgtest.URL(t)
		open := func(t testing.TB) *sqlstore.DB {
			st, err := postgres.Open(context.Background(), u, postgres.Options{MaxConns: 8}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		fn(t, newEnv(t, open(t), open, setup))
	})
}

// OpenAgain opens the test's database once more, as another process would: the same
// SQLite file, or the same PostgreSQL schema, through pools of its own. The test's
// cleanup closes it.
func (e *Env) OpenAgain(t testing.TB) *sqlstore.DB {
	t.Helper()
	st := e.open(t)
	t.Cleanup(func() { st.Close() })
	return st
}

// readOnly is a store that reports whether it is read-only, as both engines do.
type readOnly interface {
	Kind() string
	ReadOnly(ctx context.Context) (bool, error)
}

func newEnv(t testing.TB, st roster.Store, open func(testing.TB) *sqlstore.DB, setup Setup) *Env {
	t.Helper()
	logs := &SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	coreCfg := core.Config{PasswordParams: secret.TestParams, Log: log}
	if setup.Core != nil {
		setup.Core(&coreCfg)
	}
	svc, err := core.New(st, coreCfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Svc: svc, Projects: projects.New(st, svc, projects.Config{Now: coreCfg.Now}), Store: st, Log: log, Logs: logs, IPs: &httpx.ClientIPs{},
		open: open, setup: setup}
	oauthCfg := oauth.Config{Now: coreCfg.Now, Log: log}
	if setup.OAuth != nil {
		setup.OAuth(&oauthCfg)
	}
	e.OAuth = oauth.New(st, svc, oauthCfg)
	cfg := server.Config{Core: svc, Projects: e.Projects, OAuth: e.OAuth, Store: st.(readOnly), ReadOnly: sqlstore.ReadOnlyError, Log: log,
		Registry: prometheus.NewRegistry(), IPs: e.IPs, BodyLimit: BodyLimit, ImportLimit: ImportLimit}
	if setup.Server != nil {
		setup.Server(&cfg)
	}
	e.Handler = server.New(cfg)
	e.Server = httptest.NewServer(e.Handler)
	// Tests see each answer as sent: a redirect is an answer to check, not to follow.
	e.Server.Client().CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	t.Cleanup(func() {
		e.Server.Close()
		svc.Quiesce()
		st.Close()
	})
	return e
}

// Replica is another replica of the test's Roster, as another process would run it:
// its own store handle on the same database (OpenAgain), its own core, project and
// token services built with the same Setup, and its own production handler behind a
// loopback server. Nothing is shared with e but the database.
func (e *Env) Replica(t testing.TB) *Env {
	t.Helper()
	return newEnv(t, e.open(t), e.open, e.setup)
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

// ProjectToken makes a project with one form, makes username its member with full User
// Rights and the API rights, and returns the member's REDCap API token.
func (e *Env) ProjectToken(t testing.TB, username string) string {
	t.Helper()
	p, err := e.Projects.CreateProject(Operator(), &roster.Project{Title: "Project of " + username, Forms: []roster.Form{{Name: "form_1"}}})
	if err != nil {
		t.Fatal(err)
	}
	row := roster.MemberRowFromJSON(map[string]any{"username": username, "user_rights": "1", "api_export": "1", "api_import": "1"})
	if _, err := e.Projects.ImportProjectUsers(Operator(), p.ID, roster.NewSliceRows([]roster.MemberRow{row})); err != nil {
		t.Fatal(err)
	}
	tok, err := e.Projects.IssueProjectToken(Operator(), p.ID, username)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}
