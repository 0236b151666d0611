package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/rosterhq/roster/internal/roster"
)

// ErrorWriter writes an error in one surface's own format: Roster's JSON, CKAN's
// envelope, REDCap's returnFormat, an HTML page. Codes it must handle besides the core's:
// ETOOLARGE (Reason RBody: 413; RHeaders: 431) and EINTERNAL.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Surface is one HTTP surface: the native API or a platform's dialect. Every error on its
// routes is written by its ErrorWriter, those found before its handlers run too (a body
// or headers over the limit, a panic).
type Surface struct {
	Name       string
	WriteError ErrorWriter
	// BodyLimit, when not 0, is the largest body its routes read, instead of the
	// router's default (REDCap's imports arrive whole in one request).
	BodyLimit int64
	// Operations names what the surface dispatches inside its routes, where one route
	// serves many (CKAN's actions, REDCap's content and action), so that tests which
	// must cover every operation can list them.
	Operations []string
}

// Route is one registered route: its pattern, and its surface (nil for the routes of no
// surface: health checks, metrics).
type Route struct {
	Pattern string
	Surface *Surface
}

// Router is the one mux of every surface. It knows which surface owns each route.
type Router struct {
	mux       *http.ServeMux
	owners    map[string]*Surface // by route pattern
	surfaces  []*Surface
	routes    []Route
	fallback  *Surface
	bodyLimit int64
}

// NewRouter returns a router whose routes read bodies of at most bodyLimit bytes unless
// their surface says otherwise. Routes that belong to no surface (health checks,
// metrics, unknown paths) answer errors in fallback's format.
func NewRouter(fallback *Surface, bodyLimit int64) *Router {
	return &Router{mux: http.NewServeMux(), owners: map[string]*Surface{}, fallback: fallback, bodyLimit: bodyLimit}
}

// Handle registers h for pattern on surface s (nil: no surface).
func (rt *Router) Handle(s *Surface, pattern string, h http.Handler) {
	rt.routes = append(rt.routes, Route{Pattern: pattern, Surface: s})
	if s == nil {
		s = rt.fallback
	} else if !slices.Contains(rt.surfaces, s) {
		rt.surfaces = append(rt.surfaces, s)
	}
	rt.owners[pattern] = s
	limit := rt.bodyLimit
	if s.BodyLimit != 0 {
		limit = s.BodyLimit
	}
	rt.mux.Handle(pattern, limitBody(limit, s.WriteError, h))
}

// HandleFunc is Handle for a function.
func (rt *Router) HandleFunc(s *Surface, pattern string, h func(http.ResponseWriter, *http.Request)) {
	rt.Handle(s, pattern, http.HandlerFunc(h))
}

// Surfaces returns the surfaces that registered routes, in registration order.
func (rt *Router) Surfaces() []*Surface { return slices.Clone(rt.surfaces) }

// Routes returns every registered route, in registration order.
func (rt *Router) Routes() []Route { return slices.Clone(rt.routes) }

// ServeHTTP dispatches to the route's handler.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.mux.ServeHTTP(w, r) }

// SurfaceOf returns the surface that owns r's route, or the fallback.
func (rt *Router) SurfaceOf(r *http.Request) *Surface {
	_, pattern := rt.mux.Handler(r)
	if s, ok := rt.owners[pattern]; ok {
		return s
	}
	return rt.fallback
}

// WriteError writes err in the format of the surface that owns r's route.
func (rt *Router) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	rt.SurfaceOf(r).WriteError(w, r, err)
}

// MaxHeaderBytes bounds a request's URL and headers together. The server reads up to
// ServerMaxHeaderBytes before Go itself refuses, in plain text, so that between the two
// the surface answers in its own format.
const (
	MaxHeaderBytes       = 64 << 10
	ServerMaxHeaderBytes = 1 << 20
)

// headerBytes is the size of r's request line and headers, roughly as sent.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// Guard refuses a request whose URL and headers exceed MaxHeaderBytes, and turns a panic
// into a 500 with a logged stack, keeping the server up; both in the format of the
// surface that owns the route.
func (rt *Router) Guard(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(r.Context(), "panic", "request_id", RequestIDFrom(r.Context()), "panic", fmt.Sprint(p))
					rt.WriteError(w, r, roster.Internal("httpx.Guard", fmt.Errorf("panic: %v", p)))
				}
			}()
			if headerBytes(r) > MaxHeaderBytes {
				rt.WriteError(w, r, &roster.Error{Code: roster.ETOOLARGE, Reason: roster.RHeaders,
					Message: fmt.Sprintf("The request's URL and headers are larger than %d bytes.", MaxHeaderBytes)})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody caps a route's request bodies at n bytes. A declared length over it is
// refused at once; a body that turns out longer fails its reader (IsBodyTooLarge), which
// the route's handler answers.
func limitBody(n int64, writeError ErrorWriter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > n {
			writeError(w, r, BodyTooLarge(n))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, n)
		next.ServeHTTP(w, r)
	})
}

// BodyTooLarge is the error of a body over a limit of n bytes.
func BodyTooLarge(n int64) error {
	return &roster.Error{Code: roster.ETOOLARGE, Reason: roster.RBody, Message: fmt.Sprintf("The request body is larger than %d bytes.", n)}
}
