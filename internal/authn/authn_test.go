package authn

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

func TestAPIKeyHeaders(t *testing.T) {
	for _, c := range []struct {
		header map[string]string
		want   string
	}{
		{map[string]string{"Authorization": "Bearer K1"}, "K1"},
		{map[string]string{"Authorization": "bearer  K1 "}, "K1"},
		{map[string]string{"Authorization": "Token K2"}, "K2"},
		{map[string]string{"Authorization": "K3"}, "K3"},
		{map[string]string{"X-CKAN-API-Key": "K4"}, "K4"},
		{map[string]string{"EDX-API-Key": "K5", "Authorization": "other"}, "K5"},
		{map[string]string{"X-CKAN-API-Key": "K6", "Authorization": "K6"}, "K6"}, // ckanapi sends both
		{map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, ""},
		{map[string]string{"Authorization": "JWT eyJ"}, ""},
		{map[string]string{}, ""},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		for k, v := range c.header {
			r.Header.Set(k, v)
		}
		if got := apiKey(r); got != c.want {
			t.Errorf("apiKey(%v) = %q, want %q", c.header, got, c.want)
		}
	}
}

// core knows one key, one session and its CSRF token; it counts what it was asked.
type core struct{ asked []string }

func (c *core) AuthenticateKey(_ context.Context, key string, _ roster.Client) (roster.Actor, error) {
	c.asked = append(c.asked, "key:"+key)
	switch key {
	case "rk_good":
		return roster.Actor{AccountID: 1, Username: "alice"}, nil
	case "rk_slow":
		return roster.Actor{}, &roster.Error{Code: roster.ETOOMANY, RetryAfter: 30}
	}
	return roster.Actor{}, roster.Errorf(roster.EUNAUTHENTICATED, "Invalid API key.")
}

func (c *core) AuthenticateSession(_ context.Context, token string, _ roster.Client) (roster.Actor, error) {
	c.asked = append(c.asked, "session:"+token)
	if token == "s1" {
		return roster.Actor{AccountID: 2, Username: "bob"}, nil
	}
	return roster.Actor{}, roster.Errorf(roster.EUNAUTHENTICATED, "Invalid session.")
}

func (c *core) CheckCSRF(session, csrf string) bool { return session == "s1" && csrf == "c1" }

func (c *core) CSRFToken(session string) string {
	if session == "s1" {
		return "c1"
	}
	return ""
}

func TestAuthenticate(t *testing.T) {
	jwt := VerifierFunc(func(_ context.Context, token string, _ roster.Client) (roster.Actor, error) {
		if token == "eyJ.good" {
			return roster.Actor{AccountID: 3, Username: "carol"}, nil
		}
		return roster.Actor{}, roster.Errorf(roster.EUNAUTHENTICATED, "Invalid JWT.")
	})
	full := Policy{Via: "test", Keys: true, KeyQuery: "api_key", Sessions: true, CSRFField: "csrf_token", Bearer: map[string]Verifier{"jwt": jwt}}
	lenient := full
	lenient.BadIsAnonymous = true
	keysOnly := Policy{Via: "test", Keys: true}
	session := &http.Cookie{Name: httpx.SessionCookie, Value: "s1"}
	form := func(v url.Values) (io.Reader, string) {
		return strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	}
	for _, c := range []struct {
		name    string
		p       Policy
		method  string
		target  string
		header  map[string]string
		cookie  *http.Cookie
		body    func() (io.Reader, string)
		who     string // "" anonymous
		code    string
		reason  string
		retryIn int
	}{
		{name: "no credential", p: full, method: "GET", target: "/"},
		{name: "key", p: full, method: "GET", target: "/", header: map[string]string{"Authorization": "Bearer rk_good"}, who: "alice"},
		{name: "bad key refused", p: full, method: "GET", target: "/", header: map[string]string{"X-CKAN-API-Key": "rk_bad"}, code: roster.EUNAUTHENTICATED},
		{name: "bad key anonymous where the surface says so", p: lenient, method: "GET", target: "/", header: map[string]string{"X-CKAN-API-Key": "rk_bad"}},
		{name: "too many failures refused even so", p: lenient, method: "GET", target: "/", header: map[string]string{"Authorization": "rk_slow"}, code: roster.ETOOMANY, retryIn: 30},
		{name: "key in the query", p: full, method: "GET", target: "/?api_key=rk_good", who: "alice"},
		{name: "query key not read where not enabled", p: keysOnly, method: "GET", target: "/?api_key=rk_good"},
		{name: "session read", p: full, method: "GET", target: "/", cookie: session, who: "bob"},
		{name: "session change without CSRF", p: full, method: "POST", target: "/", cookie: session, code: roster.EFORBIDDEN, reason: roster.RCSRF},
		{name: "session change with CSRF header", p: full, method: "POST", target: "/", cookie: session, header: map[string]string{"X-CSRF-Token": "c1"}, who: "bob"},
		{name: "session change with CSRF form field", p: full, method: "POST", target: "/", cookie: session,
			body: func() (io.Reader, string) { return form(url.Values{"csrf_token": {"c1"}, "name": {"x"}}) }, who: "bob"},
		{name: "session change with a wrong CSRF field", p: full, method: "POST", target: "/", cookie: session,
			body: func() (io.Reader, string) { return form(url.Values{"csrf_token": {"c2"}}) }, code: roster.EFORBIDDEN, reason: roster.RCSRF},
		{name: "sessions not read where not accepted", p: keysOnly, method: "GET", target: "/", cookie: session},
		{name: "JWT", p: full, method: "GET", target: "/", header: map[string]string{"Authorization": "JWT eyJ.good"}, who: "carol"},
		{name: "bad JWT", p: full, method: "GET", target: "/", header: map[string]string{"Authorization": "JWT eyJ.bad"}, code: roster.EUNAUTHENTICATED},
		{name: "JWT scheme unknown where no verifier is declared", p: keysOnly, method: "GET", target: "/", header: map[string]string{"Authorization": "JWT eyJ.good"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			ctype := ""
			if c.body != nil {
				body, ctype = c.body()
			}
			r := httptest.NewRequest(c.method, c.target, body)
			if ctype != "" {
				r.Header.Set("Content-Type", ctype)
			}
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			if c.cookie != nil {
				r.AddCookie(c.cookie)
			}
			a := New(&core{}, nil, &httpx.ClientIPs{})
			actor, err := a.Authenticate(httptest.NewRecorder(), r, c.p)
			e := roster.AsError(err)
			switch {
			case c.code == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.code != "" && (e.Code != c.code || e.Reason != c.reason || e.RetryAfter != c.retryIn):
				t.Fatalf("error %+v, want %s/%s retry %d", e, c.code, c.reason, c.retryIn)
			case actor.Username != c.who:
				t.Fatalf("actor %q, want %q", actor.Username, c.who)
			case actor.Via != "test":
				t.Fatalf("actor via %q", actor.Via)
			}
		})
	}
}

// TestAnonymousBodyIsSmall: whoever shows no credential cannot make the server read
// more than httpx.AnonymousBodyLimit.
func TestAnonymousBodyIsSmall(t *testing.T) {
	a := New(&core{}, nil, &httpx.ClientIPs{})
	for _, header := range []string{"", "Bearer rk_good"} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", httpx.AnonymousBodyLimit+1)))
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		if _, err := a.Authenticate(httptest.NewRecorder(), r, Policy{Via: "test", Keys: true}); err != nil {
			t.Fatal(err)
		}
		_, err := io.ReadAll(r.Body)
		if tooLarge := httpx.IsBodyTooLarge(err); tooLarge != (header == "") {
			t.Fatalf("credential %q: reading the body gave %v", header, err)
		}
	}
}

func TestSameOrigin(t *testing.T) {
	cases := []struct {
		header []string
		want   bool
	}{
		{[]string{"Sec-Fetch-Site", "same-origin"}, true},
		{[]string{"Sec-Fetch-Site", "none"}, true},
		{[]string{"Sec-Fetch-Site", "same-site", "Origin", "http://roster.test"}, false}, // another port: same site, not same origin
		{[]string{"Sec-Fetch-Site", "cross-site", "Referer", "http://roster.test/admin/users"}, false},
		{[]string{"Origin", "http://roster.test"}, true},
		{[]string{"Origin", "http://roster.test:8081"}, false},
		{[]string{"Origin", "null", "Referer", "http://roster.test/x"}, true},
		{[]string{"Referer", "http://roster.test/admin/users"}, true},
		{[]string{"Referer", "http://evil.test/roster.test"}, false},
		{nil, false}, // says nothing: not trusted
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "http://roster.test/admin/users/add/2", nil)
		for i := 0; i+1 < len(c.header); i += 2 {
			r.Header.Set(c.header[i], c.header[i+1])
		}
		if got := SameOrigin(r); got != c.want {
			t.Errorf("%v: SameOrigin %v, want %v", c.header, got, c.want)
		}
		err := RequireSameOrigin(r, roster.Actor{AccountID: 1, SessionID: 7})
		if (err == nil) != c.want {
			t.Errorf("%v: a session's GET change: %v", c.header, err)
		}
		if err := RequireSameOrigin(r, roster.Actor{AccountID: 1, KeyID: 3}); err != nil {
			t.Errorf("%v: a key's GET change refused: %v", c.header, err)
		}
	}
}

func TestFormToken(t *testing.T) {
	a := New(&core{}, nil, &httpx.ClientIPs{})
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "http://roster.test/account/signin", nil)
	token := a.FormToken(w, r, roster.Actor{}, httpx.Cookies{})
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != FormCookie || cookies[0].Value != token || !cookies[0].HttpOnly {
		t.Fatalf("form cookie %v for token %q", cookies, token)
	}
	post := func(cookie, field string) *http.Request {
		r := httptest.NewRequest("POST", "http://roster.test/account/signin", strings.NewReader(url.Values{"csrf_token": {field}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: FormCookie, Value: cookie})
		}
		return r
	}
	if !CheckFormToken(post(token, token), "csrf_token") {
		t.Error("the form's own token is refused")
	}
	if CheckFormToken(post(token, token[:len(token)-1]+"x"), "csrf_token") || CheckFormToken(post("", token), "csrf_token") ||
		CheckFormToken(post("short", "short"), "csrf_token") {
		t.Error("a wrong, missing or short token passes")
	}
	// A browser that has the cookie keeps its token; a session gets its own.
	r.AddCookie(cookies[0])
	if again := a.FormToken(httptest.NewRecorder(), r, roster.Actor{}, httpx.Cookies{}); again != token {
		t.Errorf("token changed: %q, then %q", token, again)
	}
	r.AddCookie(&http.Cookie{Name: httpx.SessionCookie, Value: "s1"})
	if got := a.FormToken(httptest.NewRecorder(), r, roster.Actor{AccountID: 2, SessionID: 9}, httpx.Cookies{}); got != "c1" {
		t.Errorf("a session's form token %q, want its CSRF token", got)
	}
}
