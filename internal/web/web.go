// Package web renders Roster's HTML pages: one layout, one stylesheet, and the headers
// every page is sent with. The pages that people use (PYBOSSA's admin pages, signing in)
// are built on it, and so are the pages to come.
//
// Pages run no script: the Content-Security-Policy allows none, and every value a page
// shows goes through html/template, which escapes it for where it appears.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/rosterhq/roster/internal/httpx"
)

//go:embed templates/*.html static/*
var files embed.FS

// CSP allows a page its own stylesheet and images, forms posted to this site only, no
// scripts, no plugins, no framing by other sites.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Pages renders pages into the layout.
type Pages struct {
	// layout is never executed itself, only cloned into pages: html/template cannot
	// clone a template once it has run.
	layout    *template.Template
	errorPage *Page
	home      *Page
	css       []byte
	// CSSPath is the stylesheet's address; it names the content's hash, so that it can
	// be cached for good.
	CSSPath string
	log     *slog.Logger
}

// New returns the pages' renderer.
func New(log *slog.Logger) *Pages {
	css, err := files.ReadFile("static/roster.css")
	if err != nil {
		panic(err) // embedded: present in every build
	}
	sum := sha256.Sum256(css)
	p := &Pages{css: css, CSSPath: "/static/roster-" + hex.EncodeToString(sum[:6]) + ".css", log: log}
	p.layout = template.Must(template.New("layout").ParseFS(files, "templates/layout.html"))
	p.errorPage = p.Parse(files, "templates/error.html")
	p.home = p.Parse(files, "templates/home.html")
	return p
}

// Page is a page template: the layout, with its "content" defined by one template text.
type Page struct{ t *template.Template }

// Parse makes a page of the layout and the templates matching pattern in fsys, which
// define "content" (and may define more).
func (p *Pages) Parse(fsys fs.FS, pattern string) *Page {
	return &Page{template.Must(template.Must(p.layout.Clone()).ParseFS(fsys, pattern))}
}

// Home is the start page.
func (p *Pages) Home() *Page { return p.home }

// View is what the layout shows around a page's content.
type View struct {
	Title string
	// Caller is the signed-in user's name, "" when no one is signed in.
	Caller string
	// CSRF is the token every form of the page sends back.
	CSRF  string
	Flash *Flash
	// Data is the page's own.
	Data any
	// CSSPath is filled in by Render.
	CSSPath string
}

// Flash is a one-time message: Status is success, info, message or error.
type Flash struct {
	Status, Message string
}

// Render writes page with status. The page is rendered into a buffer first, so that a
// template failure becomes a plain error page rather than half a page.
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, status int, page *Page, v View) {
	v.CSSPath = p.CSSPath
	var b bytes.Buffer
	if err := page.t.ExecuteTemplate(&b, "layout", v); err != nil {
		p.log.ErrorContext(r.Context(), "page failed", "request_id", httpx.RequestIDFrom(r.Context()), "err", err)
		p.Error(w, r, http.StatusInternalServerError, "Internal error", "The page could not be shown.", "")
		return
	}
	Headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// errorData is what the error page shows.
type errorData struct {
	Status      int
	Heading     string
	Description string
}

// Error writes an error page: a heading and a description.
func (p *Pages) Error(w http.ResponseWriter, r *http.Request, status int, heading, description, caller string) {
	var b bytes.Buffer
	v := View{Title: heading, Caller: caller, CSSPath: p.CSSPath, Data: errorData{status, heading, description}}
	if err := p.errorPage.t.ExecuteTemplate(&b, "layout", v); err != nil {
		b.Reset()
		b.WriteString(template.HTMLEscapeString(heading))
	}
	Headers(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// Headers sets the headers every page carries: the CSP, no sniffing of types, no
// framing, and no full URL sent to other sites. A page whose address holds a secret
// sets a stricter Referrer-Policy (no-referrer) before, which is kept.
func Headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	if h.Get("Referrer-Policy") == "" {
		h.Set("Referrer-Policy", "same-origin")
	}
	h.Set("Cache-Control", "no-store")
}

// ServeCSS serves the stylesheet at CSSPath, cacheable for a year: its address changes
// with its content.
func (p *Pages) ServeCSS(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != p.CSSPath {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "roster.css", time.Time{}, bytes.NewReader(p.css))
}

// FlashCookie carries a one-time message across a redirect: the name of the message,
// never its text, so that whoever could set the cookie could only pick among a page's
// own messages.
const FlashCookie = "roster_flash"

var flashName = regexp.MustCompile(`^[a-z_]{1,40}$`)

// SetFlash leaves the message name for the next page.
func SetFlash(w http.ResponseWriter, c httpx.Cookies, name string) { c.Set(w, FlashCookie, name, 60) }

// TakeFlash returns the message name left for this page, and removes it.
func TakeFlash(w http.ResponseWriter, r *http.Request, c httpx.Cookies) string {
	ck, err := r.Cookie(FlashCookie)
	if err != nil {
		return ""
	}
	c.Set(w, FlashCookie, "", -1)
	if !flashName.MatchString(ck.Value) {
		return ""
	}
	return ck.Value
}
