// Package api serves Roster's own JSON API under /v1/, the canonical interface the
// dialects translate to. It decodes requests, calls the accounts core through Accounts
// and the project service through Projects, and encodes the results; they decide what
// each caller may see and change.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// Accounts is what the API needs from the accounts core.
type Accounts interface {
	Schema(ctx context.Context) (*roster.Schema, error)
	AuthenticateKey(ctx context.Context, key string, c roster.Client) (roster.Actor, error)
	AuthenticateSession(ctx context.Context, token string, c roster.Client) (roster.Actor, error)
	Login(ctx context.Context, cred roster.Credentials, c roster.Client) (*roster.SessionInfo, error)
	Logout(ctx context.Context, token string) error
	CSRFToken(sessionToken string) string
	CheckCSRF(sessionToken, presented string) bool

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
	log      *slog.Logger
	ips      *httpx.ClientIPs
	opts     Options

	openapiMu     sync.Mutex
	openapiSchema *roster.Schema // the schema the document was built from
	openapiJSON   []byte
}

// New returns the API over the accounts core and the project service.
func New(accounts Accounts, projects Projects, log *slog.Logger, ips *httpx.ClientIPs, opts Options) *Handler {
	return &Handler{dir: accounts, projects: projects, log: log, ips: ips, opts: opts}
}

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

// serve authenticates the request, checks CSRF for cookie sessions, runs fn and maps
// its error.
func (h *Handler) serve(acc access, fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := roster.Actor{Via: roster.ViaAPI, RequestID: httpx.RequestIDFrom(r.Context()), ClientIP: h.ips.IP(r)}
		err := httpx.CheckQuery(r)
		if err == nil && acc != signIn {
			actor, err = h.authenticate(r)
		}
		if err == nil && acc == signedIn && actor.Anonymous() {
			err = roster.Errorf(roster.EUNAUTHENTICATED, "Authentication required: send an API key (Authorization: Bearer KEY) or sign in.")
		}
		if actor.Anonymous() {
			// Whoever has not shown who they are gets a small body: nothing anonymous
			// needs more than a sign-in.
			httpx.LimitAnonymousBody(w, r)
		}
		if err == nil {
			err = fn(w, r.WithContext(roster.NewContextWithActor(r.Context(), actor)))
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

func (h *Handler) client(r *http.Request) roster.Client {
	return roster.Client{IP: h.ips.IP(r), UserAgent: r.UserAgent()}
}

// authenticate finds the actor: an API key in any accepted header, else the session
// cookie, else anonymous. A cookie-authenticated unsafe request must carry the session's
// CSRF token in X-CSRF-Token (or X-CSRFToken).
func (h *Handler) authenticate(r *http.Request) (roster.Actor, error) {
	ctx, c := r.Context(), h.client(r)
	var actor roster.Actor
	var err error
	switch key, token := httpx.APIKey(r), httpx.SessionToken(r); {
	case key != "":
		actor, err = h.dir.AuthenticateKey(ctx, key, c)
	case token != "":
		actor, err = h.dir.AuthenticateSession(ctx, token, c)
		if err == nil && !httpx.SafeMethod(r.Method) && !h.dir.CheckCSRF(token, httpx.CSRFHeader(r)) {
			err = roster.Errorf(roster.EFORBIDDEN, "CSRF check failed: send the session's csrf_token in the X-CSRF-Token header.")
		}
	}
	if err != nil {
		return roster.Actor{}, err
	}
	actor.Via, actor.RequestID, actor.ClientIP = roster.ViaAPI, httpx.RequestIDFrom(ctx), c.IP
	return actor, nil
}

// writeError writes err in the native shape; internal errors are logged with their
// cause and shown only as "Internal error.".
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
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
