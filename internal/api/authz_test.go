package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestAuthorizationMatrix: every route of /v1, called by every kind of caller, answers
// as the permission rules say. Each row names the status for each caller; a change of a
// rule that is not also made here fails the test.
func TestAuthorizationMatrix(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		keys := map[string]string{
			"alice": s.account(t, map[string]any{"username": "alice", "email": "alice@example.org", "password": "alice password"}),
			"bob":   s.account(t, map[string]any{"username": "bob", "email": "bob@example.org"}),
			"staff": s.account(t, map[string]any{"username": "watcher", "email": "watcher@example.org", "staff": true}),
			"root":  s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true}),
			"anon":  "",
		}
		s.account(t, map[string]any{"username": "carol", "email": "carol@example.org"})
		// alice's read-only key.
		ro := s.do(t, call{method: "POST", path: "/v1/users/alice/keys", header: bearer(keys["alice"]), body: map[string]any{"label": "ro", "read_only": true}}).want(t, 201)
		keys["ro"] = ro.json["key"].(string)
		spare := s.do(t, call{method: "POST", path: "/v1/users/alice/keys", header: bearer(keys["alice"]), body: map[string]any{"label": "spare"}}).want(t, 201)
		spareID := spare.json["id"]
		group := s.do(t, call{method: "POST", path: "/v1/groups", header: bearer(keys["root"]), body: map[string]any{"name": "Lab"}}).want(t, 201)
		groupID := group.json["id"]
		s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(keys["root"]), body: map[string]any{"title": "P", "forms": []string{"f1"}}}).want(t, 201)
		s.do(t, call{method: "PUT", path: "/v1/projects/1/members/bob", header: bearer(keys["root"]), body: map[string]any{"user_rights": 1}}).want(t, 200)

		callers := []string{"anon", "alice", "ro", "bob", "staff", "root"}
		type row struct {
			method, path string
			body         any
			want         string // a status per caller, in the order of callers
		}
		n := 0
		fresh := func() string { n++; return fmt.Sprint(n) }
		rows := []row{
			{"GET", "/v1/openapi.json", nil, "200 200 200 200 200 200"},
			{"GET", "/v1/schema", nil, "401 200 200 200 200 200"},
			{"GET", "/v1/me", nil, "401 200 200 200 200 200"},
			{"PATCH", "/v1/me", map[string]any{"city": "Oslo"}, "401 200 403 200 200 200"},
			{"GET", "/v1/users", nil, "401 200 200 200 200 200"},
			{"GET", "/v1/users?state=any", nil, "401 403 403 403 200 200"},
			// Filters and orders on what a caller reads of its own account only: allowed, and
			// confined to the values it may read; on what it reads of none: refused.
			{"GET", "/v1/users?email=carol@example.org", nil, "401 200 200 200 200 200"},
			{"GET", "/v1/users?sort=last_login", nil, "401 200 200 200 200 200"},
			{"GET", "/v1/users?sysadmin=true", nil, "401 403 403 403 200 200"},
			{"GET", "/v1/users?sort=updated", nil, "401 403 403 403 200 200"},
			{"GET", "/v1/users/alice", nil, "401 200 200 200 200 200"},
			{"PATCH", "/v1/users/alice", map[string]any{"city": "Bergen"}, "401 200 403 403 403 200"},
			// Callers run in the order above, so only the last (root) changes roles here.
			{"PATCH", "/v1/users/carol", map[string]any{"sysadmin": true}, "401 403 403 403 403 200"},
			{"PATCH", "/v1/users/carol", map[string]any{"sysadmin": false}, "401 403 403 403 403 200"},
			{"PATCH", "/v1/users/root", map[string]any{"sysadmin": false}, "401 403 403 403 403 409"},
			{"POST", "/v1/users", func() any {
				return map[string]any{"username": "new" + fresh(), "email": "new" + fmt.Sprint(n) + "@example.org"}
			}, "401 403 403 403 403 201"},
			{"POST", "/v1/users/carol/deactivate", nil, "401 403 403 403 403 200"},
			{"POST", "/v1/users/carol/activate", nil, "401 403 403 403 403 200"},
			{"PUT", "/v1/users/alice/password", map[string]any{"password": "alice password", "current_password": "alice password"}, "401 204 403 403 403 204"},
			{"GET", "/v1/users/alice/keys", nil, "401 200 200 403 200 200"},
			{"POST", "/v1/users/alice/keys", map[string]any{"label": "k"}, "401 201 403 403 403 201"},
			{"POST", "/v1/users/bob/keys", map[string]any{"label": "k"}, "401 403 403 201 403 201"},
			{"GET", "/v1/roles", nil, "401 200 200 200 200 200"},
			{"GET", "/v1/groups", nil, "401 200 200 200 200 200"},
			{"POST", "/v1/groups", func() any { return map[string]any{"name": "G" + fresh()} }, "401 403 403 403 403 201"},
			{"GET", fmt.Sprintf("/v1/groups/%v", groupID), nil, "401 200 200 200 200 200"},
			{"PATCH", fmt.Sprintf("/v1/groups/%v", groupID), map[string]any{"description": "d"}, "401 403 403 403 403 200"},
			{"PUT", fmt.Sprintf("/v1/groups/%v/members/bob", groupID), map[string]any{"role": "member"}, "401 403 403 403 403 204"},
			{"DELETE", fmt.Sprintf("/v1/groups/%v/members/bob", groupID), nil, "401 403 403 403 403 204"},
			{"GET", "/v1/audit", nil, "401 403 403 403 200 200"},
			{"GET", "/v1/projects", nil, "401 200 200 200 200 200"},
			{"POST", "/v1/projects", map[string]any{"title": "Q", "forms": []string{"f1"}}, "401 403 403 403 403 201"},
			{"GET", "/v1/projects/1", nil, "401 404 404 200 404 200"},
			{"GET", "/v1/projects/1/members", nil, "401 404 404 200 404 200"},
			{"PUT", "/v1/projects/1/members/carol", map[string]any{"calendar": 1}, "401 404 403 200 404 200"},
			{"DELETE", "/v1/projects/1/members/carol", nil, "401 404 403 204 404 404"},
			{"GET", "/v1/projects/1/dags", nil, "401 404 404 403 404 200"},
			{"GET", "/v1/audit?limit=1", nil, "401 403 403 403 200 200"},
			{"DELETE", fmt.Sprintf("/v1/keys/%v", spareID), nil, "401 200 403 404 404 200"},
			{"DELETE", "/v1/users/carol", nil, "401 403 403 403 403 200"},
		}
		var failures []string
		for _, r := range rows {
			want := strings.Fields(r.want)
			if len(want) != len(callers) {
				t.Fatalf("%s %s: %d statuses for %d callers", r.method, r.path, len(want), len(callers))
			}
			for i, who := range callers {
				body := r.body
				if f, ok := body.(func() any); ok {
					body = f()
				}
				c := call{method: r.method, path: r.path, body: body}
				if keys[who] != "" {
					c.header = bearer(keys[who])
				}
				got := s.do(t, c)
				if fmt.Sprint(got.status) != want[i] {
					failures = append(failures, fmt.Sprintf("%s %s as %s: %d, want %s (%s)", r.method, r.path, who, got.status, want[i], strings.TrimSpace(string(got.raw))))
				}
			}
		}
		if len(failures) > 0 {
			t.Fatalf("%d of %d calls answered otherwise:\n%s", len(failures), len(rows)*len(callers), strings.Join(failures, "\n"))
		}
	})
}
