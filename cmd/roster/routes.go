package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/internal/api"
	"github.com/rosterhq/roster/internal/dialect/ckan"
	"github.com/rosterhq/roster/internal/dialect/redcap"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/metrics"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// newHandler is Roster's whole HTTP surface, on one mux so that every route's pattern
// labels its metrics and log lines.
func newHandler(a *app, reg *prometheus.Registry, log *slog.Logger, ips *httpx.ClientIPs, opts surfaceOptions, limits bodyLimits) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		err := a.svc.Ping(ctx)
		if err != nil {
			log.Warn("not ready", "err", err)
		} else if ro, rerr := a.store.ReadOnly(ctx); rerr != nil {
			err = rerr
			log.Warn("not ready", "err", err)
		} else if ro {
			// Not logged: serve said so when it started, and probes come every few seconds.
			err = sqlstore.ReadOnlyError()
		}
		if err != nil {
			httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": a.store.Kind(),
				"reason": roster.ErrorMessage(err)})
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": a.store.Kind()})
	})
	mux.Handle("GET /metrics", metrics.Handler(reg))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"name": "Roster", "api": "/v1/openapi.json"})
	})

	api.New(a.svc, a.projects, log, ips, opts.api).Register(mux)
	ckan.New(a.svc, log, ips, opts.ckan).Register(mux)
	redcap.New(a.projects, log, ips).Register(mux)

	var h http.Handler = mux
	h = metrics.NewHTTP(reg).Middleware(h)
	// REDCap's imports arrive whole in one request body; every other body is small.
	h = httpx.LimitBody(limits.body, map[string]int64{redcap.Path: limits.imports})(h)
	h = httpx.AccessLog(log, ips)(h)
	h = httpx.Recover(log)(h)
	h = httpx.RequestID(h)
	return h
}

// surfaceOptions configure the HTTP surfaces.
type surfaceOptions struct {
	api  api.Options
	ckan ckan.Options
}

// bodyLimits cap request bodies: imports (REDCap's POST /api/) and everything else.
type bodyLimits struct {
	body, imports int64
}
