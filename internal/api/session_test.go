package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSessionAndCSRF(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		s.account(t, map[string]any{"username": "alice", "email": "alice@example.org", "password": "alice password"})
		c := newJarClient(t, s)
		s.do(t, call{method: "POST", path: "/v1/session", client: c, body: map[string]any{"login": "alice", "password": "nope"}}).want(t, 401)
		r := s.do(t, call{method: "POST", path: "/v1/session", client: c, body: map[string]any{"username": "alice", "password": "alice password"}}).want(t, 201)
		csrf, _ := r.json["csrf_token"].(string)
		if csrf == "" || r.json["account"].(map[string]any)["username"] != "alice" {
			t.Fatalf("login: %s", r.raw)
		}
		cookie := r.header.Get("Set-Cookie")
		if !strings.Contains(cookie, "roster_session=") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Lax") {
			t.Fatalf("cookie %q", cookie)
		}
		if strings.Contains(string(r.raw), strings.Split(strings.Split(cookie, "=")[1], ";")[0]) {
			t.Fatal("the session token is in the body")
		}
		s.do(t, call{method: "GET", path: "/v1/me", client: c}).want(t, 200)
		// Unsafe requests on a cookie need the CSRF token.
		r = s.do(t, call{method: "PATCH", path: "/v1/me", client: c, body: map[string]any{"bio": "x"}}).want(t, 403)
		if !strings.Contains(r.json["error"].(map[string]any)["message"].(string), "CSRF") {
			t.Fatalf("no CSRF message: %s", r.raw)
		}
		s.do(t, call{method: "PATCH", path: "/v1/me", client: c, body: map[string]any{"bio": "x"}, header: map[string]string{"X-CSRF-Token": "forged"}}).want(t, 403)
		s.do(t, call{method: "PATCH", path: "/v1/me", client: c, body: map[string]any{"bio": "x"}, header: map[string]string{"X-CSRF-Token": csrf}}).want(t, 200)
		s.do(t, call{method: "PATCH", path: "/v1/me", client: c, body: map[string]any{"bio": "y"}, header: map[string]string{"X-CSRFToken": csrf}}).want(t, 200)
		got := s.do(t, call{method: "GET", path: "/v1/session", client: c}).want(t, 200)
		if got.json["csrf_token"] != csrf {
			t.Fatalf("GET /v1/session: %s", got.raw)
		}
		s.do(t, call{method: "DELETE", path: "/v1/session", client: c}).want(t, 403)
		s.do(t, call{method: "DELETE", path: "/v1/session", client: c, header: map[string]string{"X-CSRF-Token": csrf}}).want(t, 204)
		s.do(t, call{method: "GET", path: "/v1/me", client: c}).want(t, 401)
	})
}

func TestLoginThrottleOverHTTP(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		s.account(t, map[string]any{"username": "alice", "email": "alice@example.org", "password": "alice password"})
		var last reply
		for i := 0; i < 6; i++ {
			last = s.do(t, call{method: "POST", path: "/v1/session", body: map[string]any{"login": "alice", "password": "wrong"}})
		}
		last.want(t, 429)
		if last.header.Get("Retry-After") == "" || last.errorCode() != "too_many" {
			t.Fatalf("429 without Retry-After: %v %s", last.header, last.raw)
		}
	})
}

func TestKeys(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		alice := s.account(t, map[string]any{"username": "alice", "email": "alice@example.org"})
		bob := s.account(t, map[string]any{"username": "bob", "email": "bob@example.org"})
		r := s.do(t, call{method: "POST", path: "/v1/users/alice/keys", header: bearer(alice), body: map[string]any{"label": "ci", "read_only": true, "expires_at": "2099-01-01T00:00:00Z"}}).want(t, 201)
		key, _ := r.json["key"].(string)
		if !strings.HasPrefix(key, "rk_") || r.json["read_only"] != true || r.json["expires_at"] != "2099-01-01T00:00:00Z" || r.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("create key: %s", r.raw)
		}
		id := r.json["id"].(json.Number).String()
		list := s.do(t, call{method: "GET", path: "/v1/users/alice/keys", header: bearer(key)}).want(t, 200)
		if strings.Contains(string(list.raw), key) || strings.Contains(string(list.raw), "hash") || len(list.json["keys"].([]any)) != 2 {
			t.Fatalf("list leaks or miscounts: %s", list.raw)
		}
		s.do(t, call{method: "PATCH", path: "/v1/me", header: bearer(key), body: map[string]any{"bio": "x"}}).want(t, 403) // read-only
		s.do(t, call{method: "GET", path: "/v1/users/alice/keys", header: bearer(bob)}).want(t, 403)
		s.do(t, call{method: "DELETE", path: "/v1/keys/" + id, header: bearer(bob)}).want(t, 404)
		s.do(t, call{method: "DELETE", path: "/v1/keys/" + id, header: bearer(alice)}).want(t, 200)
		s.do(t, call{method: "GET", path: "/v1/me", header: bearer(key)}).want(t, 401)
		s.do(t, call{method: "POST", path: "/v1/users/alice/keys", header: bearer(alice), body: map[string]any{"expires_at": "soon"}}).want(t, 400)
	})
}

func TestGroupsRolesAudit(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		alice := s.account(t, map[string]any{"username": "alice", "email": "alice@example.org"})
		staff := s.account(t, map[string]any{"username": "steve", "email": "steve@example.org", "staff": true})

		r := s.do(t, call{method: "POST", path: "/v1/groups", header: bearer(root), body: map[string]any{"name": "Lab", "description": "d"}}).want(t, 201)
		gid := r.json["id"].(json.Number).String()
		s.do(t, call{method: "POST", path: "/v1/groups", header: bearer(alice), body: map[string]any{"name": "Mine"}}).want(t, 403)
		s.do(t, call{method: "POST", path: "/v1/groups", header: bearer(root), body: map[string]any{"name": "LAB"}}).want(t, 409)
		s.do(t, call{method: "PUT", path: "/v1/groups/" + gid + "/members/alice", header: bearer(root), body: map[string]any{"role": "owner"}}).want(t, 204)
		s.do(t, call{method: "PUT", path: "/v1/groups/" + gid + "/members/steve", header: bearer(alice)}).want(t, 204) // owners manage
		s.do(t, call{method: "PUT", path: "/v1/groups/" + gid + "/members/steve", header: bearer(alice), body: map[string]any{"role": "boss"}}).want(t, 400)
		g := s.do(t, call{method: "GET", path: "/v1/groups/" + gid, header: bearer(staff)}).want(t, 200)
		ms := g.json["members"].([]any)
		if len(ms) != 3 || ms[0].(map[string]any)["username"] != "alice" || ms[0].(map[string]any)["role"] != "owner" || ms[2].(map[string]any)["role"] != "member" {
			t.Fatalf("group: %s", g.raw)
		}
		s.do(t, call{method: "PATCH", path: "/v1/groups/" + gid, header: bearer(staff), body: map[string]any{"name": "x"}}).want(t, 403)
		s.do(t, call{method: "PATCH", path: "/v1/groups/" + gid, header: bearer(alice), body: map[string]any{"name": "Lab 2"}}).want(t, 200)
		s.do(t, call{method: "DELETE", path: "/v1/groups/" + gid + "/members/steve", header: bearer(alice)}).want(t, 204)
		s.do(t, call{method: "GET", path: "/v1/groups", header: bearer(alice)}).want(t, 200)
		s.do(t, call{method: "DELETE", path: "/v1/groups/" + gid, header: bearer(root)}).want(t, 204)
		s.do(t, call{method: "GET", path: "/v1/groups/" + gid, header: bearer(root)}).want(t, 404)

		roles := s.do(t, call{method: "GET", path: "/v1/roles", header: bearer(alice)}).want(t, 200)
		if !strings.Contains(string(roles.raw), `"project_admin"`) || !strings.Contains(string(roles.raw), `"kind":"role"`) {
			t.Fatalf("roles: %s", roles.raw)
		}

		s.do(t, call{method: "GET", path: "/v1/audit", header: bearer(alice)}).want(t, 403)
		var seqs []int64
		after := "0"
		for {
			page := s.do(t, call{method: "GET", path: "/v1/audit?limit=3&after=" + after, header: bearer(staff)}).want(t, 200)
			es := page.json["entries"].([]any)
			if len(es) == 0 {
				break
			}
			for _, e := range es {
				n, _ := e.(map[string]any)["seq"].(json.Number).Int64()
				seqs = append(seqs, n)
			}
			after = page.json["last_seq"].(json.Number).String()
		}
		for i, n := range seqs {
			if n != int64(i+1) {
				t.Fatalf("audit seqs %v are not 1..n", seqs)
			}
		}
		groupOnly := s.do(t, call{method: "GET", path: "/v1/audit?target_type=group&action=group.member.set", header: bearer(staff)}).want(t, 200)
		if n := len(groupOnly.json["entries"].([]any)); n != 2 {
			t.Fatalf("filtered audit: %d entries: %s", n, groupOnly.raw)
		}
		s.do(t, call{method: "GET", path: "/v1/audit?since=yesterday", header: bearer(staff)}).want(t, 400)
	})
}
