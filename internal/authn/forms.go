package authn

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// FormCookie holds the CSRF token of forms shown to a browser without a session (the
// sign-in form): the form sends the token back, and only a page of this site can read
// it to do so. It is the "double-submit" defence, kept in the browser so that any
// replica can check it.
const FormCookie = "roster_form"

// FormToken is the CSRF token a form shown to r's caller must carry back. A session's
// token is derived from the session (any replica can check it); without a session it is
// the form cookie's, which is set when the browser has none. A caller signed in by an
// API key needs none, but PYBOSSA's clients read one from every form, so it gets the
// cookie's too.
func (a *Authenticator) FormToken(w http.ResponseWriter, r *http.Request, actor roster.Actor, cookies httpx.Cookies) string {
	if actor.SessionID != 0 {
		if token := httpx.SessionToken(r); token != "" {
			return a.core.CSRFToken(token)
		}
	}
	if c, err := r.Cookie(FormCookie); err == nil && validFormToken(c.Value) {
		return c.Value
	}
	token, err := secret.NewToken()
	if err != nil {
		return ""
	}
	cookies.Set(w, FormCookie, token, 0)
	return token
}

// CheckFormToken reports whether a form posted without a session carries the form
// cookie's token, in a CSRF header or the form field.
func CheckFormToken(r *http.Request, field string) bool {
	c, err := r.Cookie(FormCookie)
	if err != nil || !validFormToken(c.Value) {
		return false
	}
	return secret.Equal(c.Value, csrfToken(r, field))
}

func validFormToken(v string) bool { return len(v) >= 32 && len(v) <= 128 }

// ErrFormToken is the refusal of a form without its CSRF token.
var ErrFormToken = &roster.Error{Code: roster.EFORBIDDEN, Reason: roster.RCSRF,
	Message: "CSRF check failed: send the form's csrf_token back with it, from the same browser."}

// SameOrigin reports whether r comes from one of this site's own pages, or from the
// browser itself (an address typed, a bookmark). Browsers say so in Sec-Fetch-Site;
// those that do not, in Origin or Referer. A request that says nothing is not trusted.
func SameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default: // same-site (another port or subdomain) and cross-site
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return sameHost(o, r.Host)
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		return sameHost(ref, r.Host)
	}
	return false
}

func sameHost(rawURL, host string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
}

// RequireSameOrigin refuses a change requested by GET through a session cookie from
// anywhere but this site's own pages. SameSite=Lax session cookies still travel with a
// link followed from another site, and another port of the same host is the same site:
// only the request's origin tells such a GET from one the user made here. API keys and
// tokens are not sent by browsers on their own, so they need no such check.
func RequireSameOrigin(r *http.Request, actor roster.Actor) error {
	if actor.SessionID == 0 || SameOrigin(r) {
		return nil
	}
	return &roster.Error{Code: roster.EFORBIDDEN, Reason: roster.RCrossOrigin,
		Message: "This change was requested from another site's page; make it from this site's own page."}
}
