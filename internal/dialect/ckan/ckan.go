// Package ckan serves CKAN's action API for users (/api/3/action/… and
// /api/action/…), and NETL EDX's user_metadata action, over Roster's core, so that
// requests scripts and CKAN's client ckanapi work unchanged.
//
// Translation table:
//
//	user_show      GET|POST  GetAccount                 → user dict
//	user_list      GET|POST  ListAccounts/StreamAccounts → [user dict] or [name]
//	user_create    POST      CreateAccount (+CreateAPIKey with with_apitoken)
//	user_update    POST      UpdateAccount, full replace of the user dict's fields
//	user_patch     POST      UpdateAccount with the given keys
//	user_delete    POST      SetState(deleted)          → null
//	user_metadata  GET|POST  GetAccounts                → one object per requested id
//
// Wire names come from the profile schema (names.ckan); what a caller sees, and may
// change, is decided by the core.
package ckan

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// Directory is what the CKAN dialect needs from the core.
type Directory interface {
	Schema(ctx context.Context) (*roster.Schema, error)
	// Authorize answers whether the caller may take one of CKAN's actions, by the core's
	// policy for this surface.
	Authorize(ctx context.Context, action string) error
	AccountAccess(ctx context.Context, ref roster.AccountRef, as, surface string) (*roster.AccountAccess, error)
	SurfaceList(ctx context.Context, name string) ([]*roster.Attribute, error)
	GetAccount(ctx context.Context, ref roster.AccountRef, opt roster.ReadOptions) (*roster.Record, error)
	GetAccounts(ctx context.Context, refs []roster.AccountRef, opt roster.ReadOptions) ([]*roster.Record, error)
	ListAccounts(ctx context.Context, f roster.AccountFilter, opt roster.ReadOptions) (*roster.RecordPage, error)
	StreamAccounts(ctx context.Context, f roster.AccountFilter, opt roster.ReadOptions, fn func(*roster.Record) error) error
	CreateAccount(ctx context.Context, in map[string]any) (*roster.Record, error)
	CheckNewAccount(ctx context.Context, in map[string]any) error
	UpdateAccount(ctx context.Context, ref roster.AccountRef, patch map[string]any) (*roster.Record, error)
	SetState(ctx context.Context, ref roster.AccountRef, st roster.State, w roster.WriteOptions) (*roster.Record, error)
	CreateAPIKey(ctx context.Context, ref roster.AccountRef, req roster.KeyRequest) (*roster.NewKey, error)
}

// Options configure the dialect.
type Options struct {
	// SiteURL is the public address used in the help links of responses, e.g.
	// https://data.example.org. Empty: taken from the request.
	SiteURL string
	// RequireEDXUserAgent refuses requests whose User-Agent is not EDX-USER, as EDX does.
	RequireEDXUserAgent bool
}

// Handler serves the CKAN action API.
type Handler struct {
	dir     Directory
	auth    *authn.Authenticator
	log     *slog.Logger
	opts    Options
	actions map[string]action
	surface *httpx.Surface
}

// credentials are what CKAN accepts: an API key in any CKAN or EDX header. Like CKAN, a
// missing or invalid key makes the caller anonymous; it is never a 401.
var credentials = authn.Policy{Via: roster.ViaCKAN, Keys: true, BadIsAnonymous: true}

// action is one CKAN action. Side-effect-free actions may be called with GET.
type action struct {
	fn             func(ctx context.Context, data map[string]any) (any, error)
	sideEffectFree bool
}

// New returns the dialect over dir, authenticating with auth.
func New(dir Directory, auth *authn.Authenticator, log *slog.Logger, opts Options) *Handler {
	h := &Handler{dir: dir, auth: auth, log: log, opts: opts}
	h.surface = &httpx.Surface{Name: roster.ViaCKAN, WriteError: h.surfaceError}
	h.actions = map[string]action{
		"user_show":     {h.userShow, true},
		"user_list":     {h.userList, true},
		"user_create":   {h.userCreate, false},
		"user_update":   {h.userUpdate, false},
		"user_patch":    {h.userPatch, false},
		"user_delete":   {h.userDelete, false},
		"user_metadata": {h.userMetadata, true},
	}
	h.surface.Operations = slices.Sorted(maps.Keys(h.actions))
	return h
}

// Surface is the dialect as the router knows it: its name and error format.
func (h *Handler) Surface() *httpx.Surface { return h.surface }

// Register adds the dialect's routes to the router.
func (h *Handler) Register(mux *httpx.Router) {
	version := func(w http.ResponseWriter, r *http.Request) {
		writeRaw(w, http.StatusOK, pyJSON(obj{{"version", 3}}))
	}
	mux.HandleFunc(h.surface, "GET /api", version)
	mux.HandleFunc(h.surface, "GET /api/3", version)
	for _, p := range []string{"/api/action/{name}", "/api/3/action/{name}"} {
		mux.HandleFunc(h.surface, "GET "+p, h.serve)
		mux.HandleFunc(h.surface, "POST "+p, h.serve)
	}
}

// surfaceError writes an error found outside an action (a body or headers over the
// limit, a panic) as CKAN would: request-level refusals as its bare-string 4xx, the
// rest in its envelope.
func (h *Handler) surfaceError(w http.ResponseWriter, r *http.Request, err error) {
	name := r.PathValue("name")
	if name == "" {
		name = path.Base(r.URL.Path)
	}
	h.writeError(w, r, h.helpURL(r, name), name, err)
}

// result kinds an action may return besides plain values.
type (
	// stream writes a list item by item, so a list of any length takes constant memory.
	stream func(emit func(any) error) error
)

func (h *Handler) helpURL(r *http.Request, name string) string {
	base := h.opts.SiteURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return strings.TrimSuffix(base, "/") + "/api/3/action/help_show?name=" + name
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	help := h.helpURL(r, name)
	act, ok := h.actions[name]
	if !ok {
		writeBadRequest(w, "Action name not known: "+name)
		return
	}
	if h.opts.RequireEDXUserAgent && r.UserAgent() != "EDX-USER" {
		writeFailure(w, help, &ckanError{status: http.StatusForbidden, body: authBody("this server requires User-Agent: EDX-USER")})
		return
	}
	// Who is asking is known from the headers before the body is read, so an anonymous
	// caller's body is held to the small limit every surface gives anonymous callers.
	actor, err := h.auth.Authenticate(w, r, credentials)
	if err != nil {
		if e := roster.AsError(err); e.Code == roster.ETOOMANY {
			w.Header().Set("Retry-After", itoa(max(1, e.RetryAfter)))
			writeFailure(w, help, &ckanError{status: http.StatusForbidden, body: authBody("too many invalid API keys from your address; try again later")})
			return
		}
		h.writeError(w, r, help, name, err)
		return
	}
	data, err := requestData(r, act.sideEffectFree)
	if err != nil {
		if httpx.IsBodyTooLarge(err) {
			h.writeError(w, r, help, name, httpx.TooLarge(err))
			return
		}
		writeBadRequest(w, "JSON Error: "+err.Error())
		return
	}
	ctx := r.Context()
	jsonp := ""
	if cb, ok := data["callback"]; ok {
		// CKAN answers JSONP without authenticating: a page on any site could call it.
		delete(data, "callback")
		jsonp, _ = cb.(string)
		if r.Method == http.MethodGet && !validCallback(jsonp) {
			writeBadRequest(w, "Invalid callback: a JavaScript function name (letters, digits, _, $ and dots) of at most 128 characters")
			return
		}
		actor = roster.Actor{Via: roster.ViaCKAN, RequestID: actor.RequestID, ClientIP: actor.ClientIP}
	}
	ctx = roster.NewContextWithActor(ctx, actor)
	result, err := act.fn(ctx, data)
	if err != nil {
		h.writeError(w, r, help, name, err)
		return
	}
	if s, ok := result.(stream); ok {
		h.writeStream(w, r, help, name, s)
		return
	}
	body := pyJSON(obj{{"help", help}, {"success", true}, {"result", result}})
	if jsonp != "" && r.Method == http.MethodGet {
		writeJSONP(w, jsonp, body)
		return
	}
	writeRaw(w, http.StatusOK, body)
}

// writeStream writes {"help", "success", "result": [ … ]} as the stream produces items
// (httpx.Stream: an error before the first item gets CKAN's error envelope).
func (h *Handler) writeStream(w http.ResponseWriter, r *http.Request, help, name string, s stream) {
	var head bytes.Buffer
	head.WriteString(`{"help": `)
	writePyString(&head, help)
	head.WriteString(`, "success": true, "result": [`)
	out := &httpx.Stream{W: w, R: r, ContentType: contentType, Head: head.String(), Sep: ", ", Tail: "]}",
		Log: h.log, What: "CKAN " + name}
	var item bytes.Buffer
	err := s(func(v any) error {
		item.Reset()
		writePy(&item, v)
		return out.Item(item.Bytes())
	})
	if err := out.End(err); err != nil {
		h.writeError(w, r, help, name, err)
	}
}
