package openedx_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/testkit"
)

// The account micro-frontend's requests, as openedx/frontend-platform (AxiosJwtAuthService,
// AxiosJwtTokenService, AxiosCsrfTokenService and their interceptors) and
// openedx/frontend-app-account (src/account-settings/data/service.js) send them: every
// request carries Origin and axios's Accept, and the browser's cookies
// (withCredentials); every authenticated one also "USE-JWT-COOKIE: true", which is not a
// CORS-safelisted header, so the browser preflights it; unsafe ones "X-CSRFToken" from
// GET /csrf/api/v1/token. /login_refresh is a simple POST without a body or headers.

const (
	mfeOrigin     = "https://apps.example.org"
	unlistedSite  = "https://evil.example.net"
	axiosAccept   = "application/json, text/plain, */*"
	mergePatch    = "application/merge-patch+json"
	jwtPayloadCk  = "edx-jwt-cookie-header-payload"
	jwtSignatures = "edx-jwt-cookie-signature"
)

// browser is the MFE's browser: its cookies for Roster's host, and its origin.
type browser struct {
	t       *testing.T
	e       *testkit.Env
	origin  string
	cookies map[string]string
}

// send makes one request as the browser does: the origin, the cookies, and the given
// headers; it keeps the cookies the answer sets.
func (b *browser) send(method, path, body string, header ...string) *http.Response {
	b.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.e.URL+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Origin", b.origin)
	req.Header.Set("Accept", axiosAccept)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	var jar []string
	for k, v := range b.cookies {
		jar = append(jar, k+"="+v)
	}
	if len(jar) > 0 {
		req.Header.Set("Cookie", strings.Join(jar, "; "))
	}
	resp, err := b.e.Client().Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// preflight is the browser's CORS preflight for a request with these headers.
func (b *browser) preflight(method, path, headers string) *http.Response {
	b.t.Helper()
	return b.send("OPTIONS", path, "", "Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
}

func wantCORS(t *testing.T, step string, resp *http.Response, origin string) {
	t.Helper()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", step, got, origin)
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("%s: Access-Control-Allow-Credentials %q, want true", step, got)
	}
}

func wantNoCORS(t *testing.T, step string, resp *http.Response) {
	t.Helper()
	for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers", "Access-Control-Allow-Methods"} {
		if v := resp.Header.Get(h); v != "" {
			t.Errorf("%s: %s %q for an origin the operator did not list", step, h, v)
		}
	}
}

func mfeEngines(t *testing.T, fn func(t *testing.T, e *testkit.Env)) {
	testkit.Run(t, testkit.Setup{
		Core:   func(c *core.Config) { c.Now = func() time.Time { return joined } },
		Server: func(c *server.Config) { c.CORSOrigins = []string{mfeOrigin} },
	}, fn)
}

// browserSignedIn signs bob in as Roster's sign-in does, and returns his browser.
func browserSignedIn(t *testing.T, e *testkit.Env, origin string) *browser {
	t.Helper()
	b := &browser{t: t, e: e, origin: origin, cookies: map[string]string{}}
	resp := b.send("POST", "/v1/session", `{"login":"bob","password":"bob password 1"}`, "Content-Type", "application/json")
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	return b
}

func TestMicroFrontendSequence(t *testing.T) {
	mfeEngines(t, func(t *testing.T, e *testkit.Env) {
		newFixture(t, e)
		b := browserSignedIn(t, e, mfeOrigin)

		// 1. No JWT cookie yet: frontend-platform refreshes it.
		resp := b.send("POST", "/login_refresh", "")
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("login_refresh: %d %s", resp.StatusCode, body)
		}
		wantCORS(t, "login_refresh", resp, mfeOrigin)
		var refreshed map[string]any
		if err := json.Unmarshal([]byte(body), &refreshed); err != nil || refreshed["success"] != true {
			t.Fatalf("login_refresh body %s", body)
		}
		hp, sig := b.cookies[jwtPayloadCk], b.cookies[jwtSignatures]
		if strings.Count(hp, ".") != 1 || sig == "" {
			t.Fatalf("JWT cookies after login_refresh: %q, %q", hp, sig)
		}
		for _, c := range resp.Cookies() {
			if c.Name == jwtPayloadCk && c.HttpOnly {
				t.Errorf("%s is HttpOnly: the micro-frontend reads it", c.Name)
			}
			if c.Name == jwtSignatures && !c.HttpOnly {
				t.Errorf("%s is not HttpOnly", c.Name)
			}
		}
		// The micro-frontend decodes the payload, unverified, to learn who is signed in.
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(hp, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]any
		if err := json.Unmarshal(raw, &claims); err != nil {
			t.Fatal(err)
		}
		if claims["preferred_username"] != "bob" || claims["email"] != "bob@example.com" || claims["name"] != "Bob Jones" ||
			claims["administrator"] != false || claims["user_id"] != refreshed["user_id"] {
			t.Errorf("the cookie's claims: %v (refresh said user_id %v)", claims, refreshed["user_id"])
		}
		if exp, _ := claims["exp"].(float64); int64(exp) != joined.Unix()+3600 {
			t.Errorf("exp %v, want an hour after %d", claims["exp"], joined.Unix())
		}
		// From here on the session cookie is not what authenticates: drop it, as a
		// browser whose session ended keeps its JWT cookies until they expire.
		session := b.cookies["roster_session"]
		delete(b.cookies, "roster_session")

		// 2. Hydrating the user, then the page's loads: preflight, then GET.
		for _, path := range []string{"/api/user/v1/accounts/bob", "/api/user/v1/accounts/bob", "/api/user/v1/preferences/bob"} {
			pf := b.preflight("GET", path, "use-jwt-cookie")
			readBody(t, pf)
			if pf.StatusCode != http.StatusOK {
				t.Fatalf("preflight GET %s: %d", path, pf.StatusCode)
			}
			wantCORS(t, "preflight GET "+path, pf, mfeOrigin)
			if h := pf.Header.Get("Access-Control-Allow-Headers"); !strings.Contains(h, "use-jwt-cookie") {
				t.Errorf("preflight allows headers %q, not use-jwt-cookie", h)
			}
			resp := b.send("GET", path, "", "USE-JWT-COOKIE", "true")
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
			}
			wantCORS(t, "GET "+path, resp, mfeOrigin)
			if path == "/api/user/v1/accounts/bob" && !strings.Contains(body, `"email":"bob@example.com"`) {
				t.Errorf("GET %s with the JWT cookies is not bob's own view: %s", path, body)
			}
		}

		// 3. The first change asks for the CSRF token (with the JWT header: preflighted).
		readBody(t, b.preflight("GET", "/csrf/api/v1/token", "use-jwt-cookie"))
		b.cookies["roster_session"] = session // the browser still holds its session
		resp = b.send("GET", "/csrf/api/v1/token", "", "USE-JWT-COOKIE", "true")
		body = readBody(t, resp)
		var csrf struct {
			Token string `json:"csrfToken"`
		}
		if err := json.Unmarshal([]byte(body), &csrf); err != nil || csrf.Token == "" || resp.StatusCode != http.StatusOK {
			t.Fatalf("csrf token: %d %s", resp.StatusCode, body)
		}
		wantCORS(t, "csrf token", resp, mfeOrigin)

		// 4. Saving a field: PATCH of the account, then the time zone's and language's
		// preferences.
		pf := b.preflight("PATCH", "/api/user/v1/accounts/bob", "content-type,use-jwt-cookie,x-csrftoken")
		readBody(t, pf)
		if pf.StatusCode != http.StatusOK || !strings.Contains(pf.Header.Get("Access-Control-Allow-Methods"), "PATCH") {
			t.Fatalf("preflight PATCH: %d, methods %q", pf.StatusCode, pf.Header.Get("Access-Control-Allow-Methods"))
		}
		resp = b.send("PATCH", "/api/user/v1/accounts/bob", `{"name":"Robert Jones"}`,
			"Content-Type", mergePatch, "X-CSRFToken", csrf.Token, "USE-JWT-COOKIE", "true")
		body = readBody(t, resp)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"Robert Jones"`) {
			t.Fatalf("PATCH account: %d %s", resp.StatusCode, body)
		}
		wantCORS(t, "PATCH account", resp, mfeOrigin)
		// The settings page saves the time zone and the language as preferences.
		for _, pref := range []string{`{"time_zone":"Europe/Paris"}`, `{"pref-lang":"fr"}`} {
			resp = b.send("PATCH", "/api/user/v1/preferences/bob", pref,
				"Content-Type", mergePatch, "X-CSRFToken", csrf.Token, "USE-JWT-COOKIE", "true")
			body = readBody(t, resp)
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PATCH preferences %s: %d %s", pref, resp.StatusCode, body)
			}
			wantCORS(t, "PATCH preferences", resp, mfeOrigin)
		}
		resp = b.send("GET", "/api/user/v1/preferences/bob", "", "USE-JWT-COOKIE", "true")
		if body := readBody(t, resp); !strings.Contains(body, `"pref-lang":"fr"`) || !strings.Contains(body, `"time_zone":"Europe/Paris"`) {
			t.Errorf("preferences after the PATCHes: %s", body)
		}

		// A change without the CSRF token is not the JWT's: it falls to the session,
		// which refuses it, as edx-drf-extensions forgives the cookie and Django's
		// session authentication enforces CSRF.
		resp = b.send("PATCH", "/api/user/v1/accounts/bob", `{"name":"Mallory"}`, "Content-Type", mergePatch, "USE-JWT-COOKIE", "true")
		if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF Failed") {
			t.Errorf("PATCH without X-CSRFToken: %d %s", resp.StatusCode, body)
		}
	})
}

// TestMicroFrontendFromUnlistedOrigin replays the same sequence from a page of an origin
// the operator did not list: the browser is given no permission to read any answer, and
// its preflights are refused, so the page's changes are never sent.
func TestMicroFrontendFromUnlistedOrigin(t *testing.T) {
	mfeEngines(t, func(t *testing.T, e *testkit.Env) {
		newFixture(t, e)
		b := browserSignedIn(t, e, unlistedSite)
		resp := b.send("POST", "/login_refresh", "")
		readBody(t, resp)
		wantNoCORS(t, "login_refresh", resp)
		for _, step := range []struct{ method, path, headers string }{
			{"GET", "/api/user/v1/accounts/bob", "use-jwt-cookie"},
			{"GET", "/api/user/v1/preferences/bob", "use-jwt-cookie"},
			{"GET", "/csrf/api/v1/token", "use-jwt-cookie"},
			{"PATCH", "/api/user/v1/accounts/bob", "content-type,use-jwt-cookie,x-csrftoken"},
			{"PATCH", "/api/user/v1/preferences/bob", "content-type,use-jwt-cookie,x-csrftoken"},
		} {
			pf := b.preflight(step.method, step.path, step.headers)
			readBody(t, pf)
			if pf.StatusCode != http.StatusForbidden {
				t.Errorf("preflight %s %s from an unlisted origin: %d, want 403", step.method, step.path, pf.StatusCode)
			}
			wantNoCORS(t, "preflight "+step.path, pf)
		}
		// A simple GET is answered (a browser sends it without asking), but without
		// the headers that would let the page read it.
		resp = b.send("GET", "/api/user/v1/accounts/bob", "")
		readBody(t, resp)
		wantNoCORS(t, "GET account", resp)
		// The operator's origin is compared exactly: another scheme or port is another
		// origin.
		for _, near := range []string{"http://apps.example.org", "https://apps.example.org:8443", "https://apps.example.org.evil.net"} {
			b.origin = near
			pf := b.preflight("PATCH", "/api/user/v1/accounts/bob", "content-type,use-jwt-cookie,x-csrftoken")
			readBody(t, pf)
			if pf.StatusCode != http.StatusForbidden {
				t.Errorf("preflight from %s: %d, want 403", near, pf.StatusCode)
			}
			wantNoCORS(t, "preflight from "+near, pf)
		}
	})
}
