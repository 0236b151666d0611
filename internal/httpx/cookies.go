package httpx

import (
	"net/http"
	"time"
)

// Cookies writes Roster's cookies, all alike: never readable by scripts, and Secure when
// Roster is served over HTTPS.
type Cookies struct {
	Secure bool
}

// Session sets the session cookie. SameSite=Lax keeps it off other sites' subresource
// and form requests; top-level GETs from other sites still carry it, which is why GETs
// that change something also check the request's origin (authn.SameOrigin).
func (c Cookies) Session(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode})
}

// ClearSession removes the session cookie.
func (c Cookies) ClearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteLaxMode})
}

// Device sets the device cookie holding token. It outlives sessions (it only says the
// browser signed in before).
func (c Cookies) Device(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: token, Path: "/", MaxAge: 180 * 24 * 3600,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteStrictMode})
}

// Set sets a cookie of Roster's own with the same attributes, for maxAge seconds (0: for
// the browser's session; negative: removed). Strict: only this site's own pages send it.
func (c Cookies) Set(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.Secure, SameSite: http.SameSiteStrictMode})
}
