// Package authn finds who is calling, for every HTTP surface alike. Each surface
// declares which credentials it accepts (a Policy) and how it treats a missing or bad
// one; the Authenticator reads them from the request, asks the core (or a pluggable
// verifier) to check them, and returns the actor. No surface reads a credential itself.
package authn

import (
	"context"
	"mime"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// Core checks Roster's own credentials: API keys and browser sessions.
type Core interface {
	AuthenticateKey(ctx context.Context, key string, c roster.Client) (roster.Actor, error)
	AuthenticateSession(ctx context.Context, token string, c roster.Client) (roster.Actor, error)
	CheckCSRF(sessionToken, csrfToken string) bool
	CSRFToken(sessionToken string) string
}

// Verifier checks a token some other way: a JWT signed by a known key, a platform's own
// token, a REDCap project token. It returns the actor the token stands for, or
// EUNAUTHENTICATED (ETOOMANY when the client has failed too often).
type Verifier interface {
	Verify(ctx context.Context, token string, c roster.Client) (roster.Actor, error)
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(ctx context.Context, token string, c roster.Client) (roster.Actor, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, token string, c roster.Client) (roster.Actor, error) {
	return f(ctx, token, c)
}

// Policy is what one surface accepts, and how it treats a bad credential.
type Policy struct {
	// Via names the surface in the actor, and so in the audit log.
	Via string
	// Keys accepts Roster API keys in every header the platforms use: Authorization with
	// Bearer, Token or no scheme (CKAN, PYBOSSA), X-CKAN-API-Key and EDX-API-Key.
	Keys bool
	// KeyQuery, when set, also accepts an API key in that query parameter (PYBOSSA's
	// api_key). Access logs never hold query strings, so the key is not logged.
	KeyQuery string
	// Sessions accepts the session cookie. A request that changes something must then
	// carry the session's CSRF token, in X-CSRF-Token or X-CSRFToken, or in the form
	// field CSRFField of a form-encoded or multipart body (HTML forms send no headers).
	Sessions  bool
	CSRFField string
	// CSRFExempt: the surface's changes through a session need no CSRF token, because
	// their only effect is on the caller's own cookies (Open edX's /login_refresh).
	CSRFExempt bool
	// Keys also accepts the token service's tokens wherever a bearer credential goes:
	// "Authorization: JWT <jwt>" (Open edX's scheme) and "Authorization: Bearer <token>"
	// for a JWT or an opaque access token.
	//
	// JWTCookies accepts the JWT a browser holds split in two cookies (Open edX's
	// edx-jwt-cookie-header-payload and edx-jwt-cookie-signature), as edx-drf-extensions
	// does (it no longer needs the USE-JWT-COOKIE header the micro-frontends still
	// send). A change made so must carry a CSRF token, as a session's must: the
	// session's, or the form cookie's.
	JWTCookies bool
	// Bearer verifies "Authorization: SCHEME TOKEN" for the schemes it names, lower-case.
	// A scheme named here takes precedence over Keys and the token service.
	Bearer map[string]Verifier
	// BadIsAnonymous: a credential that does not check out leaves the caller anonymous
	// instead of refusing the request, as CKAN does. Too many failures are refused
	// either way, so that guessing stays slow.
	BadIsAnonymous bool
}

// Authenticator reads and checks credentials for every surface.
type Authenticator struct {
	core   Core
	tokens Verifier
	ips    *httpx.ClientIPs
}

// New returns an Authenticator over the core's credentials and the token service's
// tokens (tokens may be nil: none are accepted).
func New(core Core, tokens Verifier, ips *httpx.ClientIPs) *Authenticator {
	return &Authenticator{core: core, tokens: tokens, ips: ips}
}

// JWT cookies, as Open edX's LMS sets them and edx-drf-extensions reads them.
const (
	JWTHeaderPayloadCookie = "edx-jwt-cookie-header-payload"
	JWTSignatureCookie     = "edx-jwt-cookie-signature"
)

// Client is the request's client, as the throttles and the audit log know it.
func (a *Authenticator) Client(r *http.Request) roster.Client {
	return roster.Client{IP: a.ips.IP(r), UserAgent: r.UserAgent()}
}

// Anonymous is the actor of a request that shows no credential.
func (a *Authenticator) Anonymous(r *http.Request, p Policy) roster.Actor {
	return roster.Actor{Via: p.Via, RequestID: httpx.RequestIDFrom(r.Context()), ClientIP: a.ips.IP(r)}
}

// Authenticate returns the caller of r by p: the first credential found, checked, or
// the anonymous actor when there is none. A bad credential is EUNAUTHENTICATED (or
// anonymous, with BadIsAnonymous); a cookie-authenticated change without its CSRF token
// is EFORBIDDEN with Reason RCSRF. Whoever turns out anonymous gets a small body
// (httpx.AnonymousBodyLimit): nobody makes the server read megabytes before it knows
// who asks.
func (a *Authenticator) Authenticate(w http.ResponseWriter, r *http.Request, p Policy) (roster.Actor, error) {
	actor, err := a.find(r, p)
	switch {
	case err != nil && p.BadIsAnonymous && roster.ErrorCode(err) == roster.EUNAUTHENTICATED:
		actor, err = roster.Actor{}, nil
	case err != nil:
		actor = roster.Actor{}
	}
	if actor.Anonymous() {
		httpx.LimitAnonymousBody(w, r)
	}
	return a.decorate(r, p, actor), err
}

// Token checks a token a surface found itself, where no header holds it (REDCap sends
// its token as a form field, read while the body streams in), with the verifier v.
func (a *Authenticator) Token(r *http.Request, p Policy, v Verifier, token string) (roster.Actor, error) {
	actor, err := v.Verify(r.Context(), token, a.Client(r))
	if err != nil {
		return a.Anonymous(r, p), err
	}
	return a.decorate(r, p, actor), nil
}

func (a *Authenticator) decorate(r *http.Request, p Policy, actor roster.Actor) roster.Actor {
	actor.Via, actor.RequestID, actor.ClientIP = p.Via, httpx.RequestIDFrom(r.Context()), a.ips.IP(r)
	return actor
}

func (a *Authenticator) find(r *http.Request, p Policy) (roster.Actor, error) {
	ctx, c := r.Context(), a.Client(r)
	if scheme, token, ok := authorization(r); ok {
		// A Roster key sent as a bearer token stays a key, whatever else bearer tokens
		// may be on this surface.
		isKey := strings.HasPrefix(token, secret.KeyPrefix)
		if v, known := p.Bearer[scheme]; known && !(p.Keys && isKey) {
			return v.Verify(ctx, token, c)
		}
		if p.Keys && a.tokens != nil && !isKey && (scheme == "jwt" || scheme == "bearer") {
			return a.tokens.Verify(ctx, token, c)
		}
	}
	if p.JWTCookies && a.tokens != nil {
		// As edx-drf-extensions forgives them, cookies that do not check out (expired,
		// revoked, or a change without its CSRF token) leave the request to the session.
		if token, ok := jwtFromCookies(r); ok {
			actor, err := a.tokens.Verify(ctx, token, c)
			if err == nil && (httpx.SafeMethod(r.Method) || a.cookieCSRF(r, p)) {
				return actor, nil
			}
			if err != nil && roster.ErrorCode(err) != roster.EUNAUTHENTICATED {
				return roster.Actor{}, err // the store failed, or the client is blocked
			}
		}
	}
	if p.Keys {
		if key := apiKey(r); key != "" {
			return a.core.AuthenticateKey(ctx, key, c)
		}
	}
	if p.KeyQuery != "" {
		if key := strings.TrimSpace(r.URL.Query().Get(p.KeyQuery)); key != "" {
			return a.core.AuthenticateKey(ctx, key, c)
		}
	}
	if p.Sessions {
		if token := httpx.SessionToken(r); token != "" {
			actor, err := a.core.AuthenticateSession(ctx, token, c)
			if err == nil && !p.CSRFExempt && !httpx.SafeMethod(r.Method) && !a.core.CheckCSRF(token, csrfToken(r, p.CSRFField)) {
				return roster.Actor{}, &roster.Error{Code: roster.EFORBIDDEN, Reason: roster.RCSRF,
					Message: "CSRF check failed: send the session's csrf_token in the X-CSRF-Token header" + csrfFieldHint(p.CSRFField) + "."}
			}
			return actor, err
		}
	}
	return a.Anonymous(r, p), nil
}

// jwtFromCookies reassembles the JWT of the two cookies: header.payload + "." +
// signature. Without both there is none, and the request is not JWT-authenticated.
func jwtFromCookies(r *http.Request) (string, bool) {
	hp, err := r.Cookie(JWTHeaderPayloadCookie)
	if err != nil || hp.Value == "" {
		return "", false
	}
	sig, err := r.Cookie(JWTSignatureCookie)
	if err != nil || sig.Value == "" {
		return "", false
	}
	return hp.Value + "." + sig.Value, true
}

// cookieCSRF checks the CSRF token of a change authenticated by JWT cookies: the
// session's token, when the browser holds a session, or else the form cookie's. A page
// of another origin can read neither.
func (a *Authenticator) cookieCSRF(r *http.Request, p Policy) bool {
	if token := httpx.SessionToken(r); token != "" && a.core.CheckCSRF(token, csrfToken(r, p.CSRFField)) {
		return true
	}
	return CheckFormToken(r, p.CSRFField)
}

// authorization splits an Authorization header with a scheme: ("jwt", "eyJ…", true).
func authorization(r *http.Request) (scheme, token string, ok bool) {
	v := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, ok = strings.Cut(v, " ")
	return strings.ToLower(scheme), strings.TrimSpace(token), ok
}

// apiKey returns the API key a request carries in a header, in any of the forms the
// platforms use. ckanapi sends the same key in two headers; the first non-empty wins.
func apiKey(r *http.Request) string {
	for _, h := range []string{"EDX-API-Key", "X-CKAN-API-Key"} {
		if v := strings.TrimSpace(r.Header.Get(h)); v != "" {
			return v
		}
	}
	v := strings.TrimSpace(r.Header.Get("Authorization"))
	if scheme, rest, ok := strings.Cut(v, " "); ok {
		switch strings.ToLower(scheme) {
		case "bearer", "token":
			return strings.TrimSpace(rest)
		}
		return "" // another scheme (Basic, or one no verifier takes) is not a Roster key
	}
	return v
}

// csrfToken is the CSRF token a request carries: in a header, else in the form field
// of a form-encoded or multipart body. Reading the form consumes the body into r.Form
// and r.PostForm, where the handler finds it; LimitBody bounds it.
func csrfToken(r *http.Request, field string) string {
	for _, h := range []string{"X-CSRF-Token", "X-CSRFToken"} {
		if v := r.Header.Get(h); v != "" {
			return v
		}
	}
	if field == "" {
		return ""
	}
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
	case "application/x-www-form-urlencoded":
		if r.ParseForm() == nil {
			return r.PostForm.Get(field)
		}
	case "multipart/form-data":
		if r.ParseMultipartForm(1<<20) == nil {
			return r.PostForm.Get(field)
		}
	}
	return ""
}

func csrfFieldHint(field string) string {
	if field == "" {
		return ""
	}
	return " or the " + field + " form field"
}
