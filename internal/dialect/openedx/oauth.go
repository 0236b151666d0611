package openedx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
)

// Tokens is what the dialect needs of the token service.
type Tokens interface {
	Token(ctx context.Context, req oauth.TokenRequest, c roster.Client) (*oauth.Token, error)
	SessionToken(ctx context.Context) (*oauth.Token, error)
	JWKS(ctx context.Context) ([]byte, error)
}

// OAuth serves Open edX's OAuth2 endpoints over the token service: the token endpoint
// that edx-rest-api-client and the mobile apps call, the JWKS that services verify
// tokens with, and /login_refresh, which gives a signed-in browser its JWT cookies.
// The token endpoint answers in OAuth2's format (RFC 6749), as django-oauth-toolkit
// does, so it is a surface of its own.
type OAuth struct {
	tokens  Tokens
	auth    *authn.Authenticator
	log     *slog.Logger
	cookies jwtCookies
	surface *httpx.Surface
}

// jwtCookies writes the two cookies a browser's JWT is split into, as the LMS does.
type jwtCookies struct {
	secure bool
	domain string
}

// refreshPolicy: /login_refresh reads the session cookie alone. Its only effect is on
// the caller's own cookies, so it needs no CSRF token (Open edX exempts it too).
var refreshPolicy = authn.Policy{Via: roster.ViaOpenEdX, Sessions: true, CSRFExempt: true}

// tokenPolicy: the token endpoint authenticates clients itself; the request's actor is
// anonymous, so its body is bounded as anyone's.
var tokenPolicy = authn.Policy{Via: roster.ViaOpenEdX}

// NewOAuth returns the OAuth2 endpoints over tokens.
func NewOAuth(tokens Tokens, auth *authn.Authenticator, log *slog.Logger, opts Options) *OAuth {
	o := &OAuth{tokens: tokens, auth: auth, log: log, cookies: jwtCookies{secure: opts.SecureCookies, domain: opts.CookieDomain}}
	o.surface = &httpx.Surface{Name: "oauth2", WriteError: o.writeError}
	return o
}

// Surface is the token endpoint as the router knows it.
func (o *OAuth) Surface() *httpx.Surface { return o.surface }

// Register adds the routes: the token endpoint and the JWKS on the OAuth2 surface,
// /login_refresh on Open edX's (its answers are the LMS's).
func (o *OAuth) Register(mux *httpx.Router, openedx *httpx.Surface) {
	for _, p := range []string{"/oauth2/access_token", "/oauth2/access_token/"} {
		mux.HandleFunc(o.surface, p, o.token)
	}
	mux.HandleFunc(o.surface, "/.well-known/jwks.json", o.jwks)
	mux.HandleFunc(o.surface, "/oauth2/jwks.json", o.jwks)
	mux.HandleFunc(openedx, "/login_refresh", o.loginRefresh)
}

// token answers POST /oauth2/access_token: a form, the client's credentials in it or
// in HTTP Basic authentication.
func (o *OAuth) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		o.writeOAuthError(w, http.StatusMethodNotAllowed, roster.RInvalidRequest, "The token endpoint takes POST.")
		return
	}
	actor, _ := o.auth.Authenticate(w, r, tokenPolicy) // bounds the body; no credential is read
	ctx := roster.NewContextWithActor(r.Context(), actor)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		o.writeOAuthError(w, http.StatusBadRequest, roster.RInvalidRequest, "Send the request as application/x-www-form-urlencoded.")
		return
	}
	if err := r.ParseForm(); err != nil {
		if e := httpx.TooLarge(err); roster.ErrorCode(e) == roster.ETOOLARGE {
			o.writeError(w, r, e)
			return
		}
		o.writeOAuthError(w, http.StatusBadRequest, roster.RInvalidRequest, "The request's form could not be read.")
		return
	}
	f := r.PostForm
	req := oauth.TokenRequest{GrantType: f.Get("grant_type"), ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"),
		Username: f.Get("username"), Password: f.Get("password"), RefreshToken: f.Get("refresh_token"), Scope: f.Get("scope"),
		TokenType: f.Get("token_type")}
	if req.TokenType == "" {
		req.TokenType = r.Header.Get("X-Token-Type")
	}
	if id, sec, ok := r.BasicAuth(); ok && req.ClientID == "" {
		req.ClientID, req.ClientSecret = id, sec
	}
	tok, err := o.tokens.Token(ctx, req, o.auth.Client(r))
	if err != nil {
		o.writeError(w, r, err)
		return
	}
	fields := obj{{"access_token", tok.AccessToken}, {"expires_in", tok.ExpiresIn}, {"token_type", tok.TokenType}, {"scope", tok.Scope}}
	if tok.RefreshToken != "" {
		fields = append(fields, kv{"refresh_token", tok.RefreshToken})
	}
	noStore(w)
	writeOK(w, fields)
}

// noStore keeps tokens out of caches (RFC 6749, section 5.1).
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// jwks answers the JSON Web Key Set.
func (o *OAuth) jwks(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		o.writeOAuthError(w, http.StatusMethodNotAllowed, roster.RInvalidRequest, "The key set is read with GET.")
		return
	}
	set, err := o.tokens.JWKS(r.Context())
	if err != nil {
		o.writeError(w, r, err)
		return
	}
	// Short enough that a rotation reaches verifiers well within its overlap.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Content-Type", "application/json")
	w.Write(set)
}

// loginRefresh answers POST /login_refresh as the LMS does: a signed-in browser gets a
// fresh JWT in its two cookies; anyone else 401 "Unauthorized".
func (o *OAuth) loginRefresh(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeEmpty(w, http.StatusMethodNotAllowed)
		return
	}
	actor, err := o.auth.Authenticate(w, r, refreshPolicy)
	if roster.ErrorCode(err) == roster.EUNAUTHENTICATED || (err == nil && actor.SessionID == 0) {
		writeLMSJSON(w, http.StatusUnauthorized, "Unauthorized")
		return
	} else if err != nil {
		o.writeError(w, r, err)
		return
	}
	tok, err := o.tokens.SessionToken(roster.NewContextWithActor(r.Context(), actor))
	if err != nil {
		if roster.ErrorCode(err) == roster.EUNAUTHENTICATED {
			writeLMSJSON(w, http.StatusUnauthorized, "Unauthorized")
			return
		}
		o.writeError(w, r, err)
		return
	}
	o.cookies.set(w, tok)
	now := time.Now().UTC()
	noStore(w)
	writeLMSJSON(w, http.StatusOK, obj{{"success", true}, {"user_id", actor.AccountID}, {"response_epoch_seconds", float64(now.UnixMicro()) / 1e6},
		{"response_http_date", now.Format(http.TimeFormat)}, {"expires", tok.ExpiresAt.Format(http.TimeFormat)},
		{"expires_epoch_seconds", tok.ExpiresAt.Unix()}})
}

// set writes the JWT's header and payload in a cookie scripts may read (the
// micro-frontends decode it to learn who is signed in) and its signature in one they
// may not, so that a script alone cannot send the token elsewhere. They live as long as
// the token, as the LMS's do (JWT_IN_COOKIE_EXPIRATION), by the token service's clock.
func (c jwtCookies) set(w http.ResponseWriter, tok *oauth.Token) {
	i := strings.LastIndexByte(tok.AccessToken, '.')
	maxAge := tok.ExpiresIn
	for _, ck := range []*http.Cookie{
		{Name: authn.JWTHeaderPayloadCookie, Value: tok.AccessToken[:i]},
		{Name: authn.JWTSignatureCookie, Value: tok.AccessToken[i+1:], HttpOnly: true},
	} {
		ck.Path, ck.Domain, ck.MaxAge, ck.Expires, ck.Secure, ck.SameSite = "/", c.domain, maxAge, tok.ExpiresAt, c.secure, http.SameSiteLaxMode
		http.SetCookie(w, ck)
	}
}

// writeLMSJSON writes JSON as the LMS's JsonResponse does: indented by 2.
func writeLMSJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	var out bytes.Buffer
	if err == nil {
		err = json.Indent(&out, b, "", "  ")
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, obj{{"detail", "A server error occurred."}})
		return
	}
	httpx.WriteJSONBytes(w, status, out.Bytes())
}

// writeOAuthError writes an OAuth2 error (RFC 6749, section 5.2).
func (o *OAuth) writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	noStore(w)
	writeJSON(w, status, obj{{"error", code}, {"error_description", description}})
}

// writeError answers err as django-oauth-toolkit does: 401 for a client that did not
// authenticate, 400 for everything else the client did wrong.
func (o *OAuth) writeError(w http.ResponseWriter, r *http.Request, err error) {
	err = httpx.TooLarge(err)
	e := roster.AsError(err)
	switch {
	case e.Reason == roster.RInvalidClient:
		if _, _, basic := r.BasicAuth(); basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="oauth2"`)
		}
		o.writeOAuthError(w, http.StatusUnauthorized, roster.RInvalidClient, roster.ErrorMessage(e))
	case e.Code == roster.ETOOMANY:
		after := max(1, e.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(after))
		o.writeOAuthError(w, http.StatusTooManyRequests, "slow_down", "Too many failed attempts; try again in "+strconv.Itoa(after)+" seconds.")
	case e.Code == roster.ETOOLARGE:
		o.writeOAuthError(w, httpx.StatusOf(e), roster.RInvalidRequest, roster.ErrorMessage(e))
	case e.Code == roster.EINTERNAL || e.Code == roster.EUNAVAILABLE:
		if !httpx.ClientGone(r) {
			o.log.ErrorContext(r.Context(), "request failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
		}
		status := http.StatusInternalServerError
		if e.Code == roster.EUNAVAILABLE {
			status = http.StatusServiceUnavailable
		}
		o.writeOAuthError(w, status, "server_error", "The server could not answer; try again later.")
	case e.Reason != "" && strings.HasPrefix(e.Reason, "invalid_") || e.Reason == roster.RUnauthorizedClient || e.Reason == roster.RUnsupportedGrantType:
		o.writeOAuthError(w, http.StatusBadRequest, e.Reason, roster.ErrorMessage(e))
	default:
		o.writeOAuthError(w, http.StatusBadRequest, roster.RInvalidRequest, roster.ErrorMessage(e))
	}
}
