// Package server assembles Roster's whole HTTP surface: the native API and every
// platform's dialect on one router, behind the middleware they share. The binary serves
// it, and the test kit mounts the same handler, so tests exercise what production runs.
//
// A new dialect plugs in with one line in New: construct it over the core and the
// authenticator, and register its routes; the router then writes every error on its
// routes, those of the shared middleware too, in its format.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rosterhq/roster/internal/api"
	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/dialect/brainstem"
	"github.com/rosterhq/roster/internal/dialect/ckan"
	"github.com/rosterhq/roster/internal/dialect/openedx"
	"github.com/rosterhq/roster/internal/dialect/pybossa"
	"github.com/rosterhq/roster/internal/dialect/redcap"
	"github.com/rosterhq/roster/internal/emailconfirm"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/metrics"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/projects"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/web"
)

// Store is what the health checks ask of the store.
type Store interface {
	Kind() string
	ReadOnly(ctx context.Context) (bool, error)
}

// Config is everything the handler is built from.
type Config struct {
	Core     *core.Service
	Projects *projects.Service
	// OAuth is the token service: the token endpoint, JWTs, the verifier every surface
	// that takes a bearer credential asks, and /v1's management of applications, signing
	// keys and grants. Required.
	OAuth *oauth.Service
	Store Store
	// ReadOnly is the error of a read-only store, which the readiness probe shows.
	ReadOnly func() *roster.Error
	Log      *slog.Logger
	Registry *prometheus.Registry
	IPs      *httpx.ClientIPs
	API      api.Options
	CKAN     ckan.Options
	// JWTCookieDomain is the Domain of the JWT cookies /login_refresh sets.
	JWTCookieDomain string
	// CORSOrigins are the origins whose pages may call Roster with their cookies (Open
	// edX's micro-frontends); none by default.
	CORSOrigins []string
	// BodyLimit bounds request bodies; REDCap's imports, which arrive whole in one
	// request, are bounded by ImportLimit instead.
	BodyLimit   int64
	ImportLimit int64
	// WrapProjects, when set, stands between the native API and the project service:
	// tests inject faults with it. Production leaves it nil.
	WrapProjects func(api.Projects) api.Projects
}

// Handler is Roster's HTTP surface.
type Handler struct {
	http.Handler
	router *httpx.Router
}

// Surfaces returns the registered surfaces, in registration order.
func (h *Handler) Surfaces() []*httpx.Surface { return h.router.Surfaces() }

// Routes returns every registered route, in registration order.
func (h *Handler) Routes() []httpx.Route { return h.router.Routes() }

// New builds the handler. Core, Projects and OAuth are required.
func New(c Config) *Handler {
	if c.Core == nil || c.Projects == nil || c.OAuth == nil {
		panic("server.New: the core, the project service and the token service are required")
	}
	auth := authn.New(c.Core, c.OAuth, c.IPs)
	var projects api.Projects = c.Projects
	if c.WrapProjects != nil {
		projects = c.WrapProjects(projects)
	}
	native := api.New(c.Core, projects, c.OAuth, auth, c.Log, c.API)
	rt := httpx.NewRouter(native.Surface(), c.BodyLimit)

	rt.HandleFunc(nil, "GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	rt.HandleFunc(nil, "GET /readyz", func(w http.ResponseWriter, r *http.Request) { ready(c, w, r) })
	rt.Handle(nil, "GET /metrics", metrics.Handler(c.Registry))
	pages := web.New(c.Log)
	rt.HandleFunc(nil, "GET /static/{file}", pages.ServeCSS)
	rt.HandleFunc(nil, "GET /{$}", func(w http.ResponseWriter, r *http.Request) { home(pages, w, r) })

	native.Register(rt)
	ckan.New(c.Core, auth, c.Log, c.CKAN).Register(rt)
	redcap.New(c.Projects, auth, c.Log, redcap.Options{MaxImportBytes: c.ImportLimit}).Register(rt)
	pybossa.New(c.Core, auth, pages, c.Log, pybossa.Options{SecureCookies: c.API.SecureCookies}).Register(rt)
	edx := openedx.New(c.Core, auth, c.Log, openedx.Options{SecureCookies: c.API.SecureCookies, CookieDomain: c.JWTCookieDomain})
	edx.Register(rt)
	openedx.NewOAuth(c.OAuth, auth, c.Log, openedx.Options{SecureCookies: c.API.SecureCookies, CookieDomain: c.JWTCookieDomain}).Register(rt, edx.Surface())
	bs := brainstem.New(c.Core, auth, c.Log)
	bs.Register(rt)
	emailconfirm.New(c.Core, auth, pages, c.Log, emailconfirm.Options{SecureCookies: c.API.SecureCookies}).Register(rt)
	// BrainSTEM's token flows, on the dialect's surface.
	brainstem.NewTokenRoutes(c.OAuth, auth, pages, c.Log, brainstem.TokenOptions{SecureCookies: c.API.SecureCookies}).Register(rt, bs.Surface())

	var h http.Handler = rt
	h = metrics.NewHTTP(c.Registry).Middleware(h)
	h = rt.Guard(c.Log)(h)
	h = httpx.NewCORS(c.CORSOrigins).Middleware(h)
	h = httpx.AccessLog(c.Log, c.IPs, emailconfirm.Path)(h) // the confirmation links' keys stay out of the log
	h = httpx.RequestID(h)
	return &Handler{Handler: h, router: rt}
}

// home is the start page: for a browser, links to the pages; for anything else, where
// the API is described.
func home(pages *web.Pages, w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"name": "Roster", "api": "/v1/openapi.json"})
		return
	}
	pages.Render(w, r, http.StatusOK, pages.Home(), web.View{Title: "Roster"})
}

// ready answers the readiness probe: the database answers, and takes writes.
func ready(c Config, w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	err := c.Core.Ping(ctx)
	if err != nil {
		c.Log.Warn("not ready", "err", err)
	} else if ro, rerr := c.Store.ReadOnly(ctx); rerr != nil {
		err = rerr
		c.Log.Warn("not ready", "err", err)
	} else if ro {
		// Not logged: serve said so when it started, and probes come every few seconds.
		err = c.ReadOnly()
	}
	if err != nil {
		httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": c.Store.Kind(),
			"reason": roster.ErrorMessage(err)})
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": c.Store.Kind()})
}
