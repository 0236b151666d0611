package httpx

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// CORS lets the pages of the origins an operator lists (Open edX's micro-frontends,
// served from another host) call Roster from the browser with their cookies, as
// django-cors-headers lets them call the LMS. Other origins get no CORS headers, so
// browsers keep their pages from reading any answer, and their preflights are refused.
type CORS struct {
	origins []string
}

// corsHeaders are the request headers a listed origin's pages may send: what the
// micro-frontends send, and what the LMS allows.
const corsHeaders = "accept, authorization, content-type, user-agent, x-csrftoken, x-requested-with, cache-control, expires, pragma, use-jwt-cookie"

const corsMethods = "DELETE, GET, OPTIONS, PATCH, POST, PUT"

// ParseOrigins reads a comma-separated list of origins ("https://apps.example.org").
// Each is a scheme and a host, with a port if not the scheme's own, and nothing else:
// a browser's Origin header is compared with them exactly.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return nil, fmt.Errorf("%q is not an origin: give a scheme and a host (and port), like https://apps.example.org", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// NewCORS allows origins, as ParseOrigins returns them.
func NewCORS(origins []string) *CORS { return &CORS{origins: origins} }

// Allowed reports whether origin is one the operator listed.
func (c *CORS) Allowed(origin string) bool {
	return slices.Contains(c.origins, strings.ToLower(origin))
}

// Middleware answers preflights and adds the headers that let a listed origin's pages
// read answers, cookies included.
func (c *CORS) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if !c.Allowed(origin) {
			if preflight {
				// Not this server's business unless listed: the browser sees no
				// permission, and the page's request is never sent.
				w.WriteHeader(http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if preflight {
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusOK)
			return
		}
		next.ServeHTTP(w, r)
	})
}
