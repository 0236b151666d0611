package ckan_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// TestHostileInput: what a hostile or careless client sends gets CKAN's own error shape,
// the same on both engines, never a 500, and changes nothing.
func TestHostileInput(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		const textError = `{"id": ["Must be valid UTF-8 text without NUL characters."], "__type": "Validation Error"}`
		// NUL and invalid UTF-8, anonymously and signed in, in a query and in a body.
		want(t, e.Do(t, "GET", "/api/3/action/user_show?id=a%00b", ""), 409, fail(e, "user_show", textError))
		want(t, e.Do(t, "GET", "/api/3/action/user_show?id=caf%E9", ""), 409, fail(e, "user_show", textError))
		want(t, call(t, e, f.admin, "user_show", `{"id": "a\u0000b"}`), 409, fail(e, "user_show", textError))
		want(t, e.Do(t, "POST", "/api/3/action/user_show", "id=caf%E9", "Content-Type", "application/x-www-form-urlencoded"), 409, fail(e, "user_show", textError))
		want(t, call(t, e, f.admin, "user_metadata", `{"ids": ["alice", "a\u0000"], "fields": ["name"]}`), 409,
			fail(e, "user_metadata", `{"ids": ["Every id must be valid UTF-8 text without NUL characters."], "__type": "Validation Error"}`))
		want(t, call(t, e, "", "user_list", `{"q": "a\u0000"}`), 409,
			fail(e, "user_list", `{"q": ["Must be valid UTF-8 text without NUL characters."], "__type": "Validation Error"}`))
		r := call(t, e, f.admin, "user_patch", "{\"id\": \"alice\", \"fullname\": \"caf\xe9\"}")
		if r.Status != 400 || !strings.Contains(r.Body, "not valid UTF-8") {
			t.Fatalf("invalid UTF-8 body: %d %s", r.Status, r.Body)
		}
		want(t, call(t, e, f.admin, "user_patch", `{"id": "alice", "fullname": "a\u0000b"}`), 409,
			fail(e, "user_patch", `{"fullname": ["Must be valid UTF-8 text without NUL characters."], "__type": "Validation Error"}`))
		// Python's json.loads refuses trailing data; so does Roster.
		r = call(t, e, f.admin, "user_patch", `{"id": "alice", "fullname": "X"} {"sysadmin": true}`)
		if r.Status != 400 || !strings.Contains(r.Body, "Extra data") {
			t.Fatalf("trailing data: %d %s", r.Status, r.Body)
		}
		// An order CKAN does not know is refused, not ignored.
		want(t, e.Do(t, "GET", "/api/3/action/user_list?order_by="+url.QueryEscape("id;DROP TABLE user"), ""), 409,
			fail(e, "user_list", `{"order_by": ["Unknown order_by: use display_name or a sortable user field (id, name, email, fullname, created, last_active, organization, orcid)"], "__type": "Validation Error"}`))
		r = e.Do(t, "GET", "/api/3/action/user_list?q=a;b", "")
		if r.Status != 400 || !strings.Contains(r.Body, "Invalid query string") {
			t.Fatalf("semicolon in the query: %d %s", r.Status, r.Body)
		}
		// Anonymous callers get a small body.
		r = e.Do(t, "POST", "/api/3/action/user_show", `{"id": "alice", "pad": "`+strings.Repeat("x", 70<<10)+`"}`, "Content-Type", "application/json")
		if r.Status != 413 {
			t.Fatalf("a large anonymous body: %d %s", r.Status, r.Body)
		}
		// …which a signed-in caller may send.
		if r := call(t, e, f.admin, "user_show", `{"id": "alice", "pad": "`+strings.Repeat("x", 70<<10)+`"}`); r.Status != 200 {
			t.Fatalf("a large signed-in body: %d %s", r.Status, r.Body)
		}
		// Nothing changed.
		rec, err := e.Svc.GetAccount(testkit.Operator(), roster.ParseAccountRef("alice"), roster.ReadOptions{})
		if err != nil || rec.Version != 1 {
			t.Fatalf("alice after the probes: version %v, %v", rec.Version, err)
		}
	})
}
