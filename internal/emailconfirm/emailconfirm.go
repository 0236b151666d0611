// Package emailconfirm serves the page a confirmation link leads to:
// /email_confirm/KEY, mailed to the new address of an account whose email change waits
// for confirmation (the Open edX surface's rule, declared in the core's policy).
//
//	GET  /email_confirm/{key}   LookupEmailChange: what the link confirms, and a Confirm
//	                            button (a form carrying the form's CSRF token)
//	POST /email_confirm/{key}   ConfirmEmailChange: the change is made
//
// Open edX confirms on GET. Roster asks first and confirms on the POST of the page's
// form: mail scanners and link previews fetch the links in a message, and a mistyped
// address in someone else's mailbox must not take over the account without a person
// choosing to. The key in the link is the only credential; it is never logged (the
// access log shows the path without it).
package emailconfirm

import (
	"context"
	"embed"
	"errors"
	"log/slog"
	"net/http"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/web"
)

// Core is what the pages need of the accounts core.
type Core interface {
	LookupEmailChange(ctx context.Context, key string) (*roster.PendingEmail, error)
	ConfirmEmailChange(ctx context.Context, key, origin string) (*roster.PendingEmail, error)
}

// Options configure the pages.
type Options struct {
	// SecureCookies marks the form cookie Secure, for Roster served over HTTPS.
	SecureCookies bool
}

// Handler serves the confirmation pages.
type Handler struct {
	core    Core
	auth    *authn.Authenticator
	pages   *web.Pages
	page    *web.Page
	cookies httpx.Cookies
	log     *slog.Logger
}

//go:embed templates/*.html
var templates embed.FS

// Path is where the links point: Path + key.
const Path = roster.ConfirmEmailPath

// credentials: none. The page is for whoever holds the link; its actor is anonymous,
// named in the audit log as the account the link confirms for.
var credentials = authn.Policy{Via: roster.ViaLink}

// New returns the pages over the core.
func New(c Core, auth *authn.Authenticator, pages *web.Pages, log *slog.Logger, opts Options) *Handler {
	return &Handler{core: c, auth: auth, pages: pages, page: pages.Parse(templates, "templates/confirm.html"),
		cookies: httpx.Cookies{Secure: opts.SecureCookies}, log: log}
}

// Register adds the pages' routes. They belong to no platform's surface.
func (h *Handler) Register(mux *httpx.Router) {
	mux.HandleFunc(nil, "GET "+Path+"{key}", h.show)
	mux.HandleFunc(nil, "POST "+Path+"{key}", h.confirm)
}

// view is what the page shows.
type view struct {
	Done               bool
	Username, NewEmail string
	Expires            string
}

func (h *Handler) context(r *http.Request) context.Context {
	return roster.NewContextWithActor(r.Context(), h.auth.Anonymous(r, credentials))
}

// show asks whether to make the change the link names; it changes nothing.
func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	pe, err := h.core.LookupEmailChange(h.context(r), r.PathValue("key"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	token := h.auth.FormToken(w, r, roster.Actor{}, h.cookies)
	h.render(w, r, http.StatusOK, "Confirm your new email address", token,
		view{Username: pe.Username, NewEmail: pe.NewEmail, Expires: pe.ExpiresAt.UTC().Format("2006-01-02 15:04 MST")})
}

// confirm makes the change, on the POST of the page's form.
func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	httpx.LimitAnonymousBody(w, r)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, httpx.TooLarge(err))
		return
	}
	if !authn.CheckFormToken(r, "csrf_token") {
		h.fail(w, r, authn.ErrFormToken)
		return
	}
	pe, err := h.core.ConfirmEmailChange(h.context(r), r.PathValue("key"), httpx.Origin(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "Email address changed", "", view{Done: true, Username: pe.Username, NewEmail: pe.NewEmail})
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, title, csrf string, v view) {
	// The page's address holds the key: no Referer may carry it anywhere, this site's
	// own stylesheet included.
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.pages.Render(w, r, status, h.page, web.View{Title: title, CSRF: csrf, Data: v})
}

// fail answers an error with a page that says what happened to the link.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := roster.AsError(err)
	status, heading, desc := http.StatusInternalServerError, "Internal error", "The change could not be made. Try again later."
	switch {
	case e.Code == roster.ENOTFOUND && e.Reason == roster.RLinkExpired:
		status, heading, desc = http.StatusGone, "Link expired", e.Message
	case e.Code == roster.ENOTFOUND:
		status, heading, desc = http.StatusNotFound, "Unknown link", e.Message
	case e.Code == roster.ECONFLICT && e.Reason == roster.REmailTaken:
		status, heading, desc = http.StatusConflict, "Address in use", e.Message
	case e.Code == roster.EFORBIDDEN && errors.Is(err, authn.ErrFormToken):
		status, heading, desc = http.StatusForbidden, "Form expired", "The form could not be checked. Open the link from the message again."
	case e.Code == roster.ETOOLARGE:
		status, heading, desc = http.StatusRequestEntityTooLarge, "Too large", "The request is too large."
	case e.Code == roster.EUNAVAILABLE:
		status, heading, desc = http.StatusServiceUnavailable, "Unavailable", "The change cannot be made at the moment. Try again later."
	}
	if status >= 500 && !httpx.ClientGone(r) {
		h.log.ErrorContext(r.Context(), "email confirmation failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	h.pages.Error(w, r, status, heading, desc, "")
}
