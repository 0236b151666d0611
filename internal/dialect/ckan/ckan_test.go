package ckan_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

func engines(t *testing.T, fn func(t *testing.T, e *testkit.Env)) {
	testkit.Engines(t, fn)
}

// ckanapi's request: POST /api/action/NAME, JSON, the key in two headers, its UA.
func call(t *testing.T, e *testkit.Env, key, action, body string) testkit.Reply {
	t.Helper()
	h := []string{"Content-Type", "application/json", "User-Agent", "ckanapi/4.11 (+https://github.com/ckan/ckanapi)"}
	if key != "" {
		h = append(h, "X-CKAN-API-Key", key, "Authorization", key)
	}
	return e.Do(t, "POST", "/api/action/"+action, body, h...)
}

func help(e *testkit.Env, action string) string {
	return e.URL + "/api/3/action/help_show?name=" + action
}

func want(t *testing.T, r testkit.Reply, status int, body string) {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Fatalf("got %d %s\nwant %d %s", r.Status, r.Body, status, body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
}

func ok(e *testkit.Env, action, result string) string {
	return fmt.Sprintf(`{"help": "%s", "success": true, "result": %s}`, help(e, action), result)
}

func fail(e *testkit.Env, action, errObj string) string {
	return fmt.Sprintf(`{"help": "%s", "success": false, "error": %s}`, help(e, action), errObj)
}

func iso(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() < 1000 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// fixture makes a sysadmin, a user with a public profile, and a private one.
type fixture struct {
	admin, aliceKey, bobKey string
	alice, bob              *roster.Record
}

func setup(t *testing.T, e *testkit.Env) fixture {
	var f fixture
	_, f.admin = e.Account(t, map[string]any{"username": "sysop", "email": "sysop@example.org", "sysadmin": true, "name": "Sys Op"})
	f.alice, f.aliceKey = e.Account(t, map[string]any{"username": "alice", "email": "Alice@Example.org", "name": "Alice Ünïcode",
		"bio": "About \"me\"", "privacy": "all_users", "password": "alice-pass-1", "organization": "NETL", "orcid": "0000-0001"})
	f.bob, f.bobKey = e.Account(t, map[string]any{"username": "bob", "email": "bob@example.org", "password": "bob-pass-12"})
	return f
}

func TestRouting(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		for _, p := range []string{"/api", "/api/3"} {
			want(t, e.Do(t, "GET", p, ""), 200, `{"version": 3}`)
		}
		if r := e.Do(t, "POST", "/api/2/action/user_show", "{}"); r.Status != 404 {
			t.Fatalf("/api/2: %d", r.Status)
		}
		if r := e.Do(t, "PUT", "/api/3/action/user_show", "{}"); r.Status != 405 {
			t.Fatalf("PUT: %d", r.Status)
		}
		want(t, call(t, e, "", "nope", "{}"), 400, `"Bad request - Action name not known: nope"`)
		want(t, e.Do(t, "GET", "/api/3/action/user_create?name=x", ""), 400,
			`"Bad request - JSON Error: Invalid request. Please use POST method for your request"`)
		want(t, call(t, e, "", "user_show", "[1, \"a\"]"), 400,
			`"Bad request - JSON Error: Request data JSON decoded to [1, 'a'] but it needs to be a dictionary."`)
		if r := call(t, e, "", "user_show", "{bad"); r.Status != 400 || !strings.HasPrefix(r.Body, `"Bad request - JSON Error: Error decoding JSON data.`) {
			t.Fatalf("bad JSON: %d %s", r.Status, r.Body)
		}
	})
}

func TestUserShow(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		created, _ := f.alice.Get("created")
		full := fmt.Sprintf(`{"id": "%s", "name": "alice", "fullname": "Alice \u00dcn\u00efcode", "created": "%s", "about": "About \"me\"", "last_active": null, `+
			`"activity_streams_email_notifications": false, "sysadmin": false, "state": "active", "image_url": null, `+
			// Every other attribute with a CKAN name follows, in schema order: EDX's fields.
			`"user_deactivated": false, "phone": null, "organization": "NETL", "occupation": null, "poc": null, "poc_email": null, `+
			`"doe_affiliation": null, "affiliation_type": null, "user_reviewed": false, "reason_for_suspension": null, "suspension_automated": null, `+
			`"duid": null, "orcid": "0000-0001", "display_name": "Alice \u00dcn\u00efcode", `+
			`"email_hash": "%s", "number_created_packages": 0, "apikey": null, "email": "Alice@Example.org", "image_display_url": null}`,
			f.alice.UUID, iso(created.(time.Time)), md5hex("alice@example.org"))
		// By name, id and UUID, as a sysadmin and as the owner (also with no id at all).
		// The staff-level attributes (sysadmin, EDX's review fields) are not the owner's.
		own := strings.NewReplacer(`"sysadmin": false, `, "", `"user_reviewed": false, "reason_for_suspension": null, "suspension_automated": null, `, "").Replace(full)
		for _, c := range []struct{ key, body, want string }{
			{f.admin, `{"id": "alice"}`, full}, {f.admin, fmt.Sprintf(`{"id": "%d"}`, f.alice.ID), full},
			{f.admin, fmt.Sprintf(`{"id": "%s"}`, f.alice.UUID), full},
			{f.aliceKey, `{"id": "alice"}`, own}, {f.aliceKey, `{}`, own},
		} {
			want(t, call(t, e, c.key, "user_show", c.body), 200, ok(e, "user_show", c.want))
		}
		// Others see what alice shares (all_users): no email, no state, no roles.
		want(t, call(t, e, f.bobKey, "user_show", `{"id": "alice"}`), 200, ok(e, "user_show", fmt.Sprintf(
			`{"id": "%s", "name": "alice", "created": "%s", "about": "About \"me\"", "image_url": null, "orcid": "0000-0001", "display_name": "alice", "number_created_packages": 0, "image_display_url": null}`,
			f.alice.UUID, iso(created.(time.Time)))))
		// GET, as ckanapi's get_only sends it, anonymously, of a private user.
		want(t, e.Do(t, "GET", "/api/3/action/user_show?id=bob", ""), 200, ok(e, "user_show", fmt.Sprintf(
			`{"id": "%s", "name": "bob", "display_name": "bob", "number_created_packages": 0}`, f.bob.UUID)))
		want(t, call(t, e, f.admin, "user_show", `{"id": "nobody"}`), 404, fail(e, "user_show", `{"__type": "Not Found Error", "message": "Not found"}`))
		want(t, call(t, e, "", "user_show", `{}`), 404, fail(e, "user_show", `{"__type": "Not Found Error", "message": "Not found"}`))
		r := call(t, e, f.admin, "user_show", `{"id": "alice", "include_datasets": true, "include_num_followers": "true"}`)
		if !strings.HasSuffix(r.Body, `"datasets": [], "num_followers": 0}}`) {
			t.Fatalf("include_*: %s", r.Body)
		}
	})
}

func TestKeyHeaders(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		for _, h := range [][]string{{"X-CKAN-API-Key", f.aliceKey}, {"EDX-API-Key", f.aliceKey}, {"Authorization", f.aliceKey}, {"Authorization", "Bearer " + f.aliceKey}} {
			r := e.Do(t, "POST", "/api/3/action/user_show", `{}`, h[0], h[1], "Content-Type", "application/json")
			if r.Status != 200 || !strings.Contains(r.Body, `"name": "alice"`) {
				t.Fatalf("%s: %d %s", h[0], r.Status, r.Body)
			}
		}
		// A bad key is an anonymous caller: CKAN's 403, never a 401.
		want(t, call(t, e, "rk_bad", "user_delete", `{"id": "bob"}`), 403, fail(e, "user_delete",
			`{"__type": "Authorization Error", "message": "Access denied: Action user_delete requires an authenticated user"}`))
	})
}

// md5hex is CKAN's email_hash: md5 of the email, trimmed and lower-cased.
func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
