// Package api serves Roster's own JSON API under /v1/, the canonical interface the
// dialects translate to. It decodes requests, calls the accounts core through Accounts,
// the project service through Projects and the token service through Tokens, and
// encodes the results; they decide what each caller may see and change.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
)

// Accounts is what the API needs from the accounts core.
type Accounts interface {
	Schema(ctx context.Context) (*roster.Schema, error)
	Login(ctx context.Context, cred roster.Credentials, c roster.Client) (*roster.SessionInfo, error)
	Logout(ctx context.Context, token string) error
	CSRFToken(sessionToken string) string

	GetAccount(ctx context.Context, ref roster.AccountRef, opt roster.ReadOptions) (*roster.Record, error)
	ListAccounts(ctx context.Context, f roster.AccountFilter, opt roster.ReadOptions) (*roster.RecordPage, error)
	CreateAccount(ctx context.Context, in map[string]any) (*roster.Record, error)
	MergeAccount(ctx context.Context, ref roster.AccountRef, patch map[string]any, w roster.WriteOptions) (*roster.Record, error)
	SetState(ctx context.Context, ref roster.AccountRef, st roster.State, w roster.WriteOptions) (*roster.Record, error)
	SetPassword(ctx context.Context, ref roster.AccountRef, password, current string) error

	CreateAPIKey(ctx context.Context, ref roster.AccountRef, req roster.KeyRequest) (*roster.NewKey, error)
	ListAPIKeys(ctx context.Context, ref roster.AccountRef) ([]*roster.APIKey, error)
	RevokeAPIKey(ctx context.Context, id int64) (*roster.APIKey, error)

	Roles(ctx context.Context) ([]roster.Role, error)
	CreateGroup(ctx context.Context, name, description string) (*roster.Group, error)
	GetGroup(ctx context.Context, id int64) (*roster.Group, []roster.GroupMembership, error)
	ListGroups(ctx context.Context) ([]*roster.Group, error)
	UpdateGroup(ctx context.Context, id int64, up roster.GroupUpdate) (*roster.Group, error)
	DeleteGroup(ctx context.Context, id int64) error
	SetGroupMember(ctx context.Context, id int64, ref roster.AccountRef, role roster.GroupRole) error
	RemoveGroupMember(ctx context.Context, id int64, ref roster.AccountRef) error

	ListAudit(ctx context.Context, f roster.AuditFilter) ([]*roster.AuditEntry, error)
	ListOutbox(ctx context.Context, f roster.MessageFilter) ([]*roster.Message, error)
	ReadMessage(ctx context.Context, id int64) (*roster.Message, error)

	GetPolicy(ctx context.Context) (*roster.PolicyView, error)
	SetPolicy(ctx context.Context, name, value string) (*roster.PolicyView, error)
	AccountAccess(ctx context.Context, ref roster.AccountRef, as, surface string) (*roster.AccountAccess, error)
}

// Projects is what the API needs from the project service.
type Projects interface {
	ProjectAccess(ctx context.Context, id int64, as string) (*roster.ProjectAccess, error)
	ListProjects(ctx context.Context) ([]*roster.Project, error)
	CreateProject(ctx context.Context, p *roster.Project) (*roster.Project, error)
	GetProject(ctx context.Context, id int64) (*roster.Project, error)
	AddProjectForms(ctx context.Context, id int64, forms []roster.Form) (*roster.Project, error)
	ExportProjectUsers(ctx context.Context, id int64, fn func(*roster.ProjectView, *roster.ProjectMember) error) (*roster.ProjectView, error)
	GetProjectMember(ctx context.Context, id int64, username string) (*roster.ProjectView, *roster.ProjectMember, error)
	PutProjectMember(ctx context.Context, id int64, row roster.MemberRow) error
	DeleteProjectUsers(ctx context.Context, id int64, usernames []string) (int, error)
	IssueProjectToken(ctx context.Context, id int64, username string) (*roster.NewProjectToken, error)
	RevokeProjectToken(ctx context.Context, id int64, username string) error
	ExportProjectRoles(ctx context.Context, id int64) (*roster.ProjectView, error)
	ExportProjectDAGs(ctx context.Context, id int64) ([]*roster.DAG, error)
}

// Tokens is what the API needs from the token service: its OAuth2 applications and
// signing keys (system administrators), and the token families (grants) an account's
// sign-ins through them started.
type Tokens interface {
	CreateApp(ctx context.Context, req oauth.AppRequest) (*oauth.NewApp, error)
	ListApps(ctx context.Context) ([]*roster.OAuthApp, error)
	GetApp(ctx context.Context, id int64) (*roster.OAuthApp, error)
	UpdateApp(ctx context.Context, id int64, ch roster.OAuthAppChange) (*roster.OAuthApp, error)
	RotateSecret(ctx context.Context, id int64) (*oauth.NewApp, error)
	RevokeApp(ctx context.Context, id int64) (*roster.OAuthApp, error)

	ListKeys(ctx context.Context) ([]*roster.SigningKey, error)
	RotateKeys(ctx context.Context) (*roster.SigningKey, error)
	RetireKey(ctx context.Context, kid string) (*roster.SigningKey, error)

	ListGrants(ctx context.Context, ref roster.AccountRef) ([]*roster.OAuthGrant, error)
	RevokeGrant(ctx context.Context, id int64) (*roster.OAuthGrant, error)
}

// Options configure the API.
type Options struct {
	// SecureCookies marks the session cookie Secure; set it when Roster is served over
	// HTTPS (directly or behind a proxy).
	SecureCookies bool
}

// Handler serves /v1/.
type Handler struct {
	dir      Accounts
	projects Projects
	tokens   Tokens
	auth     *authn.Authenticator
	log      *slog.Logger
	opts     Options
	surface  *httpx.Surface

	openapiMu     sync.Mutex
	openapiSchema *roster.Schema // the schema the document was built from
	openapiJSON   []byte
}

// New returns the API over the accounts core, the project service and the token
// service, authenticating with auth.
func New(accounts Accounts, projects Projects, tokens Tokens, auth *authn.Authenticator, log *slog.Logger, opts Options) *Handler {
	h := &Handler{dir: accounts, projects: projects, tokens: tokens, auth: auth, log: log, opts: opts}
	h.surface = &httpx.Surface{Name: roster.ViaAPI, WriteError: h.writeError}
	return h
}

// Surface is the API as the router knows it: its name and error format.
func (h *Handler) Surface() *httpx.Surface { return h.surface }

// credentials are what /v1 accepts: API keys in any header the platforms use, and
// browser sessions, whose changes carry the CSRF token in a header (or, from an HTML
// form, its csrf_token field). A bad credential is refused, never taken as anonymous.
var credentials = authn.Policy{Via: roster.ViaAPI, Keys: true, Sessions: true, CSRFField: "csrf_token"}

// handlerFunc is an API handler: it writes a success itself and returns failures.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// access says who may reach a route before the core looks at the request.
type access int

const (
	signedIn access = iota // a key or a session
	open                   // anyone (the OpenAPI document, signing out)
	// signIn: anyone, and credentials the request carries are not looked at: signing
	// in again from a browser that still holds a session cookie needs no CSRF token.
	signIn
)

// serve authenticates the request, runs fn and maps its error.
func (h *Handler) serve(acc access, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := h.auth.Anonymous(r, credentials)
		err := httpx.CheckQuery(r)
		switch {
		case err != nil:
		case acc == signIn:
			httpx.LimitAnonymousBody(w, r)
		default:
			actor, err = h.auth.Authenticate(w, r, credentials)
		}
		if err == nil && acc == signedIn && actor.Anonymous() {
			err = roster.Errorf(roster.EUNAUTHENTICATED, "Authentication required: send an API key (Authorization: Bearer KEY) or sign in.")
		}
		if err == nil {
			err = fn(w, r.WithContext(roster.NewContextWithActor(r.Context(), actor)))
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

// writeError writes err in the native shape; internal errors are logged with their
// cause and shown only as "Internal error.".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = httpx.TooLarge(err)
	if code := roster.ErrorCode(err); (code == roster.EINTERNAL || code == roster.EUNAVAILABLE) && !httpx.ClientGone(r) {
		h.log.ErrorContext(r.Context(), "request failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
	}
	httpx.WriteError(w, err)
}

// ok writes a JSON success.
func ok(w http.ResponseWriter, status int, v any) error {
	if rec, isRecord := v.(*roster.Record); isRecord {
		// The hottest response: write the record's own encoding, which encoding/json
		// would only parse again to validate it.
		b, err := rec.AppendJSON(make([]byte, 0, 2048))
		if err != nil {
			return roster.Internal("api.ok", err)
		}
		httpx.WriteJSONBytes(w, status, append(b, '\n'))
		return nil
	}
	httpx.WriteJSON(w, status, v)
	return nil
}

func isoTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}
