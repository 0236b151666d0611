// Package pybossa serves PYBOSSA's admin user management (/admin/users and its add and
// del links) and its sign-in pages (/account/signin, /account/signout). Each answers in
// PYBOSSA's two forms: HTML pages for people, and its JSON mode for scripts, chosen per
// request as PYBOSSA chooses (Content-Type exactly application/json, or
// ?response_format=json).
//
// Translation table (route → core):
//
//	GET  /admin/users           Authorize(admin_users); ListAccounts(sysadmin=true)
//	POST /admin/users           … and ListAccounts(q over username and full name)
//	GET  /admin/users/add/<id>  MergeAccount(id, sysadmin=true)
//	GET  /admin/users/del/<id>  MergeAccount(id, sysadmin=false)
//	     /account/signin        Login (a session cookie for every surface)
//	     /account/signout       Logout
//
// PYBOSSA's admins are Roster's system administrators. The core decides who may see
// and change what; this package words its answers in PYBOSSA's messages.
package pybossa

import (
	"context"
	"embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/web"
)

// Directory is what the dialect needs from the accounts core.
type Directory interface {
	Authorize(ctx context.Context, action string) error
	ListAccounts(ctx context.Context, f roster.AccountFilter, opt roster.ReadOptions) (*roster.RecordPage, error)
	MergeAccount(ctx context.Context, ref roster.AccountRef, patch map[string]any, w roster.WriteOptions) (*roster.Record, error)
	Login(ctx context.Context, cred roster.Credentials, c roster.Client) (*roster.SessionInfo, error)
	Logout(ctx context.Context, token string) error
}

// Options configure the dialect.
type Options struct {
	// SecureCookies marks its cookies Secure, for Roster served over HTTPS.
	SecureCookies bool
}

// Handler serves the dialect.
type Handler struct {
	dir     Directory
	auth    *authn.Authenticator
	log     *slog.Logger
	pages   *web.Pages
	cookies httpx.Cookies
	surface *httpx.Surface

	adminPage, signinPage, signoutPage *web.Page
}

//go:embed templates/*.html
var templates embed.FS

// credentials are what PYBOSSA accepts: its session cookie (whose changes carry the
// CSRF token in a header or the csrf_token form field), and an API key in
// Authorization (the raw key, or after Bearer or Token) or in ?api_key=. An unknown key
// makes the caller anonymous, as in PYBOSSA.
var credentials = authn.Policy{Via: roster.ViaPYBOSSA, Keys: true, KeyQuery: "api_key", Sessions: true,
	CSRFField: "csrf_token", BadIsAnonymous: true}

// New returns the dialect over dir.
func New(dir Directory, auth *authn.Authenticator, pages *web.Pages, log *slog.Logger, opts Options) *Handler {
	h := &Handler{dir: dir, auth: auth, log: log, pages: pages, cookies: httpx.Cookies{Secure: opts.SecureCookies}}
	h.surface = &httpx.Surface{Name: roster.ViaPYBOSSA, WriteError: h.writeError}
	h.adminPage = pages.Parse(templates, "templates/admin_users.html")
	h.signinPage = pages.Parse(templates, "templates/signin.html")
	h.signoutPage = pages.Parse(templates, "templates/signout.html")
	return h
}

// Surface is the dialect as the router knows it.
func (h *Handler) Surface() *httpx.Surface { return h.surface }

// Register adds the dialect's routes. add and del take GET only, as in PYBOSSA; their
// patterns name no method, so that another method gets PYBOSSA's 405 rather than the
// mux's.
func (h *Handler) Register(mux *httpx.Router) {
	mux.HandleFunc(h.surface, "GET /admin/users", h.adminUsers)
	mux.HandleFunc(h.surface, "POST /admin/users", h.adminUsers)
	mux.HandleFunc(h.surface, "/admin/users/add/{id}", func(w http.ResponseWriter, r *http.Request) { h.setAdmin(w, r, true) })
	mux.HandleFunc(h.surface, "/admin/users/del/{id}", func(w http.ResponseWriter, r *http.Request) { h.setAdmin(w, r, false) })
	mux.HandleFunc(h.surface, "/admin/", h.notFound)
	mux.HandleFunc(h.surface, "GET /account/signin", h.signin)
	mux.HandleFunc(h.surface, "POST /account/signin", h.signin)
	mux.HandleFunc(h.surface, "GET /account/signout", h.signout)
	mux.HandleFunc(h.surface, "POST /account/signout", h.signout)
}

// jsonMode reports whether PYBOSSA would answer r in JSON: its Content-Type is exactly
// application/json (with no parameters), or it asks ?response_format=json.
func jsonMode(r *http.Request) bool {
	return r.Header.Get("Content-Type") == "application/json" || r.URL.Query().Get("response_format") == "json"
}

// writeJSON writes v as Flask's jsonify does: keys sorted (v's maps are), compact, not
// HTML-escaped, a final newline.
func writeJSON(w http.ResponseWriter, status int, v any) {
	httpx.WriteJSON(w, status, v)
}

// redirect sends the caller on to next: 302 to HTML clients; in JSON mode 200 with
// {"next": …} and the flash, if any, that the page would show.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, next string, flash *web.Flash, flashName string) {
	if jsonMode(r) {
		body := map[string]any{"next": next}
		if flash != nil {
			body["flash"], body["status"] = flash.Message, flash.Status
		}
		writeJSON(w, http.StatusOK, body)
		return
	}
	if flashName != "" {
		web.SetFlash(w, h.cookies, flashName)
	}
	http.Redirect(w, r, next, http.StatusFound)
}

// toSignin sends an anonymous caller to the sign-in page, to come back to r's page.
func (h *Handler) toSignin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Path
	if jsonMode(r) && r.URL.Query().Get("response_format") == "json" {
		next += "?response_format=json"
	}
	if !jsonMode(r) {
		web.SetFlash(w, h.cookies, "signin_required")
	}
	w.Header().Set("Location", "/account/signin?next="+url.QueryEscape(next))
	w.WriteHeader(http.StatusFound)
}

// authenticate finds the caller. Its errors (a session change without its CSRF token,
// too many bad keys) are answered here.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (roster.Actor, bool) {
	actor, err := h.auth.Authenticate(w, r, credentials)
	if err != nil {
		h.writeError(w, r, err)
		return actor, false
	}
	return actor, true
}

// readBody reads the fields a form or JSON body carries: a JSON object when the
// Content-Type is exactly application/json, else the form (which the authenticator may
// already have parsed for its CSRF field).
func readBody(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	if r.Header.Get("Content-Type") == "application/json" {
		if r.ContentLength == 0 {
			return out, nil
		}
		var in map[string]any
		if err := httpx.DecodeJSON(r, &in); err != nil {
			return nil, err
		}
		for k, v := range in {
			switch v := v.(type) {
			case string:
				out[k] = v
			case json.Number:
				out[k] = v.String()
			}
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		if e := httpx.TooLarge(err); roster.ErrorCode(e) == roster.ETOOLARGE {
			return nil, e
		}
		return nil, roster.Errorf(roster.EINVALID, "The form could not be read.")
	}
	for k, vs := range r.PostForm {
		if len(vs) > 0 {
			out[k] = vs[0]
		}
	}
	return out, nil
}

// safeNext is next when it is a path on this site, else "": sign-in never sends a
// browser to another site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) ||
		strings.ContainsAny(next, "\r\n\t") || !roster.ValidText(next) {
		return ""
	}
	return next
}
