package pybossa_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/testkit"
)

// created is when every fixture account was made: the core's clock stands still, so
// that bodies can be compared whole. It stands at today, as the cookie jar drops
// cookies whose expiry (by the core's clock) has passed.
var created = time.Now().UTC().Truncate(time.Second).Add(123456 * time.Microsecond)

func engines(t *testing.T, fn func(t *testing.T, e *testkit.Env)) {
	testkit.Run(t, testkit.Setup{Core: func(c *core.Config) { c.Now = func() time.Time { return created } }}, fn)
}

// fixture: root, the first admin (who signs in); jane, a second admin; joe, a user.
type fixture struct {
	e                         *testkit.Env
	rootKey, janeKey, joeKey  string
	rootID, janeID, joeID     int64
	rootPassword, joePassword string
}

func newFixture(t *testing.T, e *testkit.Env) *fixture {
	f := &fixture{e: e, rootPassword: "root password 1", joePassword: "joe password 1"}
	rec, key := e.Account(t, map[string]any{"username": "root", "email": "root@example.org", "name": "Root Admin",
		"password": f.rootPassword, "sysadmin": true})
	f.rootID, f.rootKey = rec.ID, key
	rec, key = e.Account(t, map[string]any{"username": "jane", "email": "jane@example.org", "name": "Jane Doe", "sysadmin": true,
		"locale": "en", "info": map[string]any{"avatar": "avatar.png", "container": "user_2"}})
	f.janeID, f.janeKey = rec.ID, key
	rec, key = e.Account(t, map[string]any{"username": "joe", "email": "joe@example.org", "name": "Joe Bloggs",
		"password": f.joePassword, "privacy": "all_users"})
	f.joeID, f.joeKey = rec.ID, key
	return f
}

// userJSON is the user object PYBOSSA's admin pages show of a fixture account.
func userJSON(id int64, name, fullname, email string, admin bool, extra map[string]string) string {
	fields := map[string]string{
		"admin": fmt.Sprint(admin), "api_key": `""`, "category": "null", "ckan_api": "null", "confirmation_email_sent": "false",
		"consent": "false", "created": `"` + created.Format("2006-01-02T15:04:05.000000") + `"`, "email_addr": fmt.Sprintf("%q", email),
		"facebook_user_id": "null", "flags": "null", "fullname": fmt.Sprintf("%q", fullname), "google_user_id": "null",
		"id": fmt.Sprint(id), "info": "{}", "ldap": "null", "locale": "null", "name": fmt.Sprintf("%q", name),
		"newsletter_prompted": "false", "notified_at": "null", "passwd_hash": `""`, "privacy_mode": "true", "pro": "false",
		"restrict": "false", "subscribed": "true", "twitter_user_id": "null", "user_pref": "null", "valid_email": "false",
	}
	for k, v := range extra {
		fields[k] = v
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%q:%s", k, fields[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func (f *fixture) jane() string {
	return userJSON(f.janeID, "jane", "Jane Doe", "jane@example.org", true,
		map[string]string{"locale": `"en"`, "info": `{"avatar":"avatar.png","container":"user_2"}`})
}

func (f *fixture) joe(admin bool) string {
	return userJSON(f.joeID, "joe", "Joe Bloggs", "joe@example.org", admin, map[string]string{"privacy_mode": "false"})
}

// client is a browser or a script: it keeps cookies, and never follows a redirect.
type client struct {
	e    *testkit.Env
	http *http.Client
}

func newClient(t *testing.T, e *testkit.Env) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{e: e, http: &http.Client{Jar: jar, Transport: e.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request with a body and header pairs.
func (c *client) do(t *testing.T, method, path, body string, header ...string) testkit.Reply {
	t.Helper()
	req, err := http.NewRequest(method, c.e.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return testkit.Reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

const asJSON = "application/json"

// csrf reads form.csrf from a JSON-mode page.
func csrf(t *testing.T, r testkit.Reply) string {
	t.Helper()
	var body struct{ Form struct{ CSRF string } }
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Form.CSRF == "" {
		t.Fatalf("no form.csrf in %d %s", r.Status, r.Body)
	}
	return body.Form.CSRF
}

// signIn signs c in as login, as a script following PYBOSSA's sign-in form does.
func (c *client) signIn(t *testing.T, login, password string) {
	t.Helper()
	token := csrf(t, c.do(t, "GET", "/account/signin", "", "Content-Type", asJSON))
	r := c.do(t, "POST", "/account/signin", fmt.Sprintf(`{"email": %q, "password": %q}`, login, password),
		"Content-Type", asJSON, "X-CSRFToken", token)
	if r.Status != 200 || !strings.Contains(r.Body, `"status":"success"`) {
		t.Fatalf("sign-in: %d %s", r.Status, r.Body)
	}
}

func want(t *testing.T, r testkit.Reply, status int, body string) {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Fatalf("got %d %s\nwant %d %s", r.Status, r.Body, status, body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// wantPage is the JSON of /admin/users with its CSRF token cut out.
func wantPage(t *testing.T, r testkit.Reply, user any, found, users []string, flash ...string) string {
	t.Helper()
	token := csrf(t, r)
	var ub strings.Builder
	enc := json.NewEncoder(&ub)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(user)
	u := strings.TrimSpace(ub.String())
	body, status := "{", ""
	if len(flash) == 2 {
		body += fmt.Sprintf(`"flash":%q,`, flash[0])
		status = fmt.Sprintf(`"status":%q,`, flash[1])
	}
	body += fmt.Sprintf(`"form":{"csrf":%q,"errors":{},"user":%s},"found":[%s],`, token, u, strings.Join(found, ","))
	body += status + fmt.Sprintf(`"template":"/admin/users.html","title":"Manage Admin Users","users":[%s]}`+"\n", strings.Join(users, ","))
	want(t, r, 200, body)
	return token
}

const forbidden = `{"code":403,"description":"You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.","template":"403.html"}` + "\n"

func TestAdminUsersJSON(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		anon := newClient(t, e)

		// Anonymous callers are sent to sign in, in JSON mode too, GET and POST alike.
		for _, m := range []string{"GET", "POST"} {
			r := anon.do(t, m, "/admin/users", "", "Content-Type", asJSON)
			if r.Status != 302 || r.Header.Get("Location") != "/account/signin?next=%2Fadmin%2Fusers" {
				t.Fatalf("anonymous %s: %d %v", m, r.Status, r.Header)
			}
		}
		// An unknown key is no key.
		if r := anon.do(t, "GET", "/admin/users?response_format=json&api_key=rk_unknown", ""); r.Status != 302 {
			t.Fatalf("unknown key: %d %s", r.Status, r.Body)
		}
		// A user who is no admin: 403, by key in Authorization (raw, as PYBOSSA reads it) or ?api_key=.
		want(t, anon.do(t, "GET", "/admin/users", "", "Content-Type", asJSON, "Authorization", f.joeKey), 403, forbidden)
		want(t, anon.do(t, "GET", "/admin/users?response_format=json&api_key="+f.joeKey, ""), 403, forbidden)

		// An admin by key: the other admins, not the caller; nothing found yet.
		wantPage(t, anon.do(t, "GET", "/admin/users?api_key="+f.rootKey, "", "Content-Type", asJSON), nil, nil, []string{f.jane()})
		wantPage(t, anon.do(t, "GET", "/admin/users", "", "Content-Type", asJSON, "Authorization", "Bearer "+f.janeKey), nil, nil,
			[]string{userJSON(f.rootID, "root", "Root Admin", "root@example.org", true, nil)})

		// An admin's browser session: the search is a POST with the CSRF token of the GET.
		root := newClient(t, e)
		root.signIn(t, "root@example.org", f.rootPassword)
		token := wantPage(t, root.do(t, "GET", "/admin/users", "", "Content-Type", asJSON), nil, nil, []string{f.jane()})
		for _, h := range []string{"X-CSRFToken", "X-CSRF-Token"} {
			wantPage(t, root.do(t, "POST", "/admin/users", `{"user": "JOE"}`, "Content-Type", asJSON, h, token), "JOE",
				[]string{f.joe(false)}, []string{f.jane()})
		}
		// By full name, case-insensitively; never by email; never the caller.
		wantPage(t, root.do(t, "POST", "/admin/users", `{"user": "bloggs"}`, "Content-Type", asJSON, "X-CSRFToken", token), "bloggs",
			[]string{f.joe(false)}, []string{f.jane()})
		wantPage(t, root.do(t, "POST", "/admin/users", `{"user": "e@example"}`, "Content-Type", asJSON, "X-CSRFToken", token), "e@example",
			nil, []string{f.jane()}, "<strong>Ooops!</strong> We didn&#39;t find a user matching your query: <strong>e@example</strong>", "message")
		wantPage(t, root.do(t, "POST", "/admin/users", `{"user": "root"}`, "Content-Type", asJSON, "X-CSRFToken", token), "root",
			nil, []string{f.jane()}, "<strong>Ooops!</strong> We didn&#39;t find a user matching your query: <strong>root</strong>", "message")
		// The query is escaped into the flash's HTML.
		wantPage(t, root.do(t, "POST", "/admin/users", `{"user": "<b>x"}`, "Content-Type", asJSON, "X-CSRFToken", token), "<b>x",
			nil, []string{f.jane()}, "<strong>Ooops!</strong> We didn&#39;t find a user matching your query: <strong>&lt;b&gt;x</strong>", "message")
		// The form field and a form body work as from a page.
		r := root.do(t, "POST", "/admin/users?response_format=json", url.Values{"user": {"jo"}, "csrf_token": {token}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded")
		wantPage(t, r, "jo", []string{f.joe(false)}, []string{f.jane()})
		// An empty query finds nothing and says nothing.
		wantPage(t, root.do(t, "POST", "/admin/users", `{"user": ""}`, "Content-Type", asJSON, "X-CSRFToken", token), "", nil, []string{f.jane()})

		// Without the token, or with another session's: refused, and nothing found.
		csrfFailed := `{"code":400,"description":"CSRF validation failed.","template":"400.html"}` + "\n"
		want(t, root.do(t, "POST", "/admin/users", `{"user": "joe"}`, "Content-Type", asJSON), 400, csrfFailed)
		want(t, root.do(t, "POST", "/admin/users", `{"user": "joe"}`, "Content-Type", asJSON, "X-CSRFToken", token+"x"), 400, csrfFailed)
		jane := newClient(t, e)
		if r := jane.do(t, "POST", "/account/signin", `{"email": "jane", "password": "x"}`, "Content-Type", asJSON, "X-CSRFToken", token); r.Status != 400 {
			t.Fatalf("sign-in with another browser's token: %d %s", r.Status, r.Body)
		}
		// A key is no cookie: no other site can send it, so a key's POST needs no token.
		wantPage(t, anon.do(t, "POST", "/admin/users?api_key="+f.rootKey, `{"user": "joe"}`, "Content-Type", asJSON), "joe",
			[]string{f.joe(false)}, []string{f.jane()})
		// A non-admin's search is refused before it is read.
		want(t, anon.do(t, "POST", "/admin/users?api_key="+f.joeKey, `{"user": "jane"}`, "Content-Type", asJSON), 403, forbidden)
		// A body that is not JSON.
		r = anon.do(t, "POST", "/admin/users?api_key="+f.rootKey, `{"user": `, "Content-Type", asJSON)
		if r.Status != 400 || !strings.HasPrefix(r.Body, `{"code":400,"description":`) {
			t.Fatalf("bad JSON: %d %s", r.Status, r.Body)
		}
	})
}

func TestAddAndDelJSON(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		c := newClient(t, e)
		next := `{"next":"/admin/users"}` + "\n"
		key := "&api_key=" + f.rootKey
		want(t, c.do(t, "GET", fmt.Sprintf("/admin/users/add/%d?response_format=json%s", f.joeID, key), ""), 200, next)
		wantPage(t, c.do(t, "GET", "/admin/users?response_format=json"+key, ""), nil, nil, []string{f.jane(), f.joe(true)})
		want(t, c.do(t, "GET", fmt.Sprintf("/admin/users/del/%d?response_format=json%s", f.joeID, key), ""), 200, next)
		wantPage(t, c.do(t, "GET", "/admin/users?response_format=json"+key, ""), nil, nil, []string{f.jane()})
		// HTML mode: a redirect.
		r := c.do(t, "GET", fmt.Sprintf("/admin/users/add/%d?api_key=%s", f.joeID, f.rootKey), "")
		if r.Status != 302 || r.Header.Get("Location") != "/admin/users" {
			t.Fatalf("HTML add: %d %v", r.Status, r.Header)
		}
		want(t, c.do(t, "GET", fmt.Sprintf("/admin/users/del/%d?response_format=json%s", f.joeID, key), ""), 200, next)

		// Unknown ids: PYBOSSA's JSON, whatever was asked; id 0 too (PYBOSSA fails on it).
		for _, id := range []string{"999", "0"} {
			for _, mode := range []string{"?response_format=json" + key, "?api_key=" + f.rootKey} {
				want(t, c.do(t, "GET", "/admin/users/add/"+id+mode, ""), 404, `{"error":"User not found","status_code":404}`+"\n")
				want(t, c.do(t, "GET", "/admin/users/del/"+id+mode, ""), 404, `{"error":"User.id not found","status_code":404}`+"\n")
			}
		}
		// Not an <int:…>, a trailing slash, POST: no such route, or not this method.
		notFound := `{"code":404,"description":"The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.","template":"404.html"}` + "\n"
		for _, p := range []string{"/admin/users/add/abc", "/admin/users/add/-1", "/admin/users/del/%2B1", "/admin/users/"} {
			want(t, c.do(t, "GET", p+"?response_format=json"+key, ""), 404, notFound)
		}
		notAllowed := `{"code":405,"description":"The method is not allowed for the requested URL.","template":"405.html"}` + "\n"
		want(t, c.do(t, "POST", fmt.Sprintf("/admin/users/add/%d?response_format=json%s", f.joeID, key), ""), 405, notAllowed)
		want(t, c.do(t, "DELETE", fmt.Sprintf("/admin/users/del/%d?response_format=json%s", f.janeID, key), ""), 405, notAllowed)

		// Callers who may not: anonymous to sign in, a user 403 (and nothing changes).
		r = c.do(t, "GET", fmt.Sprintf("/admin/users/del/%d?response_format=json", f.janeID), "")
		if r.Status != 302 || r.Header.Get("Location") != fmt.Sprintf("/account/signin?next=%%2Fadmin%%2Fusers%%2Fdel%%2F%d%%3Fresponse_format%%3Djson", f.janeID) {
			t.Fatalf("anonymous del: %d %v", r.Status, r.Header)
		}
		want(t, c.do(t, "GET", fmt.Sprintf("/admin/users/add/%d?response_format=json&api_key=%s", f.joeID, f.joeKey), ""), 403, forbidden)
		want(t, c.do(t, "GET", "/admin/users/add/999?response_format=json&api_key="+f.joeKey, ""), 403, forbidden)
		wantPage(t, c.do(t, "GET", "/admin/users?response_format=json"+key, ""), nil, nil, []string{f.jane()})

		// The last admin stays: root removes jane, then cannot remove itself.
		want(t, c.do(t, "GET", fmt.Sprintf("/admin/users/del/%d?response_format=json%s", f.janeID, key), ""), 200, next)
		want(t, c.do(t, "GET", fmt.Sprintf("/admin/users/del/%d?response_format=json%s", f.rootID, key), ""), 200,
			`{"flash":"This is the last admin: make another user an admin before removing this one.","next":"/admin/users","status":"error"}`+"\n")
		wantPage(t, c.do(t, "GET", "/admin/users?response_format=json"+key, ""), nil, nil, nil)
		// With another admin, an admin may remove itself, as in PYBOSSA.
		want(t, c.do(t, "GET", fmt.Sprintf("/admin/users/add/%d?response_format=json%s", f.janeID, key), ""), 200, next)
		want(t, c.do(t, "GET", fmt.Sprintf("/admin/users/del/%d?response_format=json%s", f.rootID, key), ""), 200, next)
		want(t, c.do(t, "GET", "/admin/users?response_format=json"+key, ""), 403, forbidden)
	})
}

// TestGETChangesNeedThisSite: add and del are GETs, so a browser sends its session
// cookie with them from any page that links to them. Through a session they act only
// when the request comes from this site's own pages.
func TestGETChangesNeedThisSite(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		root := newClient(t, e)
		root.signIn(t, "root", f.rootPassword)
		add := fmt.Sprintf("/admin/users/add/%d?response_format=json", f.joeID)
		crossSite := `{"code":403,"description":"This change was requested from another site's page; make it from this site's own page.","template":"403.html"}` + "\n"
		for _, h := range [][]string{
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"}, // another port of this host
			{"Origin", "http://evil.example"},
			{"Referer", "http://127.0.0.2:8080/page.html"},
			nil, // a request that says nothing of where it comes from
		} {
			want(t, root.do(t, "GET", add, "", h...), 403, crossSite)
		}
		wantPage(t, root.do(t, "GET", "/admin/users", "", "Content-Type", asJSON), nil, nil, []string{f.jane()})
		for _, h := range [][]string{{"Sec-Fetch-Site", "same-origin"}, {"Sec-Fetch-Site", "none"}, {"Referer", e.URL + "/admin/users"}} {
			want(t, root.do(t, "GET", add, "", h...), 200, `{"next":"/admin/users"}`+"\n")
		}
		wantPage(t, root.do(t, "GET", "/admin/users", "", "Content-Type", asJSON), nil, nil, []string{f.jane(), f.joe(true)})
		// Signing out by GET from another site's page only asks.
		r := root.do(t, "GET", "/account/signout", "", "Sec-Fetch-Site", "cross-site")
		if r.Status != 200 || !strings.Contains(r.Body, `action="/account/signout"`) {
			t.Fatalf("cross-site sign-out: %d %s", r.Status, r.Body)
		}
		wantPage(t, root.do(t, "GET", "/admin/users", "", "Content-Type", asJSON), nil, nil, []string{f.jane(), f.joe(true)})
	})
}

func TestSignInJSON(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		c := newClient(t, e)
		form := func(csrf, email, errors string) string {
			return fmt.Sprintf(`{"csrf":%q,"email":%q,"errors":%s,"password":""}`, csrf, email, errors)
		}
		r := c.do(t, "GET", "/account/signin", "", "Content-Type", asJSON)
		token := csrf(t, r)
		want(t, r, 200, `{"form":`+form(token, "", "{}")+`,"next":null,"template":"account/signin.html","title":"Sign in"}`+"\n")
		// The same browser keeps its token; next= is kept when it is a path of this site.
		r = c.do(t, "GET", "/account/signin?next=%2Fadmin%2Fusers", "", "Content-Type", asJSON)
		want(t, r, 200, `{"form":`+form(token, "", "{}")+`,"next":"/admin/users","template":"account/signin.html","title":"Sign in"}`+"\n")
		for _, bad := range []string{"//evil.example/x", "https://evil.example/", `/\evil.example`, "admin"} {
			r = c.do(t, "GET", "/account/signin?next="+url.QueryEscape(bad), "", "Content-Type", asJSON)
			want(t, r, 200, `{"form":`+form(token, "", "{}")+`,"next":null,"template":"account/signin.html","title":"Sign in"}`+"\n")
		}

		// A wrong password and an unknown account get the same answer.
		bad := `,"next":null,"status":"error","template":"account/signin.html","title":"Sign in"}` + "\n"
		want(t, c.do(t, "POST", "/account/signin", `{"email": "joe", "password": "wrong password"}`, "Content-Type", asJSON, "X-CSRFToken", token),
			200, `{"flash":"Ooops, Incorrect email/password","form":`+form(token, "joe", "{}")+bad)
		want(t, c.do(t, "POST", "/account/signin", `{"email": "nobody", "password": "wrong password"}`, "Content-Type", asJSON, "X-CSRFToken", token),
			200, `{"flash":"Ooops, Incorrect email/password","form":`+form(token, "nobody", "{}")+bad)
		want(t, c.do(t, "POST", "/account/signin", `{"email": "", "password": ""}`, "Content-Type", asJSON, "X-CSRFToken", token),
			200, `{"form":`+form(token, "", `{"email":["This field is required."],"password":["This field is required."]}`)+
				`,"next":null,"template":"account/signin.html","title":"Sign in"}`+"\n")
		// Without the form's token: refused, and no session.
		want(t, c.do(t, "POST", "/account/signin", fmt.Sprintf(`{"email": "joe", "password": %q}`, f.joePassword), "Content-Type", asJSON),
			400, `{"code":400,"description":"CSRF validation failed.","template":"400.html"}`+"\n")
		if r := c.do(t, "GET", "/v1/me", ""); r.Status != 401 {
			t.Fatalf("signed in without the token: %d", r.Status)
		}

		// Signed in: the session is Roster's, for every surface that takes the cookie.
		r = c.do(t, "POST", "/account/signin?next=%2Fadmin%2Fusers", fmt.Sprintf(`{"email": "JOE@example.org", "password": %q}`, f.joePassword),
			"Content-Type", asJSON, "X-CSRFToken", token)
		want(t, r, 200, `{"flash":"Welcome back Joe Bloggs","next":"/admin/users","status":"success"}`+"\n")
		if r := c.do(t, "GET", "/v1/me", ""); r.Status != 200 || !strings.Contains(r.Body, `"username":"joe"`) {
			t.Fatalf("/v1/me with the page's session: %d %s", r.Status, r.Body)
		}
		// Signed in, the sign-in page sends the caller on.
		want(t, c.do(t, "GET", "/account/signin", "", "Content-Type", asJSON), 200, `{"next":"/"}`+"\n")

		// Signing out from this site's page ends the session.
		want(t, c.do(t, "GET", "/account/signout", "", "Content-Type", asJSON, "Sec-Fetch-Site", "same-origin"), 200,
			`{"flash":"You are now signed out.","next":"/","status":"success"}`+"\n")
		if r := c.do(t, "GET", "/v1/me", ""); r.Status != 401 {
			t.Fatalf("signed out, /v1/me: %d", r.Status)
		}
		want(t, c.do(t, "GET", "/account/signout", "", "Content-Type", asJSON), 200, `{"next":"/"}`+"\n")
	})
}

// TestPagesHTML: the HTML forms of the routes, and the headers every page carries.
func TestPagesHTML(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := newFixture(t, e)
		c := newClient(t, e)
		page := func(r testkit.Reply, status int, title string) {
			t.Helper()
			if r.Status != status || !strings.Contains(r.Body, "<title>"+title+" · Roster</title>") {
				t.Fatalf("want %d %q: %d %.400s", status, title, r.Status, r.Body)
			}
			h := r.Header
			if h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "same-origin" || h.Get("Cache-Control") != "no-store" ||
				h.Get("Content-Security-Policy") != "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" {
				t.Fatalf("page headers: %v", h)
			}
		}
		r := c.do(t, "GET", "/account/signin?next=%2Fadmin%2Fusers", "")
		page(r, 200, "Sign in")
		for _, want := range []string{`<label for="email">`, `<label for="password">`, `name="csrf_token" value="`, `name="next" value="/admin/users"`, `<html lang="en">`} {
			if !strings.Contains(r.Body, want) {
				t.Errorf("sign-in page without %s", want)
			}
		}
		// Anonymous: to sign in, with the message for the next page.
		r = c.do(t, "GET", "/admin/users", "")
		if r.Status != 302 || r.Header.Get("Location") != "/account/signin?next=%2Fadmin%2Fusers" {
			t.Fatalf("anonymous page: %d %v", r.Status, r.Header)
		}
		r = c.do(t, "GET", "/account/signin?next=%2Fadmin%2Fusers", "")
		if !strings.Contains(r.Body, `<p class="flash flash-info" role="status">Please sign in to access this page.</p>`) {
			t.Errorf("no sign-in message: %.600s", r.Body)
		}
		// A user who is no admin: the 403 page; an admin: the page.
		page(c.do(t, "GET", "/admin/users", "", "Authorization", f.joeKey), 403, "Forbidden")
		r = c.do(t, "GET", "/admin/users", "", "Authorization", f.rootKey)
		page(r, 200, "Manage Admin Users")
		if !strings.Contains(r.Body, fmt.Sprintf(`href="/admin/users/del/%d"`, f.janeID)) {
			t.Errorf("no link to remove jane: %.800s", r.Body)
		}
		// The last admin's refusal shows on the page it redirects to.
		c.do(t, "GET", fmt.Sprintf("/admin/users/del/%d", f.janeID), "", "Authorization", f.rootKey)
		r = c.do(t, "GET", fmt.Sprintf("/admin/users/del/%d", f.rootID), "", "Authorization", f.rootKey)
		if r.Status != 302 || r.Header.Get("Location") != "/admin/users" {
			t.Fatalf("last admin, HTML: %d %v", r.Status, r.Header)
		}
		r = c.do(t, "GET", "/admin/users", "", "Authorization", f.rootKey)
		if !strings.Contains(r.Body, `<p class="flash flash-error" role="alert">This is the last admin: make another user an admin before removing this one.</p>`) {
			t.Errorf("no refusal on the page: %.800s", r.Body)
		}
		page(c.do(t, "GET", "/admin/nothing", ""), 404, "Not found")
		// The start page for browsers; the stylesheet, cacheable.
		page(c.do(t, "GET", "/", "", "Accept", "text/html"), 200, "Roster")
		if r := c.do(t, "GET", "/", ""); r.Status != 200 || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET / for a script: %d %v", r.Status, r.Header)
		}
		css := regexp.MustCompile(`href="(/static/roster-[0-9a-f]+\.css)"`).FindStringSubmatch(r.Body)
		if css == nil {
			t.Fatalf("no stylesheet in %.300s", r.Body)
		}
		r = c.do(t, "GET", css[1], "")
		if r.Status != 200 || r.Header.Get("Content-Type") != "text/css; charset=utf-8" || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("stylesheet: %d %v", r.Status, r.Header)
		}
		if r := c.do(t, "GET", "/static/roster-000000000000.css", ""); r.Status != 404 {
			t.Errorf("another stylesheet: %d", r.Status)
		}
	})
}
