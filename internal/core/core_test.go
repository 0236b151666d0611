package core_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/sqlite"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock                   { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func operator() context.Context {
	return roster.NewContextWithActor(context.Background(), roster.Actor{Trusted: true, Via: roster.ViaCLI})
}
func as(a roster.Actor) context.Context { return roster.NewContextWithActor(context.Background(), a) }
func anonymous() context.Context        { return context.Background() }
func mustNil(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// env is a service over a real SQLite file.
type env struct {
	svc   *core.Service
	store roster.Store
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"), nil)
	mustNil(t, err)
	t.Cleanup(func() { st.Close() })
	c := newClock()
	svc, err := core.New(st, core.Config{PasswordParams: secret.TestParams, Now: c.now})
	mustNil(t, err)
	t.Cleanup(svc.Quiesce)
	return &env{svc: svc, store: st, clock: c}
}

// user creates an account as the operator and returns the actor it signs in as.
func (e *env) user(t *testing.T, username string, extra map[string]any) roster.Actor {
	t.Helper()
	in := map[string]any{"username": username, "email": username + "@example.org", "password": "password-" + username}
	for k, v := range extra {
		in[k] = v
	}
	rec, err := e.svc.CreateAccount(operator(), in)
	mustNil(t, err)
	a, err := e.store.GetAccount(context.Background(), roster.RefID(rec.ID))
	mustNil(t, err)
	return roster.Actor{AccountID: a.ID, Username: a.Username, Sysadmin: a.Sysadmin, Staff: a.Staff, Capabilities: a.Capabilities, Via: roster.ViaAPI}
}

func wantCode(tb testing.TB, err error, code string) *roster.Error {
	tb.Helper()
	if got := roster.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
	return roster.AsError(err)
}

// problemFields lists "field:code" of an error's problems.
func problemFields(err error) string {
	var out []string
	for _, p := range roster.AsError(err).Problems {
		out = append(out, p.Field+":"+p.Code)
	}
	return strings.Join(out, " ")
}

func auditLog(t *testing.T, e *env) []*roster.AuditEntry {
	t.Helper()
	es, err := e.store.ListAudit(context.Background(), roster.AuditFilter{})
	mustNil(t, err)
	return es
}
