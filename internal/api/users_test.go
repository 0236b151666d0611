package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestUsers(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		alice := s.account(t, map[string]any{"username": "alice", "email": "alice@example.org", "name": "Alice Smith", "password": "alice password"})
		bob := s.account(t, map[string]any{"username": "bob", "email": "bob@example.org"})

		t.Run("GetByEveryIdForm", func(t *testing.T) {
			r := s.do(t, call{method: "GET", path: "/v1/users/alice", header: bearer(root)}).want(t, 200)
			id, uuid := r.json["id"].(json.Number).String(), r.json["uuid"].(string)
			for _, ref := range []string{id, uuid, "ALICE"} {
				got := s.do(t, call{method: "GET", path: "/v1/users/" + ref, header: bearer(root)}).want(t, 200)
				if got.json["username"] != "alice" || got.json["email"] != "alice@example.org" || got.json["first_name"] != "Alice" {
					t.Fatalf("GET /v1/users/%s = %s", ref, got.raw)
				}
			}
			s.do(t, call{method: "GET", path: "/v1/users/nobody", header: bearer(root)}).want(t, 404)
		})
		t.Run("EveryKeyHeaderForm", func(t *testing.T) {
			for _, h := range []map[string]string{
				{"Authorization": "Bearer " + alice}, {"Authorization": "Token " + alice}, {"Authorization": alice},
				{"X-CKAN-API-Key": alice}, {"EDX-API-Key": alice},
			} {
				r := s.do(t, call{method: "GET", path: "/v1/me", header: h}).want(t, 200)
				if r.json["username"] != "alice" {
					t.Fatalf("with %v: %s", h, r.raw)
				}
			}
			r := s.do(t, call{method: "GET", path: "/v1/me", header: bearer("rk_0000")}).want(t, 401)
			if r.errorCode() != "unauthenticated" || r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("bad key: %s %v", r.raw, r.header)
			}
			s.do(t, call{method: "GET", path: "/v1/me"}).want(t, 401)
			s.do(t, call{method: "GET", path: "/v1/me", header: map[string]string{"Authorization": "Basic YTpi"}}).want(t, 401)
		})
		t.Run("OthersSeeLess", func(t *testing.T) {
			r := s.do(t, call{method: "GET", path: "/v1/users/alice", header: bearer(bob)}).want(t, 200)
			if _, ok := r.json["email"]; ok {
				t.Fatalf("bob sees alice's email: %s", r.raw)
			}
			if r.json["username"] != "alice" || r.json["privacy"] != "private" {
				t.Fatalf("bob sees %s", r.raw)
			}
			me := s.do(t, call{method: "GET", path: "/v1/me?view=shared", header: bearer(alice)}).want(t, 200)
			if _, ok := me.json["email"]; ok {
				t.Fatalf("view=shared shows the email: %s", me.raw)
			}
		})
		t.Run("MergePatch", func(t *testing.T) {
			r := s.do(t, call{method: "PATCH", path: "/v1/me", header: merge(bearer(alice), map[string]string{"Content-Type": "application/merge-patch+json"}),
				body: `{"bio": "Hello", "info": {"avatar": "a.png", "container": "c"}, "privacy": "all_users"}`}).want(t, 200)
			if r.json["bio"] != "Hello" {
				t.Fatalf("patch: %s", r.raw)
			}
			r = s.do(t, call{method: "PATCH", path: "/v1/users/alice", header: bearer(alice), body: map[string]any{"info": map[string]any{"avatar": nil}, "bio": nil}}).want(t, 200)
			if info, _ := json.Marshal(r.json["info"]); string(info) != `{"container":"c"}` || r.json["bio"] != nil {
				t.Fatalf("merge: %s", r.raw)
			}
			shared := s.do(t, call{method: "GET", path: "/v1/users/alice", header: bearer(bob)}).want(t, 200)
			if shared.json["info"] == nil {
				t.Fatalf("all_users privacy does not share info: %s", shared.raw)
			}
		})
		t.Run("ErrPatchEveryProblem", func(t *testing.T) {
			r := s.do(t, call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: map[string]any{"country": "XY", "year_of_birth": "x", "website": "not a url"}}).want(t, 400)
			f := r.fields()
			if r.errorCode() != "invalid" || len(f) != 3 || f["country"] != `"XY" is not a valid choice.` {
				t.Fatalf("errors: %s", r.raw)
			}
			r = s.do(t, call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: map[string]any{"sysadmin": true}}).want(t, 403)
			if r.fields()["sysadmin"] == nil {
				t.Fatalf("forbidden field not named: %s", r.raw)
			}
			s.do(t, call{method: "PATCH", path: "/v1/users/bob", header: bearer(alice), body: map[string]any{"bio": "x"}}).want(t, 403)
			s.do(t, call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: `{"bio": `}).want(t, 400)
			s.do(t, call{method: "PATCH", path: "/v1/me", header: bearer(alice), body: `[1]`}).want(t, 400)
			s.do(t, call{method: "PATCH", path: "/v1/me", header: merge(bearer(alice), map[string]string{"Content-Type": "text/plain"}), body: `{}`}).want(t, 400)
		})
		t.Run("Create", func(t *testing.T) {
			r := s.do(t, call{method: "POST", path: "/v1/users", header: bearer(root), body: map[string]any{"username": "carol", "email": "carol@example.org", "password": "carol password", "first_name": "Carol", "last_name": "King"}}).want(t, 201)
			if r.json["name"] != "Carol King" || r.header.Get("Location") != "/v1/users/"+r.json["id"].(json.Number).String() {
				t.Fatalf("create: %s %v", r.raw, r.header)
			}
			if strings.Contains(string(r.raw), "carol password") || strings.Contains(string(r.raw), "argon2") {
				t.Fatal("the password or its hash came back")
			}
			r = s.do(t, call{method: "POST", path: "/v1/users", header: bearer(root), body: map[string]any{"username": "Carol", "email": "CAROL@example.org"}}).want(t, 409)
			if len(r.fields()) != 2 {
				t.Fatalf("duplicate: %s", r.raw)
			}
			s.do(t, call{method: "POST", path: "/v1/users", header: bearer(alice), body: map[string]any{"username": "dave", "email": "d@example.org"}}).want(t, 403)
		})
		t.Run("Lifecycle", func(t *testing.T) {
			r := s.do(t, call{method: "POST", path: "/v1/users/carol/deactivate", header: bearer(root)}).want(t, 200)
			if r.json["state"] != "deactivated" {
				t.Fatalf("deactivate: %s", r.raw)
			}
			s.do(t, call{method: "POST", path: "/v1/users/carol/activate", header: bearer(root)}).want(t, 200)
			s.do(t, call{method: "DELETE", path: "/v1/users/carol", header: bearer(root)}).want(t, 200)
			s.do(t, call{method: "GET", path: "/v1/users/carol", header: bearer(bob)}).want(t, 404)
			s.do(t, call{method: "POST", path: "/v1/users/bob/deactivate", header: bearer(alice)}).want(t, 403)
			s.do(t, call{method: "DELETE", path: "/v1/users/root", header: bearer(root)}).want(t, 409) // the last sysadmin
		})
		t.Run("Password", func(t *testing.T) {
			s.do(t, call{method: "PUT", path: "/v1/users/alice/password", header: bearer(alice), body: map[string]any{"password": "new alice password", "current_password": "wrong"}}).want(t, 400)
			s.do(t, call{method: "PUT", path: "/v1/users/alice/password", header: bearer(alice), body: map[string]any{"password": "new alice password", "current_password": "alice password"}}).want(t, 204)
			s.do(t, call{method: "POST", path: "/v1/session", body: map[string]any{"login": "alice", "password": "new alice password"}}).want(t, 201)
		})
		t.Run("NotAllowedAndUnknown", func(t *testing.T) {
			r := s.do(t, call{method: "PUT", path: "/v1/users/alice", header: bearer(root)}).want(t, 405)
			if r.header.Get("Allow") != "GET, PATCH, DELETE" {
				t.Fatalf("Allow = %q", r.header.Get("Allow"))
			}
			s.do(t, call{method: "GET", path: "/v1/nothing", header: bearer(root)}).want(t, 404)
		})
	})
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestListUsers(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		for i := 0; i < 25; i++ {
			s.account(t, map[string]any{"username": fmt.Sprintf("user%02d", i), "email": fmt.Sprintf("u%02d@example.org", i), "name": fmt.Sprintf("Name %02d", 24-i)})
		}
		user := s.account(t, map[string]any{"username": "plain", "email": "plain@example.org"})

		var got []string
		path := "/v1/users?sort=-name&limit=7&q=user"
		for pages := 0; path != ""; pages++ {
			r := s.do(t, call{method: "GET", path: path, header: bearer(root)}).want(t, 200)
			for _, u := range r.json["users"].([]any) {
				got = append(got, u.(map[string]any)["username"].(string))
			}
			path = ""
			if link := r.header.Get("Link"); link != "" {
				path = strings.TrimSuffix(strings.TrimPrefix(strings.Split(link, ";")[0], "<"), ">")
			}
			if pages > 10 {
				t.Fatal("paging does not end")
			}
		}
		if len(got) != 25 || got[0] != "user00" || got[24] != "user24" {
			t.Fatalf("sorted pages: %v", got)
		}
		r := s.do(t, call{method: "GET", path: "/v1/users?limit=5&offset=5&total=true&sort=username", header: bearer(root)}).want(t, 200)
		if r.json["total"].(json.Number).String() != "27" || len(r.json["users"].([]any)) != 5 {
			t.Fatalf("offset page: %s", r.raw)
		}
		r = s.do(t, call{method: "GET", path: "/v1/users?sort=password&limit=0&state=gone&sysadmin=maybe", header: bearer(root)}).want(t, 400)
		if len(r.fields()) != 4 {
			t.Fatalf("bad query: %s", r.raw)
		}
		// Another's email is not the caller's to match: nothing found.
		r = s.do(t, call{method: "GET", path: "/v1/users?email=" + url.QueryEscape("root@example.org"), header: bearer(user)}).want(t, 200)
		if us := r.json["users"].([]any); len(us) != 0 {
			t.Fatalf("an email filter by a user found others: %s", r.raw)
		}
		r = s.do(t, call{method: "GET", path: "/v1/users?sysadmin=true", header: bearer(root)}).want(t, 200)
		if us := r.json["users"].([]any); len(us) != 1 || us[0].(map[string]any)["username"] != "root" {
			t.Fatalf("sysadmins: %s", r.raw)
		}
	})
}
