// Package brainstem serves BrainSTEM's API. This file and device.go are its tokens:
// the historical POST /api/token/ of brainstem_python_api_tools v0.2, and the device
// flow of v2.0 (POST /api/auth/device/, polled at POST /api/auth/device/token/, and
// approved by a signed-in person at /device), over the token service.
//
//	POST /api/token/              PasswordToken: {"token": "..."}
//	POST /api/auth/device/        StartDevice: device_code, user_code, verification_uri(_complete), expires_in, interval
//	POST /api/auth/device/token/  PollDevice: {"status": "authorization_pending" | "success" | …}
//	GET  /device[?user_code=]     LookupDevice: the approval page (sign in first)
//	POST /device                  ApproveDevice or DenyDevice, with the page's CSRF token
package brainstem

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/oauth"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/web"
)

// Tokens is what the token routes need of the token service.
type Tokens interface {
	PasswordToken(ctx context.Context, login, password string, c roster.Client) (*oauth.Token, error)
	StartDevice(ctx context.Context, clientName string, c roster.Client) (*oauth.Device, error)
	PollDevice(ctx context.Context, deviceCode string, c roster.Client) (*oauth.DevicePoll, error)
	LookupDevice(ctx context.Context, userCode string, c roster.Client) (*oauth.DeviceInfo, error)
	ApproveDevice(ctx context.Context, userCode string, c roster.Client) (*oauth.DeviceInfo, error)
	DenyDevice(ctx context.Context, userCode string, c roster.Client) (*oauth.DeviceInfo, error)
}

// TokenOptions configure the token routes.
type TokenOptions struct {
	// SecureCookies marks the form cookie Secure, for Roster served over HTTPS.
	SecureCookies bool
	// PublicURL is the address people reach Roster at, for the verification URI the
	// device shows; "" takes the request's.
	PublicURL string
}

// TokenRoutes serves BrainSTEM's token endpoints and the device approval page.
type TokenRoutes struct {
	tokens  Tokens
	auth    *authn.Authenticator
	pages   *web.Pages
	page    *web.Page
	cookies httpx.Cookies
	log     *slog.Logger
	public  string
}

// DevicePath is the approval page, the device flow's verification URI.
const DevicePath = "/device"

// tokenPolicy: the token endpoints read no credential; their callers are anonymous, so
// their bodies are bounded as anyone's.
var tokenPolicy = authn.Policy{Via: roster.ViaBrainSTEM}

// NewTokenRoutes returns the token routes over tokens.
func NewTokenRoutes(tokens Tokens, auth *authn.Authenticator, pages *web.Pages, log *slog.Logger, opts TokenOptions) *TokenRoutes {
	return &TokenRoutes{tokens: tokens, auth: auth, pages: pages, page: pages.Parse(templates, "templates/device.html"),
		cookies: httpx.Cookies{Secure: opts.SecureCookies}, log: log, public: strings.TrimSuffix(opts.PublicURL, "/")}
}

// Register adds the routes: the API's on surface (BrainSTEM's, whose errors are
// Django REST framework's), the page on none. The API's patterns name no method, so
// that another gets DRF's 405.
func (t *TokenRoutes) Register(mux *httpx.Router, surface *httpx.Surface) {
	mux.HandleFunc(surface, "/api/token/{$}", t.passwordToken)
	mux.HandleFunc(surface, "/api/auth/device/{$}", t.startDevice)
	mux.HandleFunc(surface, "/api/auth/device/token/{$}", t.pollDevice)
	mux.HandleFunc(nil, "GET "+DevicePath, t.showDevice)
	mux.HandleFunc(nil, "POST "+DevicePath, t.decideDevice)
}

// post reads a POST's fields, answering another method or a body it cannot read, and
// reports whether the handler goes on.
func (t *TokenRoutes) post(w http.ResponseWriter, r *http.Request) (context.Context, map[string]string, bool) {
	if onlyPost(w, r) {
		return nil, nil, false
	}
	ctx, f, err := t.fields(w, r)
	if err != nil {
		t.WriteError(w, r, err)
		return nil, nil, false
	}
	return ctx, f, true
}

// fields reads a JSON object's or a form's string fields, as DRF's parsers do.
func (t *TokenRoutes) fields(w http.ResponseWriter, r *http.Request) (context.Context, map[string]string, error) {
	actor, _ := t.auth.Authenticate(w, r, tokenPolicy) // bounds the body; no credential is read
	ctx := roster.NewContextWithActor(r.Context(), actor)
	out := map[string]string{}
	switch mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
			if e := httpx.TooLarge(err); roster.ErrorCode(e) == roster.ETOOLARGE {
				return ctx, nil, e
			}
			return ctx, nil, roster.Errorf(roster.EINVALID, "The form could not be read.")
		}
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				out[k] = vs[0]
			}
		}
	default: // JSON, DRF's default parser; an empty body is no fields
		if r.ContentLength == 0 {
			return ctx, out, nil
		}
		var in map[string]any
		if err := httpx.DecodeJSON(r, &in); err != nil {
			if e := httpx.TooLarge(err); roster.ErrorCode(e) == roster.ETOOLARGE {
				return ctx, nil, e
			}
			return ctx, nil, &roster.Error{Code: roster.EINVALID, Reason: roster.RInvalidRequest,
				Message: "JSON parse error - " + roster.ErrorMessage(err)}
		}
		for k, v := range in {
			switch v := v.(type) {
			case string:
				out[k] = v
			case json.Number:
				out[k] = v.String()
			}
		}
	}
	return ctx, out, nil
}

// required answers DRF's 400 for missing fields, and reports whether it did.
func (t *TokenRoutes) required(w http.ResponseWriter, f map[string]string, names ...string) bool {
	missing := map[string][]string{}
	for _, n := range names {
		if strings.TrimSpace(f[n]) == "" {
			missing[n] = []string{"This field is required."}
		}
	}
	if len(missing) == 0 {
		return false
	}
	tokenJSON(w, http.StatusBadRequest, missing)
	return true
}

// onlyPost answers DRF's 405 to another method, and reports whether it did.
func onlyPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return false
	}
	w.Header().Set("Allow", "POST, OPTIONS")
	tokenJSON(w, http.StatusMethodNotAllowed, map[string]string{"detail": `Method "` + r.Method + `" not allowed.`})
	return true
}

// passwordToken answers POST /api/token/ as DRF's obtain_auth_token does.
func (t *TokenRoutes) passwordToken(w http.ResponseWriter, r *http.Request) {
	ctx, f, ok := t.post(w, r)
	if !ok {
		return
	}
	if t.required(w, f, "username", "password") {
		return
	}
	tok, err := t.tokens.PasswordToken(ctx, f["username"], f["password"], t.auth.Client(r))
	if roster.ErrorCode(err) == roster.EUNAUTHENTICATED {
		tokenJSON(w, http.StatusBadRequest, map[string][]string{"non_field_errors": {"Unable to log in with provided credentials."}})
		return
	} else if err != nil {
		t.WriteError(w, r, err)
		return
	}
	noStore(w)
	tokenJSON(w, http.StatusOK, map[string]string{"token": tok.AccessToken})
}

// startDevice answers POST /api/auth/device/.
func (t *TokenRoutes) startDevice(w http.ResponseWriter, r *http.Request) {
	ctx, f, ok := t.post(w, r)
	if !ok {
		return
	}
	d, err := t.tokens.StartDevice(ctx, f["client_name"], t.auth.Client(r))
	if err != nil {
		t.WriteError(w, r, err)
		return
	}
	base := t.public
	if base == "" {
		base = httpx.Origin(r)
	}
	uri := base + DevicePath
	noStore(w)
	tokenJSON(w, http.StatusOK, map[string]any{"device_code": d.DeviceCode, "user_code": d.UserCode, "verification_uri": uri,
		"verification_uri_complete": uri + "?user_code=" + d.UserCode, "expires_in": d.ExpiresIn, "interval": d.Interval})
}

// pollDevice answers POST /api/auth/device/token/. BrainSTEM's client raises on any
// error status and stops on any status but authorization_pending, printing "error":
// every answer about a live flow is 200, slow_down included (a longer interval, still
// pending). A device code that names no flow, or one whose token was issued already,
// is 400.
func (t *TokenRoutes) pollDevice(w http.ResponseWriter, r *http.Request) {
	ctx, f, ok := t.post(w, r)
	if !ok {
		return
	}
	if t.required(w, f, "device_code") {
		return
	}
	p, err := t.tokens.PollDevice(ctx, f["device_code"], t.auth.Client(r))
	if roster.AsError(err).Reason == roster.RInvalidGrant {
		tokenJSON(w, http.StatusBadRequest, map[string]string{"status": roster.RInvalidGrant, "error": roster.ErrorMessage(err)})
		return
	} else if err != nil {
		t.WriteError(w, r, err)
		return
	}
	noStore(w)
	body := map[string]any{"status": p.Status, "interval": p.Interval}
	switch {
	case p.Status == oauth.DeviceSuccess:
		body["token"] = p.Token.AccessToken
	case p.SlowDown:
		body["error"] = "slow_down"
	case p.Status == oauth.DeviceExpired:
		body["error"] = "The code expired before it was approved: log in again."
	case p.Status == oauth.DeviceDenied:
		body["error"] = "The login was denied in the browser."
	}
	tokenJSON(w, http.StatusOK, body)
}

// tokenJSON writes v as DRF's JSONRenderer does: compact, not HTML-escaped, no final
// newline.
func tokenJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		b.Reset()
		b.WriteString(`{"detail":"A server error occurred."}`)
		status = http.StatusInternalServerError
	}
	httpx.WriteJSONBytes(w, status, bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// noStore keeps tokens out of caches.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// WriteError words err as Django REST framework does: {"detail": "..."}.
func (t *TokenRoutes) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	err = httpx.TooLarge(err)
	e := roster.AsError(err)
	status, msg := http.StatusBadRequest, roster.ErrorMessage(e)
	switch e.Code {
	case roster.ETOOMANY:
		after := max(1, e.RetryAfter)
		w.Header().Set("Retry-After", strconv.Itoa(after))
		status, msg = http.StatusTooManyRequests, "Request was throttled. Expected available in "+strconv.Itoa(after)+" seconds."
	case roster.ETOOLARGE:
		status = httpx.StatusOf(e)
	case roster.EUNAUTHENTICATED:
		status = http.StatusUnauthorized
	case roster.EFORBIDDEN:
		status = http.StatusForbidden
	case roster.ENOTFOUND:
		status, msg = http.StatusNotFound, "Not found."
	case roster.EINTERNAL, roster.EUNAVAILABLE:
		if !httpx.ClientGone(r) {
			t.log.ErrorContext(r.Context(), "request failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
		}
		status, msg = http.StatusInternalServerError, "A server error occurred."
		if e.Code == roster.EUNAVAILABLE {
			status = http.StatusServiceUnavailable
		}
	}
	tokenJSON(w, status, map[string]string{"detail": msg})
}
