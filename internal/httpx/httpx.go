// Package httpx is the HTTP plumbing every surface shares: request ids, access logs,
// panic recovery, body limits, client addresses behind proxies, credentials in the
// forms the five platforms send them, and JSON helpers. It imports only the standard
// library and roster.
package httpx

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster/internal/roster"
)

type requestIDKey struct{}

// RequestID gives every request an id: the client's X-Request-ID when it is short and
// plain, else a new one. It is echoed in the response and carried in the context.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !plainID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// Request ids are a random prefix drawn when the process starts and a counter: unique
// across replicas and restarts without reading the system's randomness per request.
var (
	requestIDPrefix = func() string {
		var b [6]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}()
	requestIDCount atomic.Uint64
)

func newRequestID() string {
	return requestIDPrefix + "-" + strconv.FormatUint(requestIDCount.Add(1), 36)
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// RequestIDFrom returns the request id in ctx.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// StatusWriter records the status and size of a response.
type StatusWriter struct {
	http.ResponseWriter
	Status int
	Bytes  int64
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.Bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (flushing exports).
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// AccessLog logs one line per request. It logs the path, never the query string:
// PYBOSSA clients put API keys there.
//
// secretPaths are prefixes of paths whose rest is a secret (a confirmation link's key):
// such a path is logged as its prefix and "…".
func AccessLog(log *slog.Logger, ips *ClientIPs, secretPaths ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &StatusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.Status == 0 {
				sw.Status = http.StatusOK
			}
			level := slog.LevelInfo
			if ClientGone(r) {
				// Whatever the handler answered, nobody received it: the client went away,
				// which is ordinary and must not set off alerts on server errors.
				sw.Status = StatusClientClosed
			} else if sw.Status >= 500 {
				level = slog.LevelError
			}
			log.LogAttrs(r.Context(), level, "request",
				slog.String("request_id", RequestIDFrom(r.Context())),
				slog.String("method", r.Method),
				slog.String("path", loggedPath(r.URL.Path, secretPaths)),
				slog.String("route", r.Pattern),
				slog.Int("status", sw.Status),
				slog.Int64("bytes", sw.Bytes),
				slog.Duration("duration", time.Since(start)),
				slog.String("client_ip", ips.IP(r)),
			)
		})
	}
}

// loggedPath is the path as the access log shows it: without the secret part of a
// secret path.
// The path is compared cleaned, as the router cleans it before it redirects: a
// "//email_confirm/KEY" is the same secret.
func loggedPath(p string, secretPaths []string) string {
	clean := path.Clean("/" + p)
	for _, prefix := range secretPaths {
		if strings.HasPrefix(clean, prefix) && len(clean) > len(prefix) {
			return prefix + "…"
		}
	}
	return p
}

// StatusClientClosed is logged and counted for requests whose client closed the
// connection before the answer (nginx's 499).
const StatusClientClosed = 499

// ClientGone reports whether the client closed the connection before it was answered.
func ClientGone(r *http.Request) bool { return errors.Is(r.Context().Err(), context.Canceled) }

// ClientIPs finds the client address of a request, believing X-Forwarded-For only from
// the configured proxies (a load balancer in front of several replicas).
type ClientIPs struct {
	Trusted []netip.Prefix
}

// IP returns the client's address.
func (c *ClientIPs) IP(r *http.Request) string {
	remote, err := netip.ParseAddrPort(r.RemoteAddr)
	var addr netip.Addr
	if err == nil {
		addr = remote.Addr().Unmap()
	} else if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		addr = a
	} else {
		return r.RemoteAddr
	}
	if c == nil || !c.trusted(addr) {
		return addr.String()
	}
	// Walk X-Forwarded-For from the right: the first address not of a trusted proxy is
	// the client.
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !c.trusted(a) {
			return a.String()
		}
		addr = a
	}
	return addr.String()
}

func (c *ClientIPs) trusted(a netip.Addr) bool {
	for _, p := range c.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParsePrefixes reads a comma-separated list of CIDR prefixes or single addresses.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// SessionCookie is the name of Roster's session cookie.
const SessionCookie = "roster_session"

// DeviceCookie names the cookie that marks a browser as one that signed in to an account
// before (core.Login's throttling).
const DeviceCookie = "roster_device"

// DeviceToken returns the device cookie's value, or "".
func DeviceToken(r *http.Request) string {
	c, err := r.Cookie(DeviceCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// AnonymousBodyLimit bounds the body of a request that carries no credential, whatever
// the route's own limit: what an anonymous caller may send (a sign-in, a query) is
// small, and nobody should make the server read megabytes before it knows who asks.
const AnonymousBodyLimit = 64 << 10

// LimitAnonymousBody applies AnonymousBodyLimit to r's body.
func LimitAnonymousBody(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, AnonymousBodyLimit)
}

// SessionToken returns the session cookie's value, or "".
func SessionToken(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// SafeMethod reports whether a method does not change anything.
func SafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// WriteJSONBytes writes an encoded JSON document with status.
func WriteJSONBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// DecodeJSON reads a JSON value from the body into v, keeping numbers exact. A body
// that is not one well-formed JSON value in valid UTF-8 is EINVALID: Go's decoder would
// silently replace invalid UTF-8, and storing the replacement would hide the client's
// mistake.
func DecodeJSON(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &roster.Error{Code: roster.EINVALID, Message: fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit)}
		}
		return roster.Errorf(roster.EINVALID, "The request body could not be read.")
	}
	return DecodeJSONBytes(b, v)
}

// DecodeJSONBytes is DecodeJSON for a body already read.
func DecodeJSONBytes(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return roster.Errorf(roster.EINVALID, "The request body is empty; send a JSON object.")
	}
	if !utf8.Valid(b) {
		return roster.Errorf(roster.EINVALID, "The request body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return roster.Errorf(roster.EINVALID, "The request body is not valid JSON: %s.", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return roster.Errorf(roster.EINVALID, "The request body holds more than one JSON value.")
	}
	return nil
}

// CheckQuery refuses a query string that does not parse: Go's URL.Query drops the pairs
// it cannot read (a ";" separator, a bad escape) without a word, so a client's sort or
// filter would be ignored silently.
func CheckQuery(r *http.Request) error {
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		return roster.Errorf(roster.EINVALID, "The query string is malformed: %s.", err.Error())
	}
	return nil
}

// MediaType returns the media type of the request's Content-Type, lower-cased.
func MediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// WriteError writes err in Roster's native error shape; other surfaces have their own.
func WriteError(w http.ResponseWriter, err error) {
	e := roster.AsError(err)
	status := StatusOf(e)
	if e.Code == roster.ETOOMANY && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
	}
	body := map[string]any{"code": e.Code, "message": roster.ErrorMessage(e)}
	if fm := e.FieldMessages(); fm != nil && e.Code != roster.EINTERNAL {
		body["fields"] = fm
		ps := make([]problemJSON, len(e.Problems))
		for i, p := range e.Problems {
			ps[i] = problemJSON{Field: p.Field, Code: p.Code, Message: p.Message, Line: p.Line, Limit: p.Limit}
		}
		body["problems"] = ps
	}
	WriteJSON(w, status, map[string]any{"error": body})
}

// problemJSON is a problem in Roster's native error shape.
type problemJSON struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Limit   int    `json:"limit,omitempty"`
}

// StatusOf is Status for an error, whose reason may refine it: a request whose headers
// are too large is 431, not 413.
func StatusOf(e *roster.Error) int {
	if e.Code == roster.ETOOLARGE && e.Reason == roster.RHeaders {
		return http.StatusRequestHeaderFieldsTooLarge
	}
	return Status(e.Code)
}

// Status maps a roster error code to Roster's native HTTP status.
func Status(code string) int {
	switch code {
	case roster.EINVALID:
		return http.StatusBadRequest
	case roster.ENOTFOUND:
		return http.StatusNotFound
	case roster.ECONFLICT:
		return http.StatusConflict
	case roster.EUNAUTHENTICATED:
		return http.StatusUnauthorized
	case roster.EFORBIDDEN:
		return http.StatusForbidden
	case roster.ETOOMANY:
		return http.StatusTooManyRequests
	case roster.EPRECONDITION:
		return http.StatusPreconditionFailed
	case roster.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case roster.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// Origin is the scheme and host a client reached r at ("https://host:port"), for
// absolute links to this site: https when the connection, or the proxy in front of
// it (X-Forwarded-Proto), used TLS.
func Origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
