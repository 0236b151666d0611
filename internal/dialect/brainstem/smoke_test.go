package brainstem_test

import (
	"testing"

	"github.com/rosterhq/roster/internal/testkit"
)

func TestSmoke(t *testing.T) {
	testkit.Engines(t, func(t *testing.T, e *testkit.Env) {
		_, root := e.Account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		a, alice := e.Account(t, map[string]any{"username": "alice", "email": "alice@example.org", "first_name": "Alice", "last_name": "A", "privacy": "all_users"})
		_ = a
		for _, p := range []string{"/api/public/users/user", "/api/private/users/user/", "/api/super/users/user/?filter{email.icontains}=ali&sort[]=-id", "/api/private/users/user/2/", "/api/public/users/user/2"} {
			for _, k := range []string{"", alice, root} {
				h := []string{}
				if k != "" {
					h = []string{"Authorization", "Bearer " + k}
				}
				r := e.Do(t, "GET", p, "", h...)
				t.Logf("%s %d %s", p, r.Status, r.Body)
			}
		}
		r := e.Do(t, "PATCH", "/api/private/users/user/2/", `{"website": "www.someweb.com", "email": "x", "orcid_id": "`+string(make([]byte, 0))+`"}`, "Authorization", "Bearer "+alice, "Content-Type", "application/json")
		t.Logf("%d %s", r.Status, r.Body)
		r = e.Do(t, "PATCH", "/api/private/users/user/2/", `{"website": "www.someweb.com"}`, "Authorization", "Bearer "+alice, "Content-Type", "application/json")
		t.Logf("%d %s", r.Status, r.Body)
		r = e.Do(t, "DELETE", "/api/super/users/user/2/", ``, "Authorization", "Bearer "+root)
		t.Logf("%d %q", r.Status, r.Body)
		r = e.Do(t, "GET", "/api/super/users/user/2/", ``, "Authorization", "Bearer "+root)
		t.Logf("%d %q", r.Status, r.Body)
		r = e.Do(t, "POST", "/api/private/users/user/", `{}`, "Authorization", "Bearer "+root)
		t.Logf("%d %q", r.Status, r.Body)
		r = e.Do(t, "GET", "/api/private/users/user/", ``, "Authorization", "Bearer nope")
		t.Logf("%d %q %v", r.Status, r.Body, r.Header)
	})
}
