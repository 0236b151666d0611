package brainstem

import (
	"embed"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/web"
)

//go:embed templates/*.html
var templates embed.FS

// pagePolicy: the approval page takes the session cookie alone, its POST with the
// session's CSRF token in the csrf_token field. A stale cookie is no session: the
// caller is sent to sign in.
var pagePolicy = authn.Policy{Via: roster.ViaBrainSTEM, Sessions: true, CSRFField: "csrf_token", BadIsAnonymous: true}

// deviceView is what the page shows.
type deviceView struct {
	UserCode  string
	Info      *oauth.DeviceInfo
	Requested string
	Expires   string
	Done      string // "approved" or "denied" once decided
	Problem   string // why the code typed was not taken
}

const pageTime = "2006-01-02 15:04:05 MST"

// showDevice shows the approval page: a form to type the code, or, for a code, what
// asks for access and the buttons to approve or deny it.
func (t *TokenRoutes) showDevice(w http.ResponseWriter, r *http.Request) {
	actor, ok := t.pageCaller(w, r)
	if !ok {
		return
	}
	ctx := roster.NewContextWithActor(r.Context(), actor)
	token := t.auth.FormToken(w, r, actor, t.cookies)
	code := r.URL.Query().Get("user_code")
	if code == "" {
		t.render(w, r, http.StatusOK, actor, token, deviceView{})
		return
	}
	info, err := t.tokens.LookupDevice(ctx, code, t.auth.Client(r))
	if err != nil {
		t.pageFail(w, r, actor, token, code, err)
		return
	}
	t.render(w, r, http.StatusOK, actor, token, viewOf(info, ""))
}

func viewOf(info *oauth.DeviceInfo, done string) deviceView {
	return deviceView{UserCode: info.UserCode, Info: info, Requested: info.CreatedAt.UTC().Format(pageTime),
		Expires: info.ExpiresAt.UTC().Format(pageTime), Done: done}
}

// decideDevice approves or denies a code, on the POST of the page's form.
func (t *TokenRoutes) decideDevice(w http.ResponseWriter, r *http.Request) {
	actor, ok := t.pageCaller(w, r)
	if !ok {
		return
	}
	ctx := roster.NewContextWithActor(r.Context(), actor)
	if err := r.ParseForm(); err != nil {
		t.pageError(w, r, actor, httpx.TooLarge(err))
		return
	}
	code := r.PostForm.Get("user_code")
	c := t.auth.Client(r)
	var (
		info *oauth.DeviceInfo
		err  error
		done string
	)
	switch r.PostForm.Get("decision") {
	case "approve":
		done = "approved"
		info, err = t.tokens.ApproveDevice(ctx, code, c)
	case "deny":
		done = "denied"
		info, err = t.tokens.DenyDevice(ctx, code, c)
	default: // the code typed in: show what it asks
		http.Redirect(w, r, DevicePath+"?user_code="+url.QueryEscape(code), http.StatusSeeOther)
		return
	}
	token := t.auth.FormToken(w, r, actor, t.cookies)
	if err != nil {
		t.pageFail(w, r, actor, token, code, err)
		return
	}
	t.render(w, r, http.StatusOK, actor, token, viewOf(info, done))
}

// pageCaller finds the signed-in caller, or sends the browser to sign in and come back.
func (t *TokenRoutes) pageCaller(w http.ResponseWriter, r *http.Request) (roster.Actor, bool) {
	actor, err := t.auth.Authenticate(w, r, pagePolicy)
	if err != nil {
		t.pageError(w, r, actor, err)
		return actor, false
	}
	if actor.SessionID == 0 && (r.Header.Get("Authorization") != "" || r.URL.Query().Has("api_key")) {
		// A key or token is no browser's session, and the sign-in page would send a
		// caller signed in by one straight back here.
		t.pageError(w, r, actor, roster.Errorf(roster.EFORBIDDEN, "Devices are approved in a browser signed in at /account/signin, not with a key or token."))
		return actor, false
	}
	if actor.SessionID == 0 {
		next := DevicePath
		if code := r.URL.Query().Get("user_code"); code != "" && r.Method == http.MethodGet {
			next += "?user_code=" + url.QueryEscape(code)
		}
		http.Redirect(w, r, "/account/signin?next="+url.QueryEscape(next), http.StatusFound)
		return actor, false
	}
	return actor, true
}

func (t *TokenRoutes) render(w http.ResponseWriter, r *http.Request, status int, actor roster.Actor, token string, v deviceView) {
	t.pages.Render(w, r, status, t.page, web.View{Title: "Connect a device", Caller: actor.Username, CSRF: token, Data: v})
}

// pageFail shows the code form again, saying why the code was not taken; other errors
// get an error page.
func (t *TokenRoutes) pageFail(w http.ResponseWriter, r *http.Request, actor roster.Actor, token, code string, err error) {
	e := roster.AsError(err)
	switch e.Code {
	case roster.ENOTFOUND, roster.ECONFLICT:
		status := http.StatusNotFound
		if e.Code == roster.ECONFLICT {
			status = http.StatusConflict
		}
		if e.Reason == roster.RLinkExpired {
			status = http.StatusGone
		}
		t.render(w, r, status, actor, token, deviceView{Problem: e.Message, UserCode: oauth.NormalizeUserCode(code)})
		return
	}
	t.pageError(w, r, actor, err)
}

func (t *TokenRoutes) pageError(w http.ResponseWriter, r *http.Request, actor roster.Actor, err error) {
	e := roster.AsError(err)
	status, heading, desc := http.StatusInternalServerError, "Internal error", "The page could not be shown. Try again later."
	switch {
	case e.Code == roster.EFORBIDDEN && (e.Reason == roster.RCSRF || errors.Is(err, authn.ErrFormToken)):
		status, heading, desc = http.StatusForbidden, "Form expired", "The form could not be checked. Open the page again."
	case e.Code == roster.EFORBIDDEN:
		status, heading, desc = http.StatusForbidden, "Forbidden", e.Message
	case e.Code == roster.ETOOMANY:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, e.RetryAfter)))
		status, heading, desc = http.StatusTooManyRequests, "Too many attempts", "Too many codes were not recognised. Wait a little, then try again."
	case e.Code == roster.ETOOLARGE:
		status, heading, desc = http.StatusRequestEntityTooLarge, "Too large", "The request is too large."
	case e.Code == roster.EUNAVAILABLE:
		status, heading, desc = http.StatusServiceUnavailable, "Unavailable", "The page cannot be shown at the moment. Try again later."
	}
	if status >= 500 && !httpx.ClientGone(r) {
		t.log.ErrorContext(r.Context(), "device page failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
	}
	t.pages.Error(w, r, status, heading, desc, actor.Username)
}
