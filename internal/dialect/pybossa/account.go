package pybossa

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/web"
)

// flashes are the messages a redirect leaves for the next page, by name, with their
// status; the flash cookie carries only the name.
var flashes = map[string]string{
	"signin_required": "Please sign in to access this page.",
	"last_admin":      "This is the last admin: make another user an admin before removing this one.",
	"signed_out":      "You are now signed out.",
	"welcome":         "Welcome back",
}

var flashStatus = map[string]string{"signin_required": "info", "last_admin": "error", "signed_out": "success", "welcome": "success"}

// takeFlash returns the message a redirect left for this page, if any, for caller.
func (h *Handler) takeFlash(w http.ResponseWriter, r *http.Request, caller string) *web.Flash {
	name := web.TakeFlash(w, r, h.cookies)
	msg, ok := flashes[name]
	if !ok {
		return nil
	}
	if name == "welcome" && caller != "" {
		msg += " " + caller
	}
	return &web.Flash{Status: flashStatus[name], Message: msg}
}

// badLogin is the one answer to a wrong password and to an unknown account, so that the
// page does not tell who has an account.
const badLogin = "Ooops, Incorrect email/password"

// signinData is the sign-in page's content.
type signinData struct {
	Login, Next string
	Errors      map[string][]string
}

// signin shows the sign-in form and signs in. The form's CSRF token comes from the form
// cookie (a caller without a session has no other); the session made is the one every
// surface that takes the session cookie accepts.
func (h *Handler) signin(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if r.Method == http.MethodGet {
		if !actor.Anonymous() {
			h.redirect(w, r, orRoot(next), nil, "")
			return
		}
		h.signinForm(w, r, actor, http.StatusOK, "", next, h.takeFlash(w, r, ""), nil)
		return
	}
	fields, err := readBody(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if n := safeNext(fields["next"]); n != "" {
		next = n
	}
	if actor.SessionID == 0 && !authn.CheckFormToken(r, "csrf_token") {
		h.writeError(w, r, authn.ErrFormToken)
		return
	}
	login, password := strings.TrimSpace(fields["email"]), fields["password"]
	if login == "" || password == "" {
		errs := map[string][]string{}
		if login == "" {
			errs["email"] = []string{"This field is required."}
		}
		if password == "" {
			errs["password"] = []string{"This field is required."}
		}
		h.signinForm(w, r, actor, http.StatusOK, login, next, nil, errs)
		return
	}
	s, err := h.dir.Login(r.Context(), roster.Credentials{Login: login, Password: password, DeviceToken: httpx.DeviceToken(r)}, h.auth.Client(r))
	switch roster.ErrorCode(err) {
	case "":
	case roster.EUNAUTHENTICATED:
		h.signinForm(w, r, actor, http.StatusOK, login, next, &web.Flash{Status: "error", Message: badLogin}, nil)
		return
	case roster.ETOOMANY:
		e := roster.AsError(err)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, e.RetryAfter)))
		h.signinForm(w, r, actor, http.StatusTooManyRequests, login, next,
			&web.Flash{Status: "error", Message: fmt.Sprintf("Too many failed attempts: try again in %d seconds.", max(1, e.RetryAfter))}, nil)
		return
	default:
		h.writeError(w, r, err)
		return
	}
	h.cookies.Session(w, s.Token, s.ExpiresAt)
	if s.DeviceToken != "" {
		h.cookies.Device(w, s.DeviceToken)
	}
	h.cookies.Set(w, authn.FormCookie, "", -1) // signed in: forms now carry the session's token
	welcome := "Welcome back " + displayName(s.Account)
	h.redirect(w, r, orRoot(next), &web.Flash{Status: "success", Message: welcome}, "welcome")
}

func orRoot(next string) string {
	if next == "" {
		return "/"
	}
	return next
}

func displayName(rec *roster.Record) string {
	if rec == nil {
		return ""
	}
	if v, _ := rec.Get("name"); v != nil && v != "" {
		return fmt.Sprint(v)
	}
	return rec.Username
}

// signinForm writes the sign-in form: PYBOSSA's JSON, or the page.
func (h *Handler) signinForm(w http.ResponseWriter, r *http.Request, actor roster.Actor, status int, login, next string,
	flash *web.Flash, errs map[string][]string) {
	token := h.auth.FormToken(w, r, actor, h.cookies)
	if jsonMode(r) {
		e := map[string]any{}
		for k, v := range errs {
			e[k] = v
		}
		var n any
		if next != "" {
			n = next
		}
		body := map[string]any{"form": map[string]any{"csrf": token, "email": login, "errors": e, "password": ""},
			"next": n, "template": "account/signin.html", "title": "Sign in"}
		if flash != nil {
			body["flash"], body["status"] = flash.Message, flash.Status
		}
		writeJSON(w, status, body)
		return
	}
	h.pages.Render(w, r, status, h.signinPage, web.View{Title: "Sign in", CSRF: token, Flash: flash,
		Data: signinData{Login: login, Next: next, Errors: errs}})
}

// signout ends the session. A GET from this site's own pages (or typed in) signs out at
// once, as in PYBOSSA; one from another site's page only asks, so that no other site
// can sign the visitor out. The POST of that question carries the session's CSRF token.
func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	token := httpx.SessionToken(r)
	if actor.SessionID == 0 || token == "" {
		h.cookies.ClearSession(w)
		h.redirect(w, r, "/", nil, "")
		return
	}
	if r.Method == http.MethodGet && authn.RequireSameOrigin(r, actor) != nil {
		if jsonMode(r) {
			h.writeError(w, r, authn.RequireSameOrigin(r, actor))
			return
		}
		h.pages.Render(w, r, http.StatusOK, h.signoutPage, web.View{Title: "Sign out", Caller: actor.Username,
			CSRF: h.auth.FormToken(w, r, actor, h.cookies)})
		return
	}
	if err := h.dir.Logout(r.Context(), token); err != nil {
		h.writeError(w, r, err)
		return
	}
	h.cookies.ClearSession(w)
	// A person lands on the sign-in page, which shows that they signed out; a script is
	// told PYBOSSA's next.
	next := "/account/signin"
	if jsonMode(r) {
		next = "/"
	}
	h.redirect(w, r, next, &web.Flash{Status: "success", Message: flashes["signed_out"]}, "signed_out")
}
