// Package openedx serves Open edX's User Accounts API over Roster's core, so that Open
// edX's front ends and scripts work against Roster unchanged.
//
// Translation table (route → core):
//
//	GET   /api/user/v1/me                      the caller's username
//	GET   /api/user/v1/accounts                GetAccount(self), GetAccounts(usernames),
//	                                           ListAccounts(email), GetAccount(lms_user_id)
//	GET   /api/user/v1/accounts/{username}     GetAccount (view=shared: ReadOptions.AsOthers)
//	PATCH /api/user/v1/accounts/{username}     MergeAccount (RFC 7396)
//
// Who sees what is the core's access decision, by the Open edX surface's policy (no one
// changes another's account; id shows only in the full view). This package maps Open
// edX's names and shapes (schema names.openedx) and words the core's answers in Open
// edX's bodies.
package openedx

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// Directory is what the dialect needs from the accounts core.
type Directory interface {
	Authorize(ctx context.Context, action string) error
	GetAccount(ctx context.Context, ref roster.AccountRef, opt roster.ReadOptions) (*roster.Record, error)
	GetAccounts(ctx context.Context, refs []roster.AccountRef, opt roster.ReadOptions) ([]*roster.Record, error)
	ListAccounts(ctx context.Context, f roster.AccountFilter, opt roster.ReadOptions) (*roster.RecordPage, error)
	MergeAccount(ctx context.Context, ref roster.AccountRef, patch map[string]any, w roster.WriteOptions) (*roster.Record, error)
	AccountAccess(ctx context.Context, ref roster.AccountRef, as, surface string) (*roster.AccountAccess, error)
	Schema(ctx context.Context) (*roster.Schema, error)
	ImageDirectory
}

// Handler serves the dialect.
type Handler struct {
	dir     Directory
	auth    *authn.Authenticator
	log     *slog.Logger
	cookies httpx.Cookies
	surface *httpx.Surface
}

// Options configure the dialect.
type Options struct {
	// SecureCookies marks its cookies Secure, for Roster served over HTTPS.
	SecureCookies bool
	// CookieDomain is the Domain of the JWT cookies (Open edX's SHARED_COOKIE_DOMAIN,
	// ".example.org"), for micro-frontends on other hosts of the site; empty: this host.
	CookieDomain string
}

// credentials are what Open edX's accounts API accepts: the token service's JWTs and
// bearer tokens (and Roster API keys) in Authorization, the JWT cookies, and the session
// cookie; changes through cookies carry the CSRF token in X-CSRFToken. A token in
// Authorization that does not check out is refused, as Open edX refuses it.
var credentials = authn.Policy{Via: roster.ViaOpenEdX, Keys: true, JWTCookies: true, Sessions: true}

// New returns the dialect over dir.
func New(dir Directory, auth *authn.Authenticator, log *slog.Logger, opts Options) *Handler {
	h := &Handler{dir: dir, auth: auth, log: log, cookies: httpx.Cookies{Secure: opts.SecureCookies}}
	h.surface = &httpx.Surface{Name: roster.ViaOpenEdX, WriteError: h.writeError}
	return h
}

// Surface is the dialect as the router knows it.
func (h *Handler) Surface() *httpx.Surface { return h.surface }

// Register adds the dialect's routes. Open edX's own routes have no trailing slash; the
// seed page's examples have one, so both are served.
func (h *Handler) Register(mux *httpx.Router) {
	mux.HandleFunc(h.surface, "/api/user/v1/me", h.only(h.me, "GET"))
	mux.HandleFunc(h.surface, "/api/user/v1/accounts", h.only(h.list, "GET"))
	mux.HandleFunc(h.surface, "/api/user/v1/accounts/{$}", h.only(h.list, "GET"))
	for _, p := range []string{"/api/user/v1/accounts/{username}", "/api/user/v1/accounts/{username}/{$}"} {
		mux.HandleFunc(h.surface, p, h.only(h.account, "GET", "PATCH"))
	}
	mux.HandleFunc(h.surface, "/api/user/v1/preferences/{username}", h.only(h.preferences, "GET", "PATCH"))
	mux.HandleFunc(h.surface, "/api/user/v1/preferences/{username}/{key}", h.only(h.preference, "GET", "PUT", "DELETE"))
	mux.HandleFunc(h.surface, "/csrf/api/v1/token", h.only(h.csrfToken, "GET"))
	h.registerImages(mux)
	// Any other path of the API is no route: Open edX's 404 has no body.
	mux.HandleFunc(h.surface, "/api/user/v1/", func(w http.ResponseWriter, r *http.Request) { writeEmpty(w, http.StatusNotFound) })
}

// only answers the methods a view does not have with DRF's 405, as Open edX does;
// GET stands for HEAD too.
func (h *Handler) only(next http.HandlerFunc, methods ...string) http.HandlerFunc {
	allow := "GET, HEAD, OPTIONS"
	for _, m := range methods {
		if m != "GET" {
			allow += ", " + m
		}
	}
	return func(w http.ResponseWriter, r *http.Request) {
		m := r.Method
		if m == http.MethodHead {
			m = http.MethodGet
		}
		for _, ok := range methods {
			if m == ok {
				next(w, r)
				return
			}
		}
		w.Header().Set("Allow", allow)
		writeJSON(w, http.StatusMethodNotAllowed, obj{{"detail", `Method "` + r.Method + `" not allowed.`}})
	}
}

// usernamePattern is the path's username, as Open edX's route matches it.
var usernamePattern = regexp.MustCompile(`^[\w .@+-]+$`)

// caller authenticates the request: nil and answered when it has no good credential
// (401) or a session's change lacks its CSRF token (403).
func (h *Handler) caller(w http.ResponseWriter, r *http.Request) (context.Context, *roster.Actor) {
	actor, err := h.auth.Authenticate(w, r, credentials)
	if err == nil && actor.Anonymous() {
		err = errNoCredentials
	}
	if err != nil {
		h.writeError(w, r, err)
		return nil, nil
	}
	return roster.NewContextWithActor(r.Context(), actor), &actor
}

// accountsCaller is caller for the accounts views, which also refuse a query by email or
// lms_user_id to callers who may not look accounts up: Open edX checks it on every
// method of those views, before anything else.
func (h *Handler) accountsCaller(w http.ResponseWriter, r *http.Request) (context.Context, *roster.Actor) {
	ctx, actor := h.caller(w, r)
	if actor == nil {
		return nil, nil
	}
	if q := r.URL.Query(); q.Has("email") || q.Has("lms_user_id") {
		if err := h.dir.Authorize(ctx, lookupAction); err != nil {
			h.writeError(w, r, err)
			return nil, nil
		}
	}
	return ctx, actor
}

// mayLookUp asks the core whether the caller may find accounts by email or id (Open
// edX's staff): such a caller is told that an account it may not change exists (403),
// where others are not (404).
func (h *Handler) mayLookUp(ctx context.Context) bool {
	return h.dir.Authorize(ctx, lookupAction) == nil
}

// lookupAction is the surface action the core's policy keeps for staff: finding accounts
// by email or id.
const lookupAction = "lookup"

// csrfToken answers the micro-frontends' CSRF token request: the token a PATCH through
// the caller's session must carry in X-CSRFToken (without a session, the form cookie's,
// which such a caller needs for nothing but asks for anyway). It needs no credential; a
// bad one is refused, as in Open edX.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) {
	actor, err := h.auth.Authenticate(w, r, credentials)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeOK(w, obj{{"csrfToken", h.auth.FormToken(w, r, actor, h.cookies)}})
}

func (h *Handler) me(w http.ResponseWriter, r *http.Request) {
	_, actor := h.caller(w, r)
	if actor == nil {
		return
	}
	writeOK(w, obj{{"username", actor.Username}})
}
