// Package brainstem serves BrainSTEM's users endpoint over Roster's core, so that
// BrainSTEM's Python and MATLAB clients work against Roster unchanged (docs/brainstem.md).
//
// Translation table (route → core), on the portals public, private and super:
//
//	GET    /api/{portal}/users/user[/]         ListAccounts (dynamic-rest's filter{…},
//	                                           sort[], limit/offset), OwnedGroups
//	GET    /api/{portal}/users/user/{id}[/]    GetAccount, OwnedGroups
//	PATCH  /api/{portal}/users/user/{id}[/]    AccountAccess, UpdateAccount
//	DELETE /api/{portal}/users/user/{id}[/]    Authorize("delete"), SetState(deleted)
//
// Who sees and changes what is the core's decision, by the BrainSTEM surface's policy
// (core/policy.go: the super portal is for staff, deleting for system administrators,
// a deleted user is found by nobody, the admin-only flags are dropped from the changes
// of callers who may not set them). This package maps BrainSTEM's names (schema
// names.brainstem) and envelopes, parses dynamic-rest's query syntax, and words the
// core's answers in Django REST framework's bodies.
package brainstem

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// Directory is what the dialect needs from the accounts core.
type Directory interface {
	Authorize(ctx context.Context, action string) error
	GetAccount(ctx context.Context, ref roster.AccountRef, opt roster.ReadOptions) (*roster.Record, error)
	ListAccounts(ctx context.Context, f roster.AccountFilter, opt roster.ReadOptions) (*roster.RecordPage, error)
	UpdateAccount(ctx context.Context, ref roster.AccountRef, patch map[string]any) (*roster.Record, error)
	SetState(ctx context.Context, ref roster.AccountRef, st roster.State, w roster.WriteOptions) (*roster.Record, error)
	AccountAccess(ctx context.Context, ref roster.AccountRef, as, surface string) (*roster.AccountAccess, error)
	OwnedGroups(ctx context.Context, accountIDs []int64) (map[int64][]roster.GroupMembership, bool, error)
	Schema(ctx context.Context) (*roster.Schema, error)
}

// Handler serves the dialect.
type Handler struct {
	dir     Directory
	auth    *authn.Authenticator
	log     *slog.Logger
	surface *httpx.Surface
}

// credentials are what BrainSTEM's clients send: "Authorization: Bearer <token>", where
// Roster takes its API keys and the token service's opaque tokens and JWTs. A token that
// does not check out is refused (401), on the public portal too, as Django REST
// framework authenticates before it looks at a view's permissions.
var credentials = authn.Policy{Via: roster.ViaBrainSTEM, Keys: true}

// New returns the dialect over dir.
func New(dir Directory, auth *authn.Authenticator, log *slog.Logger) *Handler {
	h := &Handler{dir: dir, auth: auth, log: log}
	h.surface = &httpx.Surface{Name: roster.ViaBrainSTEM, WriteError: h.writeError}
	return h
}

// Surface is the dialect as the router knows it: BrainSTEM's other routes (the token
// endpoints) register on it too, so that every error of the platform is worded alike.
func (h *Handler) Surface() *httpx.Surface { return h.surface }

// Register adds the users endpoint. The seed page's list URL has no trailing slash and
// the clients always send one: both are served, for the detail too.
func (h *Handler) Register(mux *httpx.Router) {
	for _, p := range []string{"/api/{portal}/users/user", "/api/{portal}/users/user/{$}"} {
		mux.HandleFunc(h.surface, p, h.list)
	}
	for _, p := range []string{"/api/{portal}/users/user/{id}", "/api/{portal}/users/user/{id}/{$}"} {
		mux.HandleFunc(h.surface, p, h.detail)
	}
}

// Portals.
const (
	portalPublic  = "public"
	portalPrivate = "private"
	portalSuper   = "super"
)

// errNoCredentials is a request to a portal that needs a token and shows none.
var errNoCredentials = &roster.Error{Code: roster.EUNAUTHENTICATED, Message: "Authentication credentials were not provided."}

// caller authenticates the request for its portal, in Django REST framework's order:
// the credential first (a bad token is 401 everywhere), then the portal's permission:
// public serves the anonymous view to everyone, private needs a token, super a token of
// an administrator (the core's "super" action). It returns nil once it has answered.
func (h *Handler) caller(w http.ResponseWriter, r *http.Request) (context.Context, string) {
	portal := r.PathValue("portal")
	switch portal {
	case portalPublic, portalPrivate, portalSuper:
	default:
		writeJSON(w, http.StatusNotFound, obj{{"detail", "Not found."}})
		return nil, ""
	}
	actor, err := h.auth.Authenticate(w, r, credentials)
	if err != nil {
		h.writeError(w, r, err)
		return nil, ""
	}
	if portal == portalPublic {
		// The public view: what anyone may read, whoever asks.
		anon := h.auth.Anonymous(r, credentials)
		anon.PolicyVersion = actor.PolicyVersion
		return roster.NewContextWithActor(r.Context(), anon), portal
	}
	if actor.Anonymous() {
		h.writeError(w, r, errNoCredentials)
		return nil, ""
	}
	ctx := roster.NewContextWithActor(r.Context(), actor)
	if portal == portalSuper {
		if err := h.dir.Authorize(ctx, "super"); err != nil {
			h.writeError(w, r, err)
			return nil, ""
		}
	}
	return ctx, portal
}

// notAllowed answers a method the view does not have, as Django REST framework does.
func notAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, obj{{"detail", `Method "` + r.Method + `" not allowed.`}})
}

// list answers the list view. Users register through the sign-up form only, so POST is
// not a method of the view.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	ctx, _ := h.caller(w, r)
	if ctx == nil {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		notAllowed(w, r, "GET, HEAD, OPTIONS")
		return
	}
	h.listUsers(ctx, w, r)
}

// detail answers the detail view: GET on every portal; PATCH and DELETE on private and
// super, not on public, which changes nothing.
func (h *Handler) detail(w http.ResponseWriter, r *http.Request) {
	ctx, portal := h.caller(w, r)
	if ctx == nil {
		return
	}
	ref := roster.ParseAccountRef(r.PathValue("id"))
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		h.showUser(ctx, w, r, ref)
	case portal == portalPublic:
		notAllowed(w, r, "GET, HEAD, OPTIONS")
	case r.Method == http.MethodPatch:
		h.patchUser(ctx, w, r, ref)
	case r.Method == http.MethodDelete:
		h.deleteUser(ctx, w, r, ref)
	default:
		notAllowed(w, r, "GET, PATCH, DELETE, HEAD, OPTIONS")
	}
}
