package bench

import (
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/projects"
	"github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// serve runs Roster's production handler over svc, with serve's default limits, so the
// benchmarks measure what a request really goes through.
func serve(tb testing.TB, svc *core.Service, ps *projects.Service, s *sqlstore.DB) *httptest.Server {
	if ps == nil {
		ps = projects.New(s, svc, projects.Config{})
	}
	srv := httptest.NewServer(server.New(server.Config{Core: svc, Projects: ps, OAuth: oauth.New(s, svc, oauth.Config{}), Store: s, ReadOnly: sqlstore.ReadOnlyError,
		Log: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), IPs: &httpx.ClientIPs{},
		BodyLimit: 4 << 20, ImportLimit: 512 << 20}))
	tb.Cleanup(srv.Close)
	return srv
}
