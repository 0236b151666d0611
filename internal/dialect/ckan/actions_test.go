package ckan_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/dialect/ckan"
	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/testkit"
)

// names lists the "name" of each user dict of a user_list result, in order.
func names(t *testing.T, body string) []string {
	t.Helper()
	var env struct {
		Success bool
		Result  []json.RawMessage
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || !env.Success {
		t.Fatalf("not a successful list: %s", body)
	}
	var out []string
	for _, r := range env.Result {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out = append(out, s)
			continue
		}
		var d struct{ Name string }
		json.Unmarshal(r, &d)
		out = append(out, d.Name)
	}
	return out
}

func TestUserList(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		e.Account(t, map[string]any{"username": "zed", "email": "zed@example.org", "name": "Aaron Zed"})
		gone, _ := e.Account(t, map[string]any{"username": "gone", "email": "gone@example.org"})
		if _, err := e.Svc.SetState(testkit.Operator(), roster.RefID(gone.ID), roster.StateDeleted, roster.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		check := func(r testkit.Reply, want ...string) {
			t.Helper()
			if got := names(t, r.Body); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
		// The default order is the display name: full name, else username, as the
		// caller may read them (zed's full name is private). Deleted users are left out.
		check(call(t, e, "", "user_list", `{}`), "alice", "bob", "sysop", "zed")
		check(call(t, e, f.admin, "user_list", `{}`), "zed", "alice", "bob", "sysop")
		check(call(t, e, "", "user_list", `{"order_by": "name"}`), "alice", "bob", "sysop", "zed")
		check(call(t, e, f.admin, "user_list", `{"q": "AL"}`), "alice")
		// q matches full names too, where the caller may read them: alice's and zed's
		// are hidden from anonymous callers, so only usernames match for them.
		check(e.Do(t, "GET", "/api/3/action/user_list?q=o&order_by=name", ""), "bob", "sysop")
		check(call(t, e, f.admin, "user_list", `{"q": "o", "order_by": "name"}`), "alice", "bob", "sysop", "zed")
		check(e.Do(t, "GET", "/api/3/action/user_list?q=bo", ""), "bob")
		check(call(t, e, f.admin, "user_list", `{"email": "BOB@example.org"}`), "bob")
		check(call(t, e, f.admin, "user_list", `{"order_by": "name", "limit": 2, "offset": 1}`), "bob", "sysop")
		check(call(t, e, f.admin, "user_list", `{"limit": "0"}`))
		want(t, call(t, e, f.admin, "user_list", `{"all_fields": false, "order_by": "name"}`), 200,
			ok(e, "user_list", `["alice", "bob", "sysop", "zed"]`))
		want(t, call(t, e, f.bobKey, "user_list", `{"email": "bob@example.org"}`), 403,
			fail(e, "user_list", `{"__type": "Authorization Error", "message": "Access denied"}`))
		want(t, call(t, e, "", "user_list", `{"order_by": "edits"}`), 409,
			fail(e, "user_list", `{"message": "order_by=edits is no longer supported", "__type": "Validation Error"}`))
		want(t, call(t, e, "", "user_list", `{"limit": "ten"}`), 409,
			fail(e, "user_list", `{"limit": ["Invalid integer"], "__type": "Validation Error"}`))
		// A user dict in a list is what the caller may see of that user.
		r := call(t, e, f.bobKey, "user_list", `{"q": "alice"}`)
		if strings.Contains(r.Body, "Alice@Example.org") || !strings.Contains(r.Body, `"about": "About \"me\""`) {
			t.Fatalf("list shows %s", r.Body)
		}
	})
}

func TestUserCreate(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		r := call(t, e, f.admin, "user_create", `{"name": "carol", "email": "carol@example.org", "password": "carol-pass-1",
			"fullname": "Carol King", "about": "Hi", "with_apitoken": true}`)
		var env struct{ Result map[string]any }
		json.Unmarshal([]byte(r.Body), &env)
		if r.Status != 200 || env.Result["email"] != "carol@example.org" || env.Result["fullname"] != "Carol King" || env.Result["sysadmin"] != false {
			t.Fatalf("user_create: %s", r.Body)
		}
		token, _ := env.Result["token"].(string)
		if !strings.HasSuffix(r.Body, fmt.Sprintf(`"apikey": null, "email": "carol@example.org", "image_display_url": null, "token": "%s"}}`, token)) {
			t.Fatalf("key order or token: %s", r.Body)
		}
		if me := call(t, e, token, "user_show", `{}`); !strings.Contains(me.Body, `"name": "carol"`) {
			t.Fatalf("the token does not authenticate carol: %s", me.Body)
		}
		// A sysadmin may give the id (a UUID), as CKAN allows.
		r = call(t, e, f.admin, "user_create", `{"id": "7d3c4e2a-0000-4000-8000-000000000001", "name": "dave", "email": "dave@example.org", "password": "dave-pass-12"}`)
		if !strings.Contains(r.Body, `"id": "7d3c4e2a-0000-4000-8000-000000000001", "name": "dave"`) {
			t.Fatalf("custom id: %s", r.Body)
		}
		// Every problem at once, in schema order and CKAN's words.
		want(t, call(t, e, f.admin, "user_create", `{"name": "Bad Name", "email": "not-an-email", "password": "short"}`), 409, fail(e, "user_create",
			`{"name": ["Must be purely lowercase alphanumeric (ascii) characters and these symbols: -_"], "email": ["Email not-an-email is not a valid format"], `+
				`"password": ["Your password must be 8 characters or longer"], "__type": "Validation Error"}`))
		want(t, call(t, e, f.admin, "user_create", `{}`), 409, fail(e, "user_create",
			`{"name": ["Missing value"], "email": ["Missing value"], "password": ["Missing value"], "__type": "Validation Error"}`))
		want(t, call(t, e, f.admin, "user_create", `{"name": "alice", "email": "ALICE@example.org", "password": "long-enough"}`), 409, fail(e, "user_create",
			`{"name": ["That login name is not available."], "email": ["The email address 'alice@example.org' belongs to a registered user."], "__type": "Validation Error"}`))
		for name, msg := range map[string]string{"x": "Must be at least 2 characters long", "new": "That name cannot be used",
			strings.Repeat("a", 101): "Name must be a maximum of 100 characters long"} {
			want(t, call(t, e, f.admin, "user_create", fmt.Sprintf(`{"name": %q, "email": "n@example.org", "password": "long-enough"}`, name)), 409,
				fail(e, "user_create", fmt.Sprintf(`{"name": [%q], "__type": "Validation Error"}`, msg)))
		}
		want(t, call(t, e, "", "user_create", `{"name": "eve"}`), 403, fail(e, "user_create",
			`{"__type": "Authorization Error", "message": "Access denied: User  not authorized to create users via the API"}`))
		want(t, call(t, e, f.bobKey, "user_create", `{"name": "eve"}`), 403, fail(e, "user_create",
			`{"__type": "Authorization Error", "message": "Access denied: User bob not authorized to create users via the API"}`))
		// Form-encoded, and the legacy form whose only key is the JSON.
		r = e.Do(t, "POST", "/api/3/action/user_create", url.Values{"name": {"erin"}, "email": {"erin@example.org"}, "password": {"erin-pass-1"}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded", "X-CKAN-API-Key", f.admin)
		if r.Status != 200 {
			t.Fatalf("form: %d %s", r.Status, r.Body)
		}
		r = e.Do(t, "POST", "/api/3/action/user_create", url.QueryEscape(`{"name": "finn", "email": "finn@example.org", "password": "finn-pass-1"}`)+"=1",
			"Content-Type", "application/x-www-form-urlencoded", "X-CKAN-API-Key", f.admin)
		if r.Status != 200 || !strings.Contains(r.Body, `"name": "finn"`) {
			t.Fatalf("legacy form: %d %s", r.Status, r.Body)
		}
	})
}

func TestUserUpdateAndPatch(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		want(t, call(t, e, f.aliceKey, "user_update", `{"email": "a@example.org"}`), 409, fail(e, "user_update", `{"id": ["Missing value"], "__type": "Validation Error"}`))
		// Not found comes before authorisation, for everyone.
		want(t, call(t, e, "", "user_update", `{"id": "nobody"}`), 404, fail(e, "user_update", `{"__type": "Not Found Error", "message": "Not found: User was not found."}`))
		want(t, call(t, e, "", "user_update", `{"id": "bob"}`), 403, fail(e, "user_update",
			`{"__type": "Authorization Error", "message": "Access denied: Have to be logged in to edit user"}`))
		want(t, call(t, e, f.aliceKey, "user_update", `{"id": "bob", "email": "x@example.org"}`), 403, fail(e, "user_update",
			fmt.Sprintf(`{"__type": "Authorization Error", "message": "Access denied: User alice not authorized to edit user %s"}`, f.bob.UUID)))
		want(t, call(t, e, f.aliceKey, "user_update", `{"id": "alice"}`), 409, fail(e, "user_update", `{"email": ["Missing value"], "__type": "Validation Error"}`))
		want(t, call(t, e, f.aliceKey, "user_update", `{"id": "alice", "email": "Alice@Example.org", "name": "alicia"}`), 409, fail(e, "user_update",
			`{"name": ["That login name can not be modified."], "__type": "Validation Error"}`))
		// A full replace: what the dict holds and the call leaves out is cleared.
		r := call(t, e, f.aliceKey, "user_update", `{"id": "alice", "email": "alice@example.org", "name": "alice", "fullname": "Alice Two", "password": "new-alice-pass"}`)
		if r.Status != 200 || !strings.Contains(r.Body, `"fullname": "Alice Two", "created"`) || !strings.Contains(r.Body, `"about": null`) {
			t.Fatalf("update: %d %s", r.Status, r.Body)
		}
		if _, err := e.Svc.Login(testkit.Operator(), roster.Credentials{Login: "alice", Password: "new-alice-pass"}, roster.Client{}); err != nil {
			t.Fatalf("the new password does not work: %v", err)
		}
		// A non-sysadmin's sysadmin and state keys are ignored, as CKAN ignores them.
		r = call(t, e, f.aliceKey, "user_update", `{"id": "alice", "email": "alice@example.org", "sysadmin": true, "state": "deleted"}`)
		acct, _ := e.Store.GetAccount(testkit.Operator(), roster.RefID(f.alice.ID))
		if r.Status != 200 || acct.Sysadmin || acct.State != roster.StateActive {
			t.Fatalf("ignored keys: %d %s; stored %+v", r.Status, r.Body, acct)
		}
		// A sysadmin renames and promotes.
		r = call(t, e, f.admin, "user_update", `{"id": "bob", "email": "bob@example.org", "name": "robert", "sysadmin": "True"}`)
		if r.Status != 200 || !strings.Contains(r.Body, `"name": "robert"`) || !strings.Contains(r.Body, `"sysadmin": true`) {
			t.Fatalf("sysadmin update: %d %s", r.Status, r.Body)
		}

		// user_patch: the given keys only; the whole dict CKAN clients send back is fine.
		want(t, call(t, e, "", "user_patch", `{"id": "alice"}`), 403, fail(e, "user_patch",
			`{"__type": "Authorization Error", "message": "Access denied: Action user_patch requires an authenticated user"}`))
		want(t, call(t, e, f.aliceKey, "user_patch", `{"id": "nobody"}`), 403, fail(e, "user_patch", `{"__type": "Authorization Error", "message": "Access denied: User not found"}`))
		want(t, call(t, e, f.admin, "user_patch", `{"id": "nobody"}`), 404, fail(e, "user_patch", `{"__type": "Not Found Error", "message": "Not found"}`))
		show := call(t, e, f.aliceKey, "user_show", `{}`)
		var env struct{ Result map[string]any }
		json.Unmarshal([]byte(show.Body), &env)
		env.Result["about"] = "Patched"
		body, _ := json.Marshal(env.Result)
		r = call(t, e, f.aliceKey, "user_patch", string(body))
		// (fullname is null: the full-replace update above left it out.)
		if r.Status != 200 || !strings.Contains(r.Body, `"fullname": null`) || !strings.Contains(r.Body, `"about": "Patched"`) {
			t.Fatalf("patch with the whole dict: %d %s", r.Status, r.Body)
		}
		r = call(t, e, f.aliceKey, "user_patch", `{"id": "alice", "image_url": "http://img.example.org/a.png"}`)
		if !strings.Contains(r.Body, `"about": "Patched"`) || !strings.Contains(r.Body, `"image_display_url": "http://img.example.org/a.png"`) {
			t.Fatalf("patch: %s", r.Body)
		}
	})
}

func TestUserDelete(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		// Authorisation comes first, even for ids that do not exist.
		want(t, call(t, e, f.bobKey, "user_delete", `{"id": "nobody"}`), 403, fail(e, "user_delete", `{"__type": "Authorization Error", "message": "Access denied"}`))
		want(t, call(t, e, "", "user_delete", `{}`), 403, fail(e, "user_delete",
			`{"__type": "Authorization Error", "message": "Access denied: Action user_delete requires an authenticated user"}`))
		want(t, call(t, e, f.admin, "user_delete", `{}`), 409, fail(e, "user_delete", `{"id": ["Missing value"], "__type": "Validation Error"}`))
		want(t, call(t, e, f.admin, "user_delete", `{"id": "nobody"}`), 404, fail(e, "user_delete", `{"__type": "Not Found Error", "message": "Not found: User \"nobody\" was not found."}`))
		want(t, e.Do(t, "GET", "/api/3/action/user_delete?id=bob", "", "X-CKAN-API-Key", f.admin), 400,
			`"Bad request - JSON Error: Invalid request. Please use POST method for your request"`)
		want(t, call(t, e, f.admin, "user_delete", `{"id": "bob"}`), 200, ok(e, "user_delete", "null"))
		if got := names(t, call(t, e, f.admin, "user_list", `{}`).Body); strings.Contains(strings.Join(got, ","), "bob") {
			t.Fatalf("a deleted user is listed: %v", got)
		}
		if r := call(t, e, f.admin, "user_show", `{"id": "bob"}`); !strings.Contains(r.Body, `"state": "deleted"`) {
			t.Fatalf("a sysadmin sees the deleted user: %s", r.Body)
		}
		// Bob's key stopped working.
		want(t, call(t, e, f.bobKey, "user_show", `{}`), 404, fail(e, "user_show", `{"__type": "Not Found Error", "message": "Not found"}`))
	})
}

func TestUserMetadata(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		edx := func(key, body string) testkit.Reply {
			return e.Do(t, "POST", "/api/3/action/user_metadata", body, "EDX-API-Key", key, "User-Agent", "EDX-USER",
				"Content-Type", "application/json", "Accept", "application/json")
		}
		// The seed page's examples: one user, then three.
		want(t, edx(f.admin, `{"ids": ["alice"], "fields": ["name"]}`), 200, ok(e, "user_metadata", `[{"name": "alice"}]`))
		want(t, edx(f.admin, fmt.Sprintf(`{"ids": ["%d", "%s", "bob"], "fields": ["email", "organization", "orcid"]}`, f.alice.ID, f.bob.UUID)), 200,
			ok(e, "user_metadata", `[{"email": "Alice@Example.org", "organization": "NETL", "orcid": "0000-0001"}, {"email": "bob@example.org", "organization": null, "orcid": null}, {"email": "bob@example.org", "organization": null, "orcid": null}]`))
		// Every column, in the documented order; secrets are write-only, per field.
		r := edx(f.admin, `{"ids": "alice", "fields": "*"}`)
		want(t, r, 200, ok(e, "user_metadata", fmt.Sprintf(`[{"state": "active", "name": "alice", "id": "%s", "apikey": {"write_only": true}, "about": "About \"me\"", `+
			`"password": {"write_only": true}, "fullname": "Alice \u00dcn\u00efcode", "email": "Alice@Example.org", "sysadmin": false, "user_reviewed": false, "poc": null, `+
			`"poc_email": null, "user_deactivated": false, "doe_affiliation": null, "affiliation_type": null, "organization": "NETL", "occupation": null, "phone": null, `+
			`"reason_for_suspension": null, "suspension_automated": null, "duid": null, "orcid": "0000-0001"}]`, f.alice.UUID)))
		// Missing ids are reported in place.
		want(t, edx(f.admin, `{"ids": ["nobody", "alice"], "fields": ["name"]}`), 200, ok(e, "user_metadata",
			`[{"__error": {"__type": "Not Found Error", "message": "Not found: User \"nobody\" was not found.", "id": "nobody"}}, {"name": "alice"}]`))
		// Form-encoded and GET, as EDX scripts send them; `field` as the docs name it.
		r = e.Do(t, "POST", "/api/3/action/user_metadata", url.Values{"ids": {"alice", "bob"}, "field": {"name", "state"}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded", "EDX-API-Key", f.admin)
		want(t, r, 200, ok(e, "user_metadata", `[{"name": "alice", "state": "active"}, {"name": "bob", "state": "active"}]`))
		want(t, e.Do(t, "GET", "/api/action/user_metadata?ids=bob&fields=name", "", "Authorization", f.admin), 200, ok(e, "user_metadata", `[{"name": "bob"}]`))
		// Errors.
		want(t, edx(f.admin, `{}`), 409, fail(e, "user_metadata", `{"ids": ["Missing value"], "fields": ["Missing value"], "__type": "Validation Error"}`))
		want(t, edx(f.admin, `{"ids": ["alice"], "fields": ["name", "shoe_size", "colour"]}`), 409, fail(e, "user_metadata",
			`{"fields": ["Unknown field(s): shoe_size, colour"], "__type": "Validation Error"}`))
		want(t, edx(f.aliceKey, `{"ids": ["alice"], "fields": ["name"]}`), 403, fail(e, "user_metadata", `{"__type": "Authorization Error", "message": "Access denied"}`))
		want(t, edx("", `{"ids": ["alice"], "fields": ["name"]}`), 403, fail(e, "user_metadata",
			`{"__type": "Authorization Error", "message": "Access denied: Action user_metadata requires an authenticated user"}`))
	})
}

func TestRequireEDXUserAgent(t *testing.T) {
	testkit.EnginesWith(t, func(c *server.Config) {
		c.CKAN = ckan.Options{RequireEDXUserAgent: true, SiteURL: "https://edx.example.org/"}
	}, func(t *testing.T, e *testkit.Env) {
		_, admin := e.Account(t, map[string]any{"username": "sysop", "email": "s@example.org", "sysadmin": true})
		r := e.Do(t, "POST", "/api/3/action/user_show", `{}`, "EDX-API-Key", admin, "User-Agent", "python-requests/2.31")
		want(t, r, 403, `{"help": "https://edx.example.org/api/3/action/help_show?name=user_show", "success": false, "error": {"__type": "Authorization Error", "message": "Access denied: this server requires User-Agent: EDX-USER"}}`)
		if r := e.Do(t, "POST", "/api/3/action/user_show", `{}`, "EDX-API-Key", admin, "User-Agent", "EDX-USER"); r.Status != 200 {
			t.Fatalf("with EDX-USER: %d %s", r.Status, r.Body)
		}
	})
}

func TestJSONP(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		// JSONP never authenticates: a page on any site could make the call.
		r := e.Do(t, "GET", "/api/3/action/user_show?id=alice&callback=jQuery3_1.cb$", "", "X-CKAN-API-Key", f.admin)
		if r.Status != 200 || !strings.HasPrefix(r.Body, "jQuery3_1.cb$({") || strings.Contains(r.Body, "Alice@Example.org") ||
			r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("JSONP: %d %s %v", r.Status, r.Body, r.Header)
		}
		// A callback is echoed into a script: anything but a name path is refused.
		for _, cb := range []string{"cb<x>", "alert(1)//", "a..b", "1a", "a b", "", strings.Repeat("a", 129), "x;y"} {
			r := e.Do(t, "GET", "/api/3/action/user_show?id=alice&callback="+url.QueryEscape(cb), "")
			want(t, r, 400, `"Bad request - Invalid callback: a JavaScript function name (letters, digits, _, $ and dots) of at most 128 characters"`)
		}
	})
}
