package server_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/projects"
	"github.com/rosterhq/roster/internal/secret"
	"github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/sqlite"
	"github.com/rosterhq/roster/internal/sqlstore"
	"github.com/rosterhq/roster/internal/testkit"
)

// fuzzEnv is testkit's environment (the production handler over a real SQLite store,
// behind a loopback server) built once for a fuzz target: testkit.Engines makes a store
// per test, and a fuzz target runs its inputs, thousands a second, on one. Its clock
// stands still, so that nothing is written in the background (keys' last-used times)
// while inputs run, and only errors are logged. watch tells whether a request wrote.
func fuzzEnv(f *testing.F) (*testkit.Env, *storeWatch) {
	f.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "roster.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	logs := &testkit.SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelError}))
	svc, err := core.New(st, core.Config{PasswordParams: secret.TestParams, Log: log, Now: clock})
	if err != nil {
		f.Fatal(err)
	}
	e := &testkit.Env{Svc: svc, Projects: projects.New(st, svc, projects.Config{Now: clock}), Store: st, Log: log, Logs: logs, IPs: &httpx.ClientIPs{}}
	e.OAuth = oauth.New(st, svc, oauth.Config{Now: clock, Log: log})
	e.Handler = server.New(server.Config{Core: svc, Projects: e.Projects, OAuth: e.OAuth, Store: st, ReadOnly: sqlstore.ReadOnlyError, Log: log,
		Registry: prometheus.NewRegistry(), IPs: e.IPs, BodyLimit: testkit.BodyLimit, ImportLimit: testkit.ImportLimit})
	e.Server = httptest.NewServer(e.Handler)
	conn, err := st.ReadDB().Conn(context.Background())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		conn.Close()
		e.Server.Close()
		svc.Quiesce()
		st.Close()
	})
	return e, &storeWatch{conn: conn, svc: svc}
}

// storeWatch tells whether anything was committed to the store, and what: SQLite's
// data_version, read on a connection of its own, changes when another connection
// commits; only then are the tables compared.
type storeWatch struct {
	conn    *sql.Conn
	svc     *core.Service
	version int64
	tables  map[string][32]byte
}

// unwatched are the tables a refused request may change: failed credentials are
// counted (the throttle) exactly when requests are refused.
var unwatched = map[string]bool{"throttles": true}

// settle waits for background work and takes the store's state as the one to compare
// with.
func (w *storeWatch) settle(tb testing.TB) {
	tb.Helper()
	w.svc.Quiesce()
	w.version, w.tables = w.dataVersion(tb), w.snapshot(tb)
}

func (w *storeWatch) dataVersion(tb testing.TB) int64 {
	tb.Helper()
	var v int64
	if err := w.conn.QueryRowContext(context.Background(), "PRAGMA data_version").Scan(&v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// snapshot hashes every row of every table.
func (w *storeWatch) snapshot(tb testing.TB) map[string][32]byte {
	tb.Helper()
	ctx := context.Background()
	rows, err := w.conn.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			tb.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string][32]byte{}
	for _, n := range names {
		if unwatched[n] {
			continue
		}
		rows, err := w.conn.QueryContext(ctx, `SELECT * FROM "`+n+`"`)
		if err != nil {
			tb.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		h := sha256.New()
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				tb.Fatal(err)
			}
			fmt.Fprintf(h, "%#v\n", vals)
		}
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		rows.Close()
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		out[n] = sum
	}
	return out
}

// changed reports whether anything was written since the last look, and which tables
// changed; it takes the new state as the one to compare with next.
func (w *storeWatch) changed(tb testing.TB) (bool, []string) {
	tb.Helper()
	w.svc.Quiesce()
	v := w.dataVersion(tb)
	if v == w.version {
		return false, nil
	}
	now := w.snapshot(tb)
	var tables []string
	for n, sum := range now {
		if w.tables[n] != sum {
			tables = append(tables, n)
		}
	}
	w.version, w.tables = v, now
	return true, tables
}

// check holds one request to the properties every handler-level fuzzer asserts: no
// server error, and a refused request writes nothing. It reports whether the request
// wrote.
func (w *storeWatch) check(t *testing.T, e *testkit.Env, what string, status int, body string) bool {
	t.Helper()
	if status >= 500 {
		t.Fatalf("%s: %d %s\nlog: %s", what, status, body, e.Logs.String())
	}
	wrote, tables := w.changed(t)
	if status >= 400 && len(tables) > 0 {
		t.Fatalf("%s was refused (%d %s) but changed %s", what, status, body, strings.Join(tables, ", "))
	}
	return wrote
}
