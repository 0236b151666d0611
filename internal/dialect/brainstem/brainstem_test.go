package brainstem_test

import (
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// fixture: root (id 1, system administrator), alice (id 2, shares her profile with
// signed-in users, owns the group Lab), bob (id 3, private), watcher (id 4, staff).
type fixture struct {
	e                  *testkit.Env
	root, alice, bob   string
	watcher            string
	aliceID, bobID     int64
	lab                int64
	aliceUUID, bobUUID string
}

// shared are the fields a profile shows to signed-in callers under privacy custom.
var shared = []any{"first_name", "last_name", "website", "google_scholar", "orcid", "atlas_preference"}

func setup(t *testing.T, e *testkit.Env) *fixture {
	f := &fixture{e: e}
	_, f.root = e.Account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
	a, alice := e.Account(t, map[string]any{"username": "alice", "email": "alice@example.org", "first_name": "Alice", "last_name": "Adams",
		"privacy": "custom", "shared_fields": shared, "website": "alice.example.org"})
	b, bob := e.Account(t, map[string]any{"username": "bob", "email": "bob@example.org", "first_name": "Bob", "last_name": "Brown"})
	_, f.watcher = e.Account(t, map[string]any{"username": "watcher", "email": "watcher@example.org", "staff": true})
	f.alice, f.bob, f.aliceID, f.bobID, f.aliceUUID, f.bobUUID = alice, bob, a.ID, b.ID, a.UUID, b.UUID
	g, err := e.Svc.CreateGroup(testkit.Operator(), "Lab", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Svc.SetGroupMember(testkit.Operator(), g.ID, roster.RefID(a.ID), roster.GroupOwner); err != nil {
		t.Fatal(err)
	}
	f.lab = g.ID
	return f
}

func (f *fixture) do(t *testing.T, key, method, path, body string) testkit.Reply {
	t.Helper()
	h := []string{"Content-Type", "application/json"}
	if key != "" {
		h = append(h, "Authorization", "Bearer "+key)
	}
	return f.e.Do(t, method, path, body, h...)
}

const (
	aliceFields = `"first_name":"Alice","last_name":"Adams","groups_own_json":[{"id":1,"name":"Lab"}],"website":"http://alice.example.org","google_scholar":"","orcid_id":"","atlas_preference":"AIA"`
	adminFlags  = `"is_superuser":false,"is_project_admin":false,"is_group_admin":false,"is_taxonomies_admin":false,"is_resources_admin":false,"is_attributes_admin":false,"is_contact_form_email_receiver":false`
	aliceSelf   = `{"user":{"id":2,"email":"alice@example.org",` + aliceFields + `}}`
	aliceOthers = `{"user":{"id":2,` + aliceFields + `}}`
	aliceAdmin  = `{"user":{"id":2,"email":"alice@example.org",` + aliceFields + `,` + adminFlags + `}}`
	bobOthers   = `{"user":{"id":3,"groups_own_json":[]}}`
	public2     = `{"user":{"id":2}}`

	noCreds   = `{"detail":"Authentication credentials were not provided."}`
	badToken  = `{"detail":"Invalid token."}`
	forbidden = `{"detail":"You do not have permission to perform this action."}`
	notFound  = `{"detail":"Not found."}`
)

func notAllowed(m string) string { return `{"detail":"Method \"` + m + `\" not allowed."}` }

// Every portal, caller and operation, with its exact status and body.
func TestPortalsCallersOperations(t *testing.T) {
	testkit.Engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		type call struct {
			who, method, path, body string
			status                  int
			want                    string
		}
		keys := map[string]string{"anon": "", "user": f.alice, "other": f.bob, "admin": f.root, "staff": f.watcher, "bad": "rk_forged"}
		calls := []call{
			// Reading one user: the public view to everyone on public, whatever the token.
			{"anon", "GET", "/api/public/users/user/2/", "", 200, public2},
			{"user", "GET", "/api/public/users/user/2/", "", 200, public2},
			{"admin", "GET", "/api/public/users/user/2", "", 200, public2},
			{"bad", "GET", "/api/public/users/user/2/", "", 401, badToken},
			{"anon", "GET", "/api/private/users/user/2/", "", 401, noCreds},
			{"bad", "GET", "/api/private/users/user/2/", "", 401, badToken},
			{"user", "GET", "/api/private/users/user/2/", "", 200, aliceSelf},
			{"user", "GET", "/api/private/users/user/2", "", 200, aliceSelf},
			{"user", "GET", "/api/private/users/user/" + f.aliceUUID + "/", "", 200, aliceSelf},
			{"other", "GET", "/api/private/users/user/2/", "", 200, aliceOthers},
			{"user", "GET", "/api/private/users/user/3/", "", 200, bobOthers},
			{"admin", "GET", "/api/private/users/user/2/", "", 200, aliceAdmin},
			{"anon", "GET", "/api/super/users/user/2/", "", 401, noCreds},
			{"user", "GET", "/api/super/users/user/2/", "", 403, forbidden},
			{"other", "GET", "/api/super/users/user/2/", "", 403, forbidden},
			{"staff", "GET", "/api/super/users/user/2/", "", 200, aliceAdmin},
			{"admin", "GET", "/api/super/users/user/2/", "", 200, aliceAdmin},
			{"admin", "GET", "/api/super/users/user/999/", "", 404, notFound},
			{"admin", "GET", "/api/other/users/user/2/", "", 404, notFound},
			// Registration is the sign-up form's.
			{"anon", "POST", "/api/public/users/user/", `{"email":"x@example.org"}`, 405, notAllowed("POST")},
			{"anon", "POST", "/api/private/users/user/", `{"email":"x@example.org"}`, 401, noCreds},
			{"user", "POST", "/api/private/users/user/", `{"email":"x@example.org"}`, 405, notAllowed("POST")},
			{"admin", "POST", "/api/super/users/user", `{"email":"x@example.org"}`, 405, notAllowed("POST")},
			// Changes: not on public; one's own, or any as a system administrator.
			{"anon", "PATCH", "/api/public/users/user/2/", `{"website":"x.org"}`, 405, notAllowed("PATCH")},
			{"user", "PATCH", "/api/public/users/user/2/", `{"website":"x.org"}`, 405, notAllowed("PATCH")},
			{"anon", "PATCH", "/api/private/users/user/2/", `{"website":"x.org"}`, 401, noCreds},
			{"other", "PATCH", "/api/private/users/user/2/", `{"website":"x.org"}`, 403, forbidden},
			{"staff", "PATCH", "/api/super/users/user/2/", `{"website":"x.org"}`, 403, forbidden},
			{"other", "PATCH", "/api/private/users/user/999/", `{"website":"x.org"}`, 404, notFound},
			{"user", "PATCH", "/api/private/users/user/2/", `{"website":"www.someweb.com"}`, 200,
				strings.Replace(aliceSelf, "http://alice.example.org", "http://www.someweb.com", 1)},
			{"admin", "PATCH", "/api/super/users/user/2/", `{"website":"alice.example.org"}`, 200, aliceAdmin},
			// Deleting: system administrators only, never on public.
			{"anon", "DELETE", "/api/public/users/user/3/", "", 405, notAllowed("DELETE")},
			{"admin", "DELETE", "/api/public/users/user/3/", "", 405, notAllowed("DELETE")},
			{"anon", "DELETE", "/api/private/users/user/3/", "", 401, noCreds},
			{"user", "DELETE", "/api/private/users/user/3/", "", 403, forbidden},
			{"other", "DELETE", "/api/private/users/user/3/", "", 403, forbidden},
			{"staff", "DELETE", "/api/super/users/user/3/", "", 403, forbidden},
			{"admin", "DELETE", "/api/super/users/user/999/", "", 404, notFound},
			{"admin", "PUT", "/api/super/users/user/2/", `{}`, 405, notAllowed("PUT")},
		}
		for _, c := range calls {
			r := f.do(t, keys[c.who], c.method, c.path, c.body)
			if r.Status != c.status || r.Body != c.want {
				t.Errorf("%s %s as %s: %d %s\nwant %d %s", c.method, c.path, c.who, r.Status, r.Body, c.status, c.want)
			}
			if r.Status == 401 && r.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
				t.Errorf("%s %s as %s: WWW-Authenticate %q", c.method, c.path, c.who, r.Header.Get("WWW-Authenticate"))
			}
		}
	})
}

// A PATCH reports every invalid field at once, by BrainSTEM's names, and saves nothing.
func TestPatchValidation(t *testing.T) {
	testkit.Engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		long := func(n int) string { return strings.Repeat("x", n) }
		r := f.do(t, f.alice, "PATCH", "/api/private/users/user/2/", fmt.Sprintf(`{"website": "%s", "google_scholar": "%s", "orcid_id": "%s", "atlas_preference": "ABCDEFGH", "email": "not-an-address", "first_name": 7}`,
			"a.org/"+long(200), long(201), long(101)))
		var got map[string][]string
		if r.Status != 400 || json.Unmarshal([]byte(r.Body), &got) != nil {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
		want := map[string]string{"website": "Ensure this field has no more than 200 characters.", "google_scholar": "Ensure this field has no more than 200 characters.",
			"orcid_id": "Ensure this field has no more than 100 characters.", "atlas_preference": "Ensure this field has no more than 7 characters.",
			"email": "Enter a valid email address.", "first_name": "Not a valid string."}
		for k, msg := range want {
			if len(got[k]) != 1 || got[k][0] != msg {
				t.Errorf("%s: %v, want %q (body %s)", k, got[k], msg, r.Body)
			}
		}
		if len(got) != len(want) {
			t.Errorf("fields %v", got)
		}
		if r := f.do(t, f.alice, "GET", "/api/private/users/user/2/", ""); r.Body != aliceSelf {
			t.Errorf("saved something: %s", r.Body)
		}
		// A taken address.
		r = f.do(t, f.alice, "PATCH", "/api/private/users/user/2/", `{"email": "BOB@example.org"}`)
		if r.Status != 400 || r.Body != `{"email":["user with this email address already exists."]}` {
			t.Errorf("taken email: %d %s", r.Status, r.Body)
		}
		// Keys that are no field of the caller's view are ignored: id, groups_own_json,
		// unknown keys, and the admin-only flags for a non-administrator.
		r = f.do(t, f.alice, "PATCH", "/api/private/users/user/2/", `{"id": 99, "groups_own_json": [], "nonsense": 1, "is_superuser": true}`)
		if r.Status != 200 || r.Body != aliceSelf {
			t.Errorf("ignored keys: %d %s", r.Status, r.Body)
		}
		// An administrator sets them.
		r = f.do(t, f.root, "PATCH", "/api/super/users/user/2/", `{"is_group_admin": true}`)
		if r.Status != 200 || !strings.Contains(r.Body, `"is_group_admin":true`) {
			t.Errorf("admin flag: %d %s", r.Status, r.Body)
		}
		// The last administrator stays one.
		r = f.do(t, f.root, "PATCH", "/api/super/users/user/1/", `{"is_superuser": false}`)
		if r.Status != 400 || r.Body != `{"is_superuser":["This is the last active system administrator; appoint another one first."]}` {
			t.Errorf("last administrator: %d %s", r.Status, r.Body)
		}
		// Bodies that are no JSON object, or not JSON.
		for body, want := range map[string]string{
			`[1]`:        `{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}`,
			`{"email": `: `{"detail":"JSON parse error - The request body is not valid JSON: unexpected EOF."}`,
		} {
			if r := f.do(t, f.alice, "PATCH", "/api/private/users/user/2/", body); r.Status != 400 || r.Body != want {
				t.Errorf("%s: %d %s", body, r.Status, r.Body)
			}
		}
		r = e.Do(t, "PATCH", "/api/private/users/user/2/", "website=x", "Authorization", "Bearer "+f.alice, "Content-Type", "application/x-www-form-urlencoded")
		if r.Status != 415 || r.Body != `{"detail":"Unsupported media type \"application/x-www-form-urlencoded\" in request."}` {
			t.Errorf("form body: %d %s", r.Status, r.Body)
		}
	})
}

// DELETE is a soft delete: 204 without a body; then every portal answers 404 for the
// user to everyone, administrators included; the groups it owned alone go to a member.
func TestDelete(t *testing.T) {
	testkit.Engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		g, err := e.Svc.CreateGroup(testkit.Operator(), "Bobs", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Svc.SetGroupMember(testkit.Operator(), g.ID, roster.RefID(f.bobID), roster.GroupOwner); err != nil {
			t.Fatal(err)
		}
		if err := e.Svc.SetGroupMember(testkit.Operator(), g.ID, roster.RefID(f.aliceID), roster.GroupMember); err != nil {
			t.Fatal(err)
		}
		r := f.do(t, f.root, "DELETE", "/api/private/users/user/3/", "")
		if r.Status != 204 || r.Body != "" || r.Header.Get("Content-Type") != "" {
			t.Fatalf("delete: %d %q %v", r.Status, r.Body, r.Header)
		}
		for _, key := range []string{"", f.alice, f.watcher, f.root} {
			for _, portal := range []string{"public", "private", "super"} {
				for _, ref := range []string{"3", f.bobUUID, "bob"} {
					r := f.do(t, key, "GET", "/api/"+portal+"/users/user/"+ref+"/", "")
					if r.Status/100 != 4 || r.Status != 404 && r.Status != 401 && r.Status != 403 {
						t.Errorf("%s %s: %d %s", portal, ref, r.Status, r.Body)
					}
					if (key != "" || portal == "public") && (portal != "super" || key == f.root || key == f.watcher) && r.Body != notFound {
						t.Errorf("%s %s by %q: %d %s, want 404", portal, ref, key, r.Status, r.Body)
					}
				}
			}
		}
		for _, m := range []string{"PATCH", "DELETE"} {
			if r := f.do(t, f.root, m, "/api/super/users/user/3/", `{}`); r.Status != 404 || r.Body != notFound {
				t.Errorf("%s of a deleted user: %d %s", m, r.Status, r.Body)
			}
		}
		r = f.do(t, f.root, "GET", "/api/super/users/user/?filter{id}=3", "")
		if !strings.HasPrefix(r.Body, `{"users":[],"count":0,`) {
			t.Errorf("list: %s", r.Body)
		}
		r = f.do(t, f.alice, "GET", "/api/private/users/user/2/", "")
		if !strings.Contains(r.Body, `"groups_own_json":[{"id":1,"name":"Lab"},{"id":2,"name":"Bobs"}]`) {
			t.Errorf("Bobs not handed to alice: %s", r.Body)
		}
		// Deleting the last administrator is refused.
		r = f.do(t, f.root, "DELETE", "/api/super/users/user/1/", "")
		if r.Status != 400 || !strings.HasPrefix(r.Body, `{"is_superuser":[`) {
			t.Errorf("last administrator: %d %s", r.Status, r.Body)
		}
	})
}

// bulk imports n users fast: u0000…, half of them sharing their profile.
func bulk(t *testing.T, e *testkit.Env, n int) {
	rows := func(yield func(roster.ImportRow, error) bool) {
		for i := range n {
			v := map[string]any{"username": fmt.Sprintf("u%04d", i), "email": fmt.Sprintf("u%04d@bulk.example.org", i),
				"first_name": fmt.Sprintf("First%04d", i), "last_name": fmt.Sprintf("Last%04d", n-1-i), "privacy": "private",
				"atlas_preference": []string{"AIA", "WHS", "DSURQE"}[i%3]}
			if i%2 == 0 {
				v["privacy"], v["shared_fields"] = "custom", shared
			}
			if i%10 == 0 {
				v["orcid"] = fmt.Sprintf("0000-0002-%04d", i)
			}
			if !yield(roster.ImportRow{Line: i + 1, Values: v}, nil) {
				return
			}
		}
	}
	if _, err := e.Svc.ImportAccounts(testkit.Operator(), iter.Seq2[roster.ImportRow, error](rows), roster.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
}

type listBody struct {
	Users []map[string]any `json:"users"`
	Count int              `json:"count"`
	Next  *string          `json:"next"`
	Prev  *string          `json:"previous"`
	Meta  struct {
		TotalResults int `json:"total_results"`
		TotalPages   int `json:"total_pages"`
		Page         int `json:"page"`
		PerPage      int `json:"per_page"`
	} `json:"meta"`
}

func (f *fixture) list(t *testing.T, key, portal, query string) listBody {
	t.Helper()
	r := f.do(t, key, "GET", "/api/"+portal+"/users/user/?"+query, "")
	var b listBody
	if r.Status != 200 || json.Unmarshal([]byte(r.Body), &b) != nil {
		t.Fatalf("%s: %d %.300s", query, r.Status, r.Body)
	}
	if !strings.HasPrefix(r.Body, `{"users":`) {
		t.Fatalf("users is not the first key: %.100s", r.Body)
	}
	return b
}

// Filters (every lookup, negated too), orders and pages, over a few thousand users.
func TestListQueries(t *testing.T) {
	testkit.Engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		const n = 3000
		bulk(t, e, n)
		total := n + 4
		b := f.list(t, f.root, "super", "")
		if b.Count != total || len(b.Users) != 20 || b.Prev != nil || b.Next == nil || b.Meta.TotalResults != total ||
			b.Meta.TotalPages != (total+19)/20 || b.Meta.Page != 1 || b.Meta.PerPage != 20 {
			t.Errorf("first page: count %d, %d users, meta %+v", b.Count, len(b.Users), b.Meta)
		}
		// Following next to the end visits every user once (limit 100: the largest page).
		seen := map[float64]bool{}
		next := "/api/super/users/user/?limit=500"
		for pages := 0; next != ""; pages++ {
			if pages > total/100+1 {
				t.Fatal("too many pages")
			}
			u, _ := url.Parse(next)
			r := f.do(t, f.root, "GET", u.RequestURI(), "")
			var b listBody
			if err := json.Unmarshal([]byte(r.Body), &b); err != nil || r.Status != 200 || len(b.Users) > 100 || b.Meta.PerPage != 100 {
				t.Fatalf("%s: %d %.200s", next, r.Status, r.Body)
			}
			for _, u := range b.Users {
				id := u["id"].(float64)
				if seen[id] {
					t.Fatalf("user %v twice", id)
				}
				seen[id] = true
			}
			next = ""
			if b.Next != nil {
				next = *b.Next
			}
		}
		if len(seen) != total {
			t.Errorf("%d users seen, want %d", len(seen), total)
		}
		b = f.list(t, f.root, "super", "limit=10&offset=30")
		if *b.Prev != "http://"+strings.TrimPrefix(e.URL, "http://")+"/api/super/users/user/?limit=10&offset=20" || b.Meta.Page != 4 || b.Users[0]["id"].(float64) != 31 {
			t.Errorf("offset page: prev %v, meta %+v, first %v", *b.Prev, b.Meta, b.Users[0]["id"])
		}
		// Every lookup the list takes, plain and negated, percent-encoded and raw.
		count := func(q string) int { return f.list(t, f.root, "super", q).Count }
		cases := []struct {
			q    string
			want int
		}{
			{"filter{first_name}=First0042", 1},
			{"filter{first_name.exact}=First0042", 1},
			{"filter{first_name.iexact}=first0042", 1},
			{"filter{first_name.startswith}=First004", 10},
			{"filter{first_name.istartswith}=first004", 10},
			{"filter{first_name.endswith}=042", 3},
			{"filter{first_name.iendswith}=ST0042", 1},
			{"filter{first_name.icontains}=RST004", 10},
			{"filter{first_name.in}=First0001,First0002,nobody", 2},
			{"filter{first_name.in}=First0001&filter{first_name.in}=First0002", 2},
			{"filter{first_name.isnull}=true", 2}, // root and watcher, who have no name
			{"filter{id.gt}=3000", 4},
			{"filter{id.gte}=3000", 5},
			{"filter{id.lt}=3", 2},
			{"filter{id.lte}=3", 3},
			{"filter{id.range}=10,19", 10},
			{"filter{email.icontains}=BULK.example", n},
			{"filter{orcid_id.startswith}=0000-0002", n / 10},
			{"filter{atlas_preference}=WHS", n / 3},
			{"filter{atlas_preference.in}=WHS,DSURQE", 2 * n / 3},
			{"filter{is_superuser}=true", 1},
			{"filter{-is_superuser}=true", total - 1},
			{"filter{-first_name.startswith}=First", total - n},
			{"filter{-id.in}=1,2,3", total - 3},
			{"filter{first_name.startswith}=First00&filter{last_name.endswith}=9", 10},
			{"filter%7Bfirst_name.istartswith%7D=first004", 10},
			{"filter%7B-id.gt%7D=10&include%5B%5D=groups.%2A&format=json", 10},
		}
		for _, c := range cases {
			if got := count(c.q); got != c.want {
				t.Errorf("%s: %d, want %d", c.q, got, c.want)
			}
		}
		// Orders: each sort[] in turn, id breaks ties (more in TestListSortKeys).
		b = f.list(t, f.root, "super", "sort[]=-last_name&sort[]=email&filter{email.icontains}=bulk&limit=3")
		if got := fmt.Sprintln(b.Users[0]["last_name"], b.Users[1]["last_name"], b.Users[2]["last_name"]); got != "Last2999 Last2998 Last2997\n" {
			t.Errorf("sort[]=-last_name: %s", got)
		}
		b = f.list(t, f.root, "super", "sort%5B%5D=last_name&filter%7Bemail.icontains%7D=bulk&limit=1")
		if b.Users[0]["first_name"] != "First2999" {
			t.Errorf("sort[]=last_name: %v", b.Users[0])
		}
		b = f.list(t, f.root, "super", "sort[]=-id&limit=1")
		if b.Users[0]["id"].(float64) != float64(total) {
			t.Errorf("sort[]=-id: %v", b.Users[0]["id"])
		}
		// Refusals name the field.
		bad := map[string]string{
			"filter{nonsense}=1":           `{"error":"Invalid filter parameter","detail":"Field 'nonsense' does not exist on model 'User'"}`,
			"filter{groups.name}=x":        `{"error":"Invalid filter parameter","detail":"Field 'groups.name' does not exist on model 'User'"}`,
			"filter{email.contains}=x":     `{"error":"Invalid filter parameter","detail":"Lookup 'contains' is not supported for field 'email': use icontains"}`,
			"filter{is_superuser.gt}=x":    `{"error":"Invalid filter parameter","detail":"Lookup 'gt' is not supported for field 'is_superuser'"}`,
			"filter{groups_own_json}=x":    `{"error":"Invalid filter parameter","detail":"Field 'groups_own_json' does not exist on model 'User'"}`,
			"filter{id}=abc":               `{"error":"Invalid filter parameter","detail":"Invalid value for field 'id': id takes whole numbers."}`,
			"sort[]=nonsense":              `{"error":"Invalid sort parameter","detail":"Field 'nonsense' does not exist on model 'User'"}`,
			"sort[]=-is_superuser":         `{"error":"Invalid sort parameter","detail":"Field 'is_superuser' cannot be sorted"}`,
			"filter{first_name.range}=a,b": `{"error":"Invalid filter parameter","detail":"Lookup 'range' is not supported for field 'first_name'"}`,
		}
		for q, want := range bad {
			if r := f.do(t, f.root, "GET", "/api/super/users/user/?"+q, ""); r.Status != 400 || r.Body != want {
				t.Errorf("%s: %d %s\nwant %s", q, r.Status, r.Body, want)
			}
		}
	})
}

// A filter or an order uses a value only where the caller may read it: through a field
// hidden from it, a caller finds nothing, and a field it can read of no account is not
// a field of its view.
func TestHiddenFieldsFindNothing(t *testing.T) {
	testkit.Engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		bulk(t, e, 40)
		count := func(key, portal, q string) int { return f.list(t, key, portal, q).Count }
		// bob reads his own email only.
		if n := count(f.bob, "private", "filter{email}=alice@example.org"); n != 0 {
			t.Errorf("bob finds alice by email: %d", n)
		}
		if n := count(f.bob, "private", "filter{email}=bob@example.org"); n != 1 {
			t.Errorf("bob by his own email: %d", n)
		}
		if n := count(f.bob, "private", "filter{email.icontains}=bulk"); n != 0 {
			t.Errorf("bob finds bulk users by email: %d", n)
		}
		// Private profiles' names are found by no one else; shared ones are.
		if n := count(f.alice, "private", "filter{first_name.startswith}=First"); n != 20 {
			t.Errorf("alice by first_name: %d, want the 20 shared", n)
		}
		if n := count(f.alice, "private", "filter{-first_name.startswith}=First"); n != 1 { // alice: others' names are hidden or none
			t.Errorf("alice by a negated first_name: %d", n)
		}
		if n := count(f.root, "super", "filter{first_name.startswith}=First"); n != 40 {
			t.Errorf("root by first_name: %d", n)
		}
		if n := count(f.alice, "private", "filter{first_name}=Bob"); n != 0 {
			t.Errorf("alice finds private bob by name: %d", n)
		}
		// Sorting by a name places those whose name is hidden as if they had none.
		b := f.list(t, f.alice, "private", "sort[]=-first_name&limit=1")
		if b.Users[0]["first_name"] != "First0038" {
			t.Errorf("alice's order by -first_name starts with %v", b.Users[0])
		}
		// The public view: an email is no field of it (no owner can show it to everyone);
		// a name is found only where its owner shows it to everyone (public_fields).
		r := f.do(t, "", "GET", "/api/public/users/user/?filter{email}=bob@example.org", "")
		if r.Status != 400 || r.Body != `{"error":"Invalid filter parameter","detail":"Field 'email' does not exist on model 'User'"}` {
			t.Errorf("public filter{email}: %d %s", r.Status, r.Body)
		}
		if n := count("", "public", "filter{first_name.startswith}=First"); n != 0 {
			t.Errorf("anonymous finds %d names no one shows to everyone", n)
		}
		if _, err := e.Svc.MergeAccount(testkit.Operator(), roster.AccountRef{Username: "u0007"},
			map[string]any{"privacy": "all_users", "public_fields": []any{"first_name"}}, roster.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Svc.MergeAccount(testkit.Operator(), roster.AccountRef{Username: "u0008"}, // private: public_fields has no effect
			map[string]any{"privacy": "private", "public_fields": []any{"first_name"}}, roster.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		pub := f.list(t, "", "public", "filter{first_name.startswith}=First")
		if pub.Count != 1 || pub.Users[0]["first_name"] != "First0007" {
			t.Errorf("anonymous by a publicly shown first_name: %d %v", pub.Count, pub.Users)
		}
		for user, want := range map[string]string{"u0007": `"first_name":"First0007"`, "u0008": ""} {
			r := f.do(t, "", "GET", "/api/public/users/user/"+user+"/", "")
			if r.Status != 200 || (want != "" && !strings.Contains(r.Body, want)) || (want == "" && strings.Contains(r.Body, "first_name")) {
				t.Errorf("public view of %s: %d %s", user, r.Status, r.Body)
			}
		}
		// A hidden name matches neither a filter nor its negation: the one name shown
		// starts with First, so the negation finds no one.
		if b := f.list(t, "", "public", "filter{-first_name.startswith}=First&limit=100"); b.Count != 0 {
			t.Errorf("anonymous by a negated first_name: %d %v", b.Count, b.Users)
		}
		// Admin-only fields are no fields of a non-administrator's view.
		r = f.do(t, f.alice, "GET", "/api/private/users/user/?filter{is_superuser}=true", "")
		if r.Status != 400 || r.Body != `{"error":"Invalid filter parameter","detail":"Field 'is_superuser' does not exist on model 'User'"}` {
			t.Errorf("alice by is_superuser: %d %s", r.Status, r.Body)
		}
		r = f.do(t, "", "GET", "/api/public/users/user/?sort[]=email", "")
		if r.Status != 400 || r.Body != `{"error":"Invalid sort parameter","detail":"You may not sort by this field"}` {
			t.Errorf("public sort by email: %d %s", r.Status, r.Body)
		}
	})
}

// Every sort[] key orders, in turn, what the keys before it leave tied; id breaks the
// ties left.
func TestListSortKeys(t *testing.T) {
	testkit.Engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		for i, email := range []string{"c@tie.example.org", "a@tie.example.org", "b@tie.example.org"} {
			e.Account(t, map[string]any{"username": fmt.Sprintf("tie%d", i), "email": email, "last_name": "Tie"})
		}
		e.Account(t, map[string]any{"username": "zed", "email": "z@tie.example.org", "last_name": "Adams"})
		emails := func(q string) string {
			t.Helper()
			var out []string
			for _, u := range f.list(t, f.root, "super", q+"&filter{email.icontains}=tie.example").Users {
				out = append(out, u["email"].(string))
			}
			return strings.Join(out, " ")
		}
		for q, want := range map[string]string{
			"sort[]=-last_name&sort[]=email":                  "a@tie.example.org b@tie.example.org c@tie.example.org z@tie.example.org",
			"sort%5B%5D=-last_name&sort%5B%5D=email":          "a@tie.example.org b@tie.example.org c@tie.example.org z@tie.example.org",
			"sort[]=-last_name,-email":                        "c@tie.example.org b@tie.example.org a@tie.example.org z@tie.example.org",
			"sort[]=last_name&sort[]=-email":                  "z@tie.example.org c@tie.example.org b@tie.example.org a@tie.example.org",
			"sort[]=-last_name":                               "b@tie.example.org a@tie.example.org c@tie.example.org z@tie.example.org", // ties by id, descending too
			"sort[]=-last_name&sort[]=id":                     "c@tie.example.org a@tie.example.org b@tie.example.org z@tie.example.org",
			"sort[]=-last_name&sort[]=email&limit=2&offset=1": "b@tie.example.org c@tie.example.org",
		} {
			if got := emails(q); got != want {
				t.Errorf("%s: %s\nwant %s", q, got, want)
			}
		}
		// A later key is refused as the first is.
		if r := f.do(t, f.root, "GET", "/api/super/users/user/?sort[]=last_name&sort[]=nonsense", ""); r.Status != 400 ||
			r.Body != `{"error":"Invalid sort parameter","detail":"Field 'nonsense' does not exist on model 'User'"}` {
			t.Errorf("a later unknown key: %d %s", r.Status, r.Body)
		}
	})
}
