package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// usernamesOf lists the usernames of a /v1/users page.
func usernamesOf(t *testing.T, r reply) []string {
	t.Helper()
	us, _ := r.json["users"].([]any)
	out := []string{}
	for _, u := range us {
		m, _ := u.(map[string]any)
		out = append(out, fmt.Sprint(m["username"]))
	}
	return out
}

// TestHiddenFieldsAreNotSearchable: a caller never finds, filters or orders accounts by
// what it may not read of them.
func TestHiddenFieldsAreNotSearchable(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		viewer := s.account(t, map[string]any{"username": "viewer", "email": "viewer@example.org"})
		// hidden keeps the default privacy (private): his names and creation date are his.
		s.account(t, map[string]any{"username": "hidden", "email": "hidden@example.org", "name": "Zz Quimby"})
		s.account(t, map[string]any{"username": "open", "email": "open@example.org", "name": "Zed Quimby", "privacy": "custom",
			"shared_fields": []string{"name", "created"}})
		list := func(key, query string) []string {
			t.Helper()
			return usernamesOf(t, s.do(t, call{method: "GET", path: "/v1/users?" + query, header: bearer(key)}).want(t, 200))
		}
		if got := list(viewer, "q=quimby"); !slices.Equal(got, []string{"open"}) {
			t.Fatalf("a search for a surname hidden from the caller found %v, want [open]", got)
		}
		if got := list(root, "q=quimby"); !slices.Equal(got, []string{"hidden", "open"}) {
			t.Fatalf("staff's search found %v", got)
		}
		// Ordered by full name, a hidden name sorts as no name, among the names left
		// empty (by id), not where "Zz" would put it.
		if got := list(viewer, "sort=name"); !slices.Equal(got, []string{"root", "viewer", "hidden", "open"}) {
			t.Fatalf("sort=name for the viewer gave %v", got)
		}
		if got := list(root, "sort=name"); !slices.Equal(got, []string{"root", "viewer", "open", "hidden"}) {
			t.Fatalf("sort=name for staff gave %v", got)
		}
		// A creation date the caller may not read is never compared.
		after := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
		if got := list(viewer, "created_after="+after); !slices.Equal(got, []string{"viewer", "open"}) {
			t.Fatalf("created_after for the viewer found %v, want [viewer open]", got)
		}
		if got := list(root, "created_after="+after); len(got) != 4 {
			t.Fatalf("created_after for staff found %v", got)
		}
		// Paging through a hidden order gives every account once.
		var all []string
		path := "/v1/users?sort=display_name&limit=1"
		for i := 0; path != "" && i < 10; i++ {
			r := s.do(t, call{method: "GET", path: path, header: bearer(viewer)}).want(t, 200)
			all = append(all, usernamesOf(t, r)...)
			path = ""
			if next := r.header.Get("Link"); next != "" {
				path = strings.TrimSuffix(strings.TrimPrefix(strings.Split(next, ";")[0], "<"), ">")
			}
		}
		if !slices.Equal(all, []string{"hidden", "root", "viewer", "open"}) {
			t.Fatalf("paging by display name gave %v", all)
		}
	})
}

// TestETags: reads carry the account's version as an ETag, and a change sent with
// If-Match applies only to that version.
func TestETags(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		alice := s.account(t, map[string]any{"username": "alice", "email": "alice@example.org"})
		r := s.do(t, call{method: "GET", path: "/v1/me", header: bearer(alice)}).want(t, 200)
		tag := r.header.Get("ETag")
		if tag != `"1"` {
			t.Fatalf("ETag %q, want \"1\"", tag)
		}
		if shared := s.do(t, call{method: "GET", path: "/v1/me?view=shared", header: bearer(alice)}).want(t, 200); shared.header.Get("ETag") != `"1-shared"` {
			t.Fatalf("shared view ETag %q", shared.header.Get("ETag"))
		}
		with := func(h map[string]string) map[string]string {
			return merge(bearer(alice), h)
		}
		ok := s.do(t, call{method: "PATCH", path: "/v1/me", header: with(map[string]string{"If-Match": tag}), body: map[string]any{"city": "Oslo"}}).want(t, 200)
		if ok.header.Get("ETag") != `"2"` {
			t.Fatalf("ETag after a change %q", ok.header.Get("ETag"))
		}
		// The client that read version 1 loses no one's update: it is told to read again.
		stale := s.do(t, call{method: "PATCH", path: "/v1/me", header: with(map[string]string{"If-Match": tag}), body: map[string]any{"city": "Bergen"}}).want(t, 412)
		if stale.errorCode() != "precondition" {
			t.Fatalf("stale If-Match: %s", stale.raw)
		}
		for _, h := range []string{`W/"2"`, `"2", "3"`, `2`, `"x"`} {
			s.do(t, call{method: "PATCH", path: "/v1/me", header: with(map[string]string{"If-Match": h}), body: map[string]any{"city": "Bergen"}}).want(t, 412)
		}
		// A tag of either view names the version; * names any.
		s.do(t, call{method: "PATCH", path: "/v1/me", header: with(map[string]string{"If-Match": `"2-shared"`}), body: map[string]any{"city": "Bodø"}}).want(t, 200)
		s.do(t, call{method: "PATCH", path: "/v1/me", header: with(map[string]string{"If-Match": `*`}), body: map[string]any{"city": "Tromsø"}}).want(t, 200)
		me := s.do(t, call{method: "GET", path: "/v1/me", header: bearer(alice)}).want(t, 200)
		if me.json["city"] != "Tromsø" {
			t.Fatalf("city %v", me.json["city"])
		}
	})
}

// TestConcurrentPatchersOverHTTP: fifty clients patching one account at once need no
// retry and lose nothing.
func TestConcurrentPatchersOverHTTP(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		alice := s.account(t, map[string]any{"username": "alice", "email": "alice@example.org"})
		var wg sync.WaitGroup
		statuses := make(chan int, 50*4)
		for c := 0; c < 50; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 4; i++ {
					body := fmt.Sprintf(`{"info": {"c%d_%d": true}}`, c, i)
					req, _ := http.NewRequest("PATCH", s.URL+"/v1/me", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+alice)
					req.Header.Set("Content-Type", "application/merge-patch+json")
					resp, err := s.Client().Do(req)
					if err != nil {
						statuses <- 0
						continue
					}
					resp.Body.Close()
					statuses <- resp.StatusCode
				}
			}()
		}
		wg.Wait()
		close(statuses)
		for st := range statuses {
			if st != 200 {
				t.Fatalf("a patch got %d", st)
			}
		}
		me := s.do(t, call{method: "GET", path: "/v1/me", header: bearer(alice)}).want(t, 200)
		if info, _ := me.json["info"].(map[string]any); len(info) != 200 {
			t.Fatalf("info holds %d keys, want 200", len(info))
		}
	})
}

// TestHostileInput: NUL bytes, invalid UTF-8, trailing data and oversized anonymous
// bodies get a clear 4xx in the native shape on both engines, never a 5xx.
func TestHostileInput(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		alice := s.account(t, map[string]any{"username": "alice", "email": "alice@example.org", "password": "alice password"})
		for _, c := range []struct {
			call
			status int
		}{
			{call{method: "GET", path: "/v1/users/a%00b", header: bearer(alice)}, 400},
			{call{method: "GET", path: "/v1/users/caf%E9", header: bearer(alice)}, 400},
			{call{method: "GET", path: "/v1/users?q=a%00b", header: bearer(alice)}, 400},
			{call{method: "GET", path: "/v1/users?username=%FF", header: bearer(alice)}, 400},
			{call{method: "POST", path: "/v1/session", body: `{"login": "al\u0000ice", "password": "x"}`}, 400},
			{call{method: "POST", path: "/v1/session", body: "{\"login\": \"caf\xe9\", \"password\": \"x\"}"}, 400},
			{call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: "{\"city\": \"caf\xe9\"}"}, 400},
			{call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: `{"city": "a\u0000b"}`}, 400},
			{call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: `{"info": {"k\u0000": 1}}`}, 400},
			{call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: `{"city": "Oslo"} trailing`}, 400},
			{call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: `{"name": 123}`}, 400},
			{call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: `{"year_of_birth": -5}`}, 400},
			{call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: `{"info": ` + strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000) + `}`}, 400},
			{call{method: "GET", path: "/v1/users?sort=id;DROP%20TABLE%20accounts", header: bearer(alice)}, 400},
			{call{method: "POST", path: "/v1/session", body: `{"login": "alice", "password": "` + strings.Repeat("x", 70<<10) + `"}`}, 400},
		} {
			r := s.do(t, c.call)
			if r.status != c.status || r.errorCode() == "" {
				t.Errorf("%s %s: %d %s, want %d in the native error shape", c.method, c.path, r.status, r.raw, c.status)
			}
		}
		// Nothing of it was written.
		me := s.do(t, call{method: "GET", path: "/v1/me", header: bearer(alice)}).want(t, 200)
		if me.header.Get("ETag") != `"1"` {
			t.Fatalf("a refused change was written: %s", me.raw)
		}
	})
}

// TestDeviceCookie: a browser that signed in keeps a device cookie, and with it signs in
// while its account is blocked for everyone else.
func TestDeviceCookie(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		s.account(t, map[string]any{"username": "alice", "email": "alice@example.org", "password": "alice password"})
		browser := newJarClient(t, s)
		r := s.do(t, call{method: "POST", path: "/v1/session", client: browser, body: map[string]any{"login": "alice", "password": "alice password"}}).want(t, 201)
		var device *http.Cookie
		for _, c := range r.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, "roster_device=") {
				device, _ = http.ParseSetCookie(c)
			}
		}
		if device == nil || !device.HttpOnly || device.SameSite != http.SameSiteStrictMode || device.MaxAge <= 0 {
			t.Fatalf("device cookie %+v", device)
		}
		// Guesses from elsewhere block alice's name for clients without her cookie.
		for i := 0; i < 60; i++ {
			s.do(t, call{method: "POST", path: "/v1/session", body: map[string]any{"login": "alice@example.org", "password": fmt.Sprint("guess", i)}})
		}
		s.do(t, call{method: "POST", path: "/v1/session", body: map[string]any{"login": "alice", "password": "alice password"}}).want(t, 429)
		s.do(t, call{method: "POST", path: "/v1/session", client: browser, body: map[string]any{"login": "alice", "password": "alice password"}}).want(t, 201)
	})
}
