package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/api"
	"github.com/rosterhq/roster/internal/roster"
	httpserver "github.com/rosterhq/roster/internal/server"
	"github.com/rosterhq/roster/internal/testkit"
)

// plain decodes raw JSON into plain Go values (float64 numbers), for exact comparison
// with an expectation put through the same decoding.
func plain(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return v
}

// canon puts v through JSON, so that it compares equal to what plain decodes.
func canon(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return plain(t, b)
}

func wantJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// listed returns the array under key in a list response, as plain values.
func listed(t *testing.T, r reply, key string) []map[string]any {
	t.Helper()
	body, _ := plain(t, r.raw).(map[string]any)
	items, isList := body[key].([]any)
	if !isList || len(body) != 1 {
		t.Fatalf("not {%q: [...]}: %s", key, r.raw)
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	return out
}

// apiError is an error body as plain values: code, message, fields and problems.
func apiError(t *testing.T, r reply) map[string]any {
	t.Helper()
	e, _ := plain(t, r.raw).(map[string]any)["error"].(map[string]any)
	if e == nil {
		t.Fatalf("not an error: %s", r.raw)
	}
	return e
}

// wantError checks an error body exactly: its code, message, and (when problems is not
// nil) its problems, each {field, code, message[, line]}, and fields (the first
// message per field).
func wantError(t *testing.T, r reply, code, message string, problems []map[string]any) {
	t.Helper()
	e := apiError(t, r)
	want := map[string]any{"code": code, "message": message}
	if problems != nil {
		fields := map[string]any{}
		for _, p := range problems {
			if _, seen := fields[p["field"].(string)]; !seen {
				fields[p["field"].(string)] = p["message"]
			}
		}
		want["fields"], want["problems"] = fields, problems
	}
	wantJSON(t, "error", e, canon(t, want))
}

func problem(field, code, message string, line int) map[string]any {
	p := map[string]any{"field": field, "code": code, "message": message}
	if line != 0 {
		p["line"] = line
	}
	return p
}

// rights is every right at 0 but those given.
func rights(set map[string]int) map[string]int {
	out := make(map[string]int, roster.NumRights)
	for _, d := range roster.ProjectRights {
		out[d.Name] = set[d.Name]
	}
	return out
}

// memberAt splits a member doc's added_at off, checking it is a time in [from, to].
func memberAt(t *testing.T, m map[string]any, from, to time.Time) map[string]any {
	t.Helper()
	s, _ := m["added_at"].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || at.Before(from) || at.After(to) {
		t.Fatalf("added_at %q is not between %s and %s (%v)", s, from, to, err)
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k != "added_at" {
			out[k] = v
		}
	}
	return out
}

// oneMember reads a member as one member is shown (GET or PUT of
// /v1/projects/{id}/members/{username}), checks the DAGs it may switch among, and returns
// the rest, as the members list shows it.
func oneMember(t *testing.T, raw []byte, dagSwitch []string) map[string]any {
	t.Helper()
	m, _ := plain(t, raw).(map[string]any)
	if dagSwitch == nil {
		dagSwitch = []string{}
	}
	wantJSON(t, "dag_switch", m["dag_switch"], canon(t, dagSwitch))
	delete(m, "dag_switch")
	return m
}

func usernames(ms []map[string]any) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i], _ = m["username"].(string)
	}
	return out
}

var (
	projectToken = regexp.MustCompile(`^[0-9A-F]{32}$`)
	roleName     = regexp.MustCompile(`^U-[1-9]{3}[34789ACDEFHJKLMNPRTWXY]{7}$`)
)

const (
	msgUsersExport = "You need the User Rights right (full or read-only) in this project."
	msgUsersImport = "You need full User Rights in this project to change its members."
)

func TestProjects(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		start := time.Now().Add(-time.Second)
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		padmin := s.account(t, map[string]any{"username": "padmin", "email": "padmin@example.org", "project_admin": true})
		aliceRec, alice := s.Account(t, map[string]any{"username": "alice", "email": "alice@example.org", "first_name": "Alice", "last_name": "Smith"})
		bob := s.account(t, map[string]any{"username": "bob", "email": "bob@example.org"})
		outsider := s.account(t, map[string]any{"username": "outsider", "email": "outsider@example.org"})

		var id, otherID int64
		path := func(suffix string) string { return fmt.Sprintf("/v1/projects/%d", id) + suffix }
		var project map[string]any // the project as created, then as forms were added

		t.Run("Create", func(t *testing.T) {
			r := s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(root), body: map[string]any{
				"title": "  Heart study ", "purpose": 2, "purpose_other": "", "notes": "Pilot.",
				"forms": []any{map[string]any{"name": "f1", "label": "Baseline"}, "f2"}}}).want(t, 201)
			project = plain(t, r.raw).(map[string]any)
			n, _ := project["id"].(float64)
			id = int64(n)
			if id <= 0 || r.header.Get("Location") != fmt.Sprintf("/v1/projects/%d", id) {
				t.Fatalf("id %v, Location %q", project["id"], r.header.Get("Location"))
			}
			created, err := time.Parse(time.RFC3339Nano, project["created_at"].(string))
			if err != nil || created.Before(start) || created.After(time.Now()) || project["updated_at"] != project["created_at"] {
				t.Fatalf("times: %s", r.raw)
			}
			wantJSON(t, "created", project, canon(t, map[string]any{"id": id, "title": "Heart study", "purpose": 2, "purpose_other": "",
				"notes": "Pilot.", "forms": []any{map[string]any{"name": "f1", "label": "Baseline"}, map[string]any{"name": "f2", "label": "F2"}},
				"created_at": project["created_at"], "updated_at": project["updated_at"]}))
			got := s.do(t, call{method: "GET", path: r.header.Get("Location"), header: bearer(root)}).want(t, 200)
			wantJSON(t, "read back", plain(t, got.raw), project)

			r = s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(padmin), body: map[string]any{"title": "Other", "forms": []string{"g1"}}}).want(t, 201)
			otherID = int64(plain(t, r.raw).(map[string]any)["id"].(float64))
			if otherID == id {
				t.Fatal("two projects, one id")
			}
		})
		t.Run("ErrCreateInvalid", func(t *testing.T) {
			r := s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(root), body: map[string]any{"title": "   ", "forms": []string{"f1"}}}).want(t, 400)
			wantError(t, r, "invalid", "The project title is required.", []map[string]any{problem("title", "required", "The project title is required.", 0)})

			badName := `The form name "Bad Name" must start with a lower-case letter and hold only lower-case letters, digits and underscores (at most 64).`
			r = s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(root), body: map[string]any{"title": "X", "forms": []string{"Bad Name"}}}).want(t, 400)
			wantError(t, r, "invalid", badName, []map[string]any{problem("forms", "invalid_format", badName, 0)})

			r = s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(root), body: map[string]any{"title": "", "purpose": 9, "forms": []string{"Bad Name", "ok", "ok"}}}).want(t, 400)
			wantError(t, r, "invalid", "Invalid input.", []map[string]any{
				problem("forms", "invalid_format", badName, 0),
				problem("forms", "duplicate", `The form "ok" is listed twice.`, 0),
				problem("purpose", "out_of_range", "The purpose must be 0 (practice), 1 (other), 2 (research), 3 (quality improvement) or 4 (operational support).", 0),
				problem("title", "required", "The project title is required.", 0)})

			r = s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(root), body: map[string]any{"title": "X"}}).want(t, 400)
			wantError(t, r, "invalid", "A project needs at least one form.", []map[string]any{problem("forms", "required", "A project needs at least one form.", 0)})

			shape := `forms must be a list of form names, or of {"name", "label"} objects.`
			for _, forms := range []any{"f1", []any{1}, []any{map[string]any{"label": "No name"}}} {
				r = s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(root), body: map[string]any{"title": "X", "forms": forms}}).want(t, 400)
				wantError(t, r, "invalid", shape, []map[string]any{problem("forms", "invalid_type", shape, 0)})
			}
			r = s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(root), body: `{"title": `}).want(t, 400)
			if r.errorCode() != "invalid" {
				t.Fatalf("bad JSON: %s", r.raw)
			}
		})
		t.Run("ErrCreateForbidden", func(t *testing.T) {
			r := s.do(t, call{method: "POST", path: "/v1/projects", header: bearer(bob), body: map[string]any{"title": "Mine", "forms": []string{"f1"}}}).want(t, 403)
			wantError(t, r, "forbidden", "Only project administrators may create projects.", nil)
			s.do(t, call{method: "POST", path: "/v1/projects", body: map[string]any{"title": "Mine", "forms": []string{"f1"}}}).want(t, 401)
			r = s.do(t, call{method: "GET", path: "/v1/projects", header: bearer(root)}).want(t, 200)
			if got := len(listed(t, r, "projects")); got != 2 {
				t.Fatalf("%d projects after refusals", got)
			}
		})
		t.Run("AddForms", func(t *testing.T) {
			r := s.do(t, call{method: "POST", path: path("/forms"), header: bearer(root), body: map[string]any{"forms": []any{map[string]any{"name": "f3", "label": "Follow-up"}}}}).want(t, 200)
			got := plain(t, r.raw).(map[string]any)
			want := map[string]any{}
			for k, v := range project {
				want[k] = v
			}
			want["forms"] = append(append([]any{}, project["forms"].([]any)...), map[string]any{"name": "f3", "label": "Follow-up"})
			want["updated_at"] = got["updated_at"]
			wantJSON(t, "forms added", got, want)
			if got["updated_at"] == got["created_at"] {
				t.Fatalf("updated_at did not move: %s", r.raw)
			}
			project = got

			r = s.do(t, call{method: "POST", path: path("/forms"), header: bearer(root), body: map[string]any{"forms": []string{"f1"}}}).want(t, 400)
			wantError(t, r, "invalid", `The form "f1" is listed twice.`, []map[string]any{problem("forms", "duplicate", `The form "f1" is listed twice.`, 0)})
			r = s.do(t, call{method: "POST", path: path("/forms"), header: bearer(root), body: map[string]any{"forms": []string{}}}).want(t, 400)
			wantError(t, r, "invalid", "Send at least one form to add.", []map[string]any{problem("forms", "required", "Send at least one form to add.", 0)})
			s.do(t, call{method: "POST", path: path("/forms"), header: bearer(bob), body: map[string]any{"forms": []string{"f9"}}}).want(t, 404)
			r = s.do(t, call{method: "GET", path: path(""), header: bearer(root)}).want(t, 200)
			wantJSON(t, "after refusals", plain(t, r.raw), project)
		})

		// Two DAGs, made through the core.
		if _, err := s.Projects.ImportProjectDAGs(testkit.Operator(), id, roster.NewSliceRows([]roster.DAGRow{{Label: "Site B"}, {Label: "Site A"}},
			"data_access_group_name", "unique_group_name")); err != nil {
			t.Fatal(err)
		}
		forms := func(f1, f2, f3 int) map[string]int { return map[string]int{"f1": f1, "f2": f2, "f3": f3} }
		aliceWant := map[string]any{"username": "alice", "account_id": aliceRec.ID, "email": "alice@example.org", "first_name": "Alice", "last_name": "Smith",
			"expiration": "2030-01-01", "data_access_group": "site_a", "role": "", "rights": rights(map[string]int{"user_rights": 1}),
			"forms": forms(1, 0, 0), "forms_export": forms(2, 0, 0), "has_token": false}
		// aliceIs checks a member doc of alice against aliceWant.
		aliceIs := func(t *testing.T, what string, m map[string]any) {
			t.Helper()
			wantJSON(t, what, memberAt(t, m, start, time.Now()), canon(t, aliceWant))
		}
		members := func(t *testing.T, key string) []map[string]any {
			t.Helper()
			r := s.do(t, call{method: "GET", path: path("/members"), header: bearer(key)}).want(t, 200)
			return listed(t, r, "members")
		}
		member := func(t *testing.T, username string) map[string]any {
			t.Helper()
			for _, m := range members(t, root) {
				if m["username"] == username {
					return m
				}
			}
			t.Fatalf("%s is not listed", username)
			return nil
		}

		t.Run("AddMember", func(t *testing.T) {
			r := s.do(t, call{method: "GET", path: path("/members"), header: bearer(root)}).want(t, 200)
			if string(r.raw) != "{\"members\":[]}\n" || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("no members: %q %q", r.raw, r.header.Get("Content-Type"))
			}
			r = s.do(t, call{method: "PUT", path: path("/members/Alice"), header: bearer(root), body: map[string]any{
				"username": "ignored", "expiration": "2030-01-01", "data_access_group": "site_a", "user_rights": 1,
				"forms": map[string]any{"f1": 1}, "forms_export": map[string]any{"f1": 2}}}).want(t, 200)
			aliceIs(t, "PUT", oneMember(t, r.raw, nil))
			ms := members(t, root)
			if len(ms) != 1 {
				t.Fatalf("members: %v", usernames(ms))
			}
			aliceIs(t, "GET", ms[0])
			if ms[0]["added_at"] != plain(t, r.raw).(map[string]any)["added_at"] {
				t.Fatalf("added_at differs: %v, %s", ms[0]["added_at"], r.raw)
			}

			// A member without an account, and one with an account but no rights.
			r = s.do(t, call{method: "PUT", path: path("/members/ghost"), header: bearer(root)}).want(t, 200)
			wantJSON(t, "ghost", memberAt(t, oneMember(t, r.raw, nil), start, time.Now()), canon(t, map[string]any{
				"username": "ghost", "email": "", "first_name": "", "last_name": "", "expiration": "", "data_access_group": "", "role": "",
				"rights": rights(nil), "forms": forms(0, 0, 0), "forms_export": forms(0, 0, 0), "has_token": false}))
			s.do(t, call{method: "PUT", path: path("/members/bob"), header: bearer(root), body: map[string]any{"data_export": 1}}).want(t, 200)
			if got := usernames(members(t, root)); !reflect.DeepEqual(got, []string{"alice", "ghost", "bob"}) {
				t.Fatalf("order: %v", got)
			}
			if got := member(t, "bob")["forms_export"]; !reflect.DeepEqual(got, canon(t, forms(1, 1, 1))) {
				t.Fatalf("data_export=1 gives forms_export %v", got)
			}
		})
		t.Run("PutChangesOnlySentKeys", func(t *testing.T) {
			r := s.do(t, call{method: "PUT", path: path("/members/alice"), header: bearer(root), body: map[string]any{"design": 1}}).want(t, 200)
			aliceWant["rights"] = rights(map[string]int{"user_rights": 1, "design": 1})
			aliceIs(t, "design", oneMember(t, r.raw, nil))

			// Form rights sent replace them all: f1 drops to 0.
			r = s.do(t, call{method: "PUT", path: path("/members/alice"), header: bearer(root), body: map[string]any{"forms": map[string]any{"f2": 1, "f3": "2"}}}).want(t, 200)
			aliceWant["forms"] = forms(0, 1, 2)
			aliceIs(t, "forms", oneMember(t, r.raw, nil))

			// REDCap's CSV form, and the rights object of a member as read.
			r = s.do(t, call{method: "PUT", path: path("/members/alice"), header: bearer(root), body: map[string]any{
				"forms_export": "f1:2,f3:3", "rights": map[string]any{"design": 0, "calendar": 1}}}).want(t, 200)
			aliceWant["forms_export"] = forms(2, 0, 3)
			aliceWant["rights"] = rights(map[string]int{"user_rights": 1, "calendar": 1})
			aliceIs(t, "csv and rights object", oneMember(t, r.raw, nil))
			aliceIs(t, "GET", member(t, "alice"))

			r = s.do(t, call{method: "PUT", path: path("/members/alice"), header: bearer(root), body: map[string]any{"design": 1, "rights": map[string]any{"design": 0}}}).want(t, 400)
			wantError(t, r, "invalid", `"design" is sent both in rights and on its own; send it once.`,
				[]map[string]any{problem("design", "duplicate", `"design" is sent both in rights and on its own; send it once.`, 0)})
		})
		t.Run("ErrPutBadRights", func(t *testing.T) {
			msg := `The right user_rights of user "alice" must be 0, 1 or 2, not "3".`
			r := s.do(t, call{method: "PUT", path: path("/members/alice"), header: bearer(root), body: map[string]any{"user_rights": 3}}).want(t, 400)
			wantError(t, r, "invalid", msg, []map[string]any{problem("user_rights", "invalid_choice", msg, 1)})

			// Every problem, in the order found, one per line of the message.
			msgs := []string{
				`The project has no Data Access Group named "nowhere".`,
				`The right design of user "alice" must be 0 or 1, not "x".`,
				`The form-level right on form "f1" of user "alice" must be 0, 1, 2 or 3, or one of 128, 129, 130, 138, 146 and 154, not "9".`,
				`The project has no form "nope", named in the forms of user "alice".`,
			}
			r = s.do(t, call{method: "PUT", path: path("/members/alice"), header: bearer(root), body: map[string]any{
				"design": "x", "forms": map[string]any{"nope": 1, "f1": 9}, "data_access_group": "nowhere", "calendar": 0}}).want(t, 400)
			wantError(t, r, "invalid", strings.Join(msgs, "\n"), []map[string]any{
				problem("data_access_group", "unknown_field", msgs[0], 1),
				problem("design", "invalid_choice", msgs[1], 1),
				problem("forms", "invalid_choice", msgs[2], 1),
				problem("forms", "unknown_field", msgs[3], 1),
			})
			aliceIs(t, "unchanged", member(t, "alice"))

			r = s.do(t, call{method: "PUT", path: path("/members/bad%20name%21"), header: bearer(root)}).want(t, 400)
			if e := apiError(t, r); !strings.HasPrefix(e["message"].(string), `"bad name!" is not a valid username:`) {
				t.Fatalf("bad username: %s", r.raw)
			}
			s.do(t, call{method: "PUT", path: path("/members/alice"), header: bearer(root), body: `[1]`}).want(t, 400)
		})
		t.Run("MemberAccess", func(t *testing.T) {
			// bob is a member without User Rights; alice has them, in DAG site_a.
			r := s.do(t, call{method: "GET", path: path("/members"), header: bearer(bob)}).want(t, 403)
			wantError(t, r, "forbidden", msgUsersExport, nil)
			r = s.do(t, call{method: "PUT", path: path("/members/bob"), header: bearer(bob), body: map[string]any{"user_rights": 1}}).want(t, 403)
			wantError(t, r, "forbidden", msgUsersImport, nil)
			if got := usernames(members(t, alice)); !reflect.DeepEqual(got, []string{"alice"}) {
				t.Fatalf("alice, in site_a, sees %v", got)
			}
			s.do(t, call{method: "PUT", path: path("/members/bob"), header: bearer(outsider), body: map[string]any{"calendar": 0}}).want(t, 404)
			s.do(t, call{method: "DELETE", path: path("/members/bob"), header: bearer(outsider)}).want(t, 404)
		})
		t.Run("List", func(t *testing.T) {
			ids := func(key string) []int64 {
				r := s.do(t, call{method: "GET", path: "/v1/projects", header: bearer(key)}).want(t, 200)
				var out []int64
				for _, p := range listed(t, r, "projects") {
					out = append(out, int64(p["id"].(float64)))
				}
				return out
			}
			if got := ids(root); !reflect.DeepEqual(got, []int64{id, otherID}) {
				t.Fatalf("root lists %v", got)
			}
			if got := ids(padmin); !reflect.DeepEqual(got, []int64{id, otherID}) {
				t.Fatalf("project admin lists %v", got)
			}
			if got := ids(alice); !reflect.DeepEqual(got, []int64{id}) {
				t.Fatalf("alice lists %v", got)
			}
			r := s.do(t, call{method: "GET", path: "/v1/projects", header: bearer(alice)}).want(t, 200)
			wantJSON(t, "alice's list", listed(t, r, "projects")[0], project)
			if got := ids(outsider); len(got) != 0 {
				t.Fatalf("outsider lists %v", got)
			}
			if r := s.do(t, call{method: "GET", path: "/v1/projects", header: bearer(outsider)}).want(t, 200); string(r.raw) != "{\"projects\":[]}\n" {
				t.Fatalf("empty list: %q", r.raw)
			}
			s.do(t, call{method: "GET", path: "/v1/projects"}).want(t, 401)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, p := range []string{"/v1/projects/999999", "/v1/projects/abc", "/v1/projects/999999/members", "/v1/projects/999999/roles", "/v1/projects/999999/dags"} {
				r := s.do(t, call{method: "GET", path: p, header: bearer(root)}).want(t, 404)
				wantError(t, r, "not_found", "Project not found.", nil)
			}
			r := s.do(t, call{method: "PUT", path: "/v1/projects/999999/members/alice", header: bearer(root), body: map[string]any{}}).want(t, 404)
			wantError(t, r, "not_found", "Project not found.", nil)
			for _, c := range []call{
				{method: "GET", path: path("")}, {method: "GET", path: path("/members")}, {method: "GET", path: path("/roles")},
				{method: "GET", path: path("/dags")}, {method: "POST", path: path("/members/outsider/token")},
				{method: "GET", path: fmt.Sprintf("/v1/projects/%d", otherID)}, {method: "GET", path: fmt.Sprintf("/v1/projects/%d/members", otherID)},
			} {
				c.header = bearer(outsider)
				if c.path == fmt.Sprintf("/v1/projects/%d", otherID) || strings.HasPrefix(c.path, fmt.Sprintf("/v1/projects/%d/", otherID)) {
					c.header = bearer(alice)
				}
				r := s.do(t, c).want(t, 404)
				wantError(t, r, "not_found", "Project not found.", nil)
			}
		})
		var token string
		t.Run("Token", func(t *testing.T) {
			r := s.do(t, call{method: "POST", path: path("/members/ALICE/token"), header: bearer(root)}).want(t, 201)
			got := plain(t, r.raw).(map[string]any)
			token, _ = got["token"].(string)
			if !projectToken.MatchString(token) || len(got) != 2 || got["username"] != "alice" {
				t.Fatalf("token: %s", r.raw)
			}
			actor, err := s.Projects.AuthenticateProjectToken(context.Background(), token, roster.Client{IP: "192.0.2.1"})
			if err != nil || actor.Username != "alice" || actor.Project == nil || actor.Project.ProjectID != id {
				t.Fatalf("the token does not authenticate alice in the project: %+v %v", actor, err)
			}
			raw := s.do(t, call{method: "GET", path: path("/members"), header: bearer(root)}).want(t, 200).raw
			if strings.Contains(string(raw), token) || strings.Contains(strings.ToLower(string(raw)), strings.ToLower(token)) {
				t.Fatal("GET members shows the token")
			}
			aliceWant["has_token"] = true
			aliceIs(t, "with token", member(t, "alice"))
			audit := s.do(t, call{method: "GET", path: "/v1/audit?action=project.token.issue", header: bearer(root)}).want(t, 200)
			if strings.Contains(strings.ToLower(string(audit.raw)), strings.ToLower(token)) || len(audit.json["entries"].([]any)) != 1 {
				t.Fatalf("audit: %s", audit.raw)
			}

			// A new token replaces the old one.
			r = s.do(t, call{method: "POST", path: path("/members/alice/token"), header: bearer(root)}).want(t, 201)
			second := plain(t, r.raw).(map[string]any)["token"].(string)
			if second == token || !projectToken.MatchString(second) {
				t.Fatalf("second token %q", second)
			}
			if _, err := s.Projects.AuthenticateProjectToken(context.Background(), token, roster.Client{IP: "192.0.2.1"}); roster.ErrorCode(err) != roster.EUNAUTHENTICATED {
				t.Fatalf("the replaced token: %v", err)
			}
			token = second

			r = s.do(t, call{method: "POST", path: path("/members/ghost/token"), header: bearer(root)}).want(t, 409)
			wantError(t, r, "conflict", `Only members with an active account may hold an API token; "ghost" has none.`, nil)
			r = s.do(t, call{method: "POST", path: path("/members/nobody/token"), header: bearer(root)}).want(t, 404)
			wantError(t, r, "not_found", "nobody is not a member of this project.", nil)
			r = s.do(t, call{method: "POST", path: path("/members/alice/token"), header: bearer(bob)}).want(t, 403)
			wantError(t, r, "forbidden", "Only project administrators, or members with an API right for their own token, may manage API tokens.", nil)
		})
		t.Run("RevokeToken", func(t *testing.T) {
			r := s.do(t, call{method: "DELETE", path: path("/members/alice/token"), header: bearer(root)}).want(t, 204)
			if len(r.raw) != 0 {
				t.Fatalf("204 with a body: %s", r.raw)
			}
			aliceWant["has_token"] = false
			aliceIs(t, "revoked", member(t, "alice"))
			if _, err := s.Projects.AuthenticateProjectToken(context.Background(), token, roster.Client{IP: "192.0.2.1"}); roster.ErrorCode(err) != roster.EUNAUTHENTICATED {
				t.Fatalf("the revoked token: %v", err)
			}
			r = s.do(t, call{method: "DELETE", path: path("/members/alice/token"), header: bearer(root)}).want(t, 404)
			wantError(t, r, "not_found", "alice has no API token in this project.", nil)
		})
		t.Run("Roles", func(t *testing.T) {
			r := s.do(t, call{method: "GET", path: path("/roles"), header: bearer(root)}).want(t, 200)
			if string(r.raw) != "{\"roles\":[]}\n" {
				t.Fatalf("no roles: %q", r.raw)
			}
			if _, err := s.Projects.ImportProjectRoles(testkit.Operator(), id, roster.NewSliceRows([]roster.RoleRow{
				roster.MemberRowFromJSON(map[string]any{"role_label": "Monitors", "user_rights": 2, "design": 1, "forms": map[string]any{"f1": 2}, "forms_export": map[string]any{"f2": 1}}),
				roster.MemberRowFromJSON(map[string]any{"role_label": "Coordinators"}),
			})); err != nil {
				t.Fatal(err)
			}
			r = s.do(t, call{method: "GET", path: path("/roles"), header: bearer(root)}).want(t, 200)
			roles := listed(t, r, "roles")
			if len(roles) != 2 {
				t.Fatalf("roles: %s", r.raw)
			}
			var names []string
			for i, want := range []map[string]any{
				{"role_label": "Monitors", "rights": rights(map[string]int{"user_rights": 2, "design": 1}), "forms": forms(2, 0, 0), "forms_export": forms(0, 1, 0)},
				{"role_label": "Coordinators", "rights": rights(nil), "forms": forms(0, 0, 0), "forms_export": forms(0, 0, 0)},
			} {
				name, _ := roles[i]["unique_role_name"].(string)
				if !roleName.MatchString(name) {
					t.Fatalf("unique_role_name %q", name)
				}
				names = append(names, name)
				want["unique_role_name"] = name
				wantJSON(t, "role", roles[i], canon(t, want))
			}
			if names[0] == names[1] {
				t.Fatalf("two roles named %s", names[0])
			}

			// A member in a role shows the role's privileges, and its rights cannot be set.
			if _, err := s.Projects.ImportRoleMappings(testkit.Operator(), id, roster.NewSliceRows([]roster.Mapping{{Username: "ghost", Name: names[0]}},
				"username", "unique_role_name")); err != nil {
				t.Fatal(err)
			}
			g := member(t, "ghost")
			if g["role"] != names[0] || !reflect.DeepEqual(g["rights"], canon(t, rights(map[string]int{"user_rights": 2, "design": 1}))) ||
				!reflect.DeepEqual(g["forms"], canon(t, forms(2, 0, 0))) {
				t.Fatalf("ghost in %s: %v", names[0], g)
			}
			r = s.do(t, call{method: "PUT", path: path("/members/ghost"), header: bearer(root), body: map[string]any{"design": 0}}).want(t, 400)
			msg := `"ghost" is in a role: its rights are the role's, and cannot be set on their own.`
			wantError(t, r, "invalid", msg, []map[string]any{problem("username", "forbidden", msg, 1)})

			r = s.do(t, call{method: "GET", path: path("/roles"), header: bearer(bob)}).want(t, 403)
			wantError(t, r, "forbidden", msgUsersExport, nil)
		})
		t.Run("DAGs", func(t *testing.T) {
			r := s.do(t, call{method: "GET", path: path("/dags"), header: bearer(root)}).want(t, 200)
			dags := listed(t, r, "dags")
			core, err := s.Projects.ExportProjectDAGs(testkit.Operator(), id)
			if err != nil || len(core) != 2 {
				t.Fatalf("core DAGs: %v %v", core, err)
			}
			wantJSON(t, "dags", canon(t, dags), canon(t, []map[string]any{
				{"id": core[0].ID, "label": "Site A", "unique_group_name": "site_a"},
				{"id": core[1].ID, "label": "Site B", "unique_group_name": "site_b"}}))
			if core[0].ID == core[1].ID || core[0].ID == 0 {
				t.Fatalf("DAG ids %d, %d", core[0].ID, core[1].ID)
			}
			r = s.do(t, call{method: "GET", path: fmt.Sprintf("/v1/projects/%d/dags", otherID), header: bearer(root)}).want(t, 200)
			if string(r.raw) != "{\"dags\":[]}\n" {
				t.Fatalf("no DAGs: %q", r.raw)
			}
			r = s.do(t, call{method: "GET", path: path("/dags"), header: bearer(alice)}).want(t, 403)
			wantError(t, r, "forbidden", "You are assigned to a Data Access Group, so you may not list or change the project's Data Access Groups, nor move members between them.", nil)
			r = s.do(t, call{method: "GET", path: path("/dags"), header: bearer(bob)}).want(t, 403)
			wantError(t, r, "forbidden", "You need the Data Access Groups right in this project.", nil)
		})
		t.Run("DeleteMember", func(t *testing.T) {
			r := s.do(t, call{method: "DELETE", path: path("/members/bob"), header: bearer(bob)}).want(t, 403)
			wantError(t, r, "forbidden", msgUsersImport, nil)
			r = s.do(t, call{method: "DELETE", path: path("/members/BOB"), header: bearer(root)}).want(t, 204)
			if len(r.raw) != 0 {
				t.Fatalf("204 with a body: %s", r.raw)
			}
			if got := usernames(members(t, root)); !reflect.DeepEqual(got, []string{"alice", "ghost"}) {
				t.Fatalf("after delete: %v", got)
			}
			r = s.do(t, call{method: "DELETE", path: path("/members/bob"), header: bearer(root)}).want(t, 404)
			wantError(t, r, "not_found", "bob is not a member of this project.", nil)
			// bob no longer sees the project.
			s.do(t, call{method: "GET", path: path(""), header: bearer(bob)}).want(t, 404)
			if r := s.do(t, call{method: "GET", path: "/v1/projects", header: bearer(bob)}).want(t, 200); string(r.raw) != "{\"projects\":[]}\n" {
				t.Fatalf("bob's list: %q", r.raw)
			}
		})
	})
}

// failingProjects fails the member stream after a number of members.
type failingProjects struct {
	api.Projects
	after int
}

func (d failingProjects) ExportProjectUsers(ctx context.Context, id int64, fn func(*roster.ProjectView, *roster.ProjectMember) error) (*roster.ProjectView, error) {
	n := 0
	return d.Projects.ExportProjectUsers(ctx, id, func(v *roster.ProjectView, m *roster.ProjectMember) error {
		if n == d.after {
			return roster.Errorf(roster.EUNAVAILABLE, "The database is unavailable.")
		}
		n++
		return fn(v, m)
	})
}

// hidingProjects shows no members, as the project service shows a member confined to a
// DAG none outside it.
type hidingProjects struct{ api.Projects }

func (d hidingProjects) GetProjectMember(ctx context.Context, id int64, username string) (*roster.ProjectView, *roster.ProjectMember, error) {
	return nil, nil, roster.Errorf(roster.ENOTFOUND, "%s is not a member of this project.", username)
}

// TestPutProjectMemberNotShown: a change to a member the caller may not see is done, and
// answered 204 without showing the member.
func TestPutProjectMemberNotShown(t *testing.T) {
	testkit.EnginesWith(t, func(c *httpserver.Config) {
		c.WrapProjects = func(p api.Projects) api.Projects { return hidingProjects{p} }
	}, func(t *testing.T, e *testkit.Env) {
		_, root := e.Account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		p, err := e.Projects.CreateProject(testkit.Operator(), &roster.Project{Title: "P", Forms: []roster.Form{{Name: "f1"}}})
		if err != nil {
			t.Fatal(err)
		}
		r := e.Do(t, "PUT", fmt.Sprintf("/v1/projects/%d/members/carol", p.ID), `{"calendar": 1}`, "Authorization", "Bearer "+root, "Content-Type", "application/json")
		if r.Status != 204 || r.Body != "" {
			t.Fatalf("status %d: %q", r.Status, r.Body)
		}
		var got []string
		if _, err := e.Projects.ExportProjectUsers(testkit.Operator(), p.ID, func(v *roster.ProjectView, m *roster.ProjectMember) error {
			got = append(got, fmt.Sprintf("%s calendar=%d", m.Username, m.Privileges.Rights[roster.RightCalendar]))
			return nil
		}); err != nil || !reflect.DeepEqual(got, []string{"carol calendar=1"}) {
			t.Fatalf("members %v, %v", got, err)
		}
	})
}

// TestProjectMembersStream lists more members than the response buffer holds, in order,
// and checks what a failure before and after the first member gives.
func TestProjectMembersStream(t *testing.T) {
	const total = 400
	for _, after := range []int{-1, 0, 3} {
		t.Run(fmt.Sprintf("after%d", after), func(t *testing.T) {
			testkit.EnginesWith(t, func(c *httpserver.Config) {
				if after >= 0 {
					c.WrapProjects = func(p api.Projects) api.Projects { return failingProjects{Projects: p, after: after} }
				}
			}, func(t *testing.T, e *testkit.Env) {
				_, root := e.Account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
				p, err := e.Projects.CreateProject(testkit.Operator(), &roster.Project{Title: "Big", Forms: []roster.Form{{Name: "f1"}, {Name: "f2"}}})
				if err != nil {
					t.Fatal(err)
				}
				rows := make([]roster.MemberRow, total)
				for i := range rows {
					rows[i] = roster.MemberRowFromJSON(map[string]any{"username": fmt.Sprintf("user%03d", total-i), "calendar": i % 2, "forms": map[string]any{"f2": 2}})
				}
				if _, err := e.Projects.ImportProjectUsers(testkit.Operator(), p.ID, roster.NewSliceRows(rows)); err != nil {
					t.Fatal(err)
				}
				r := e.Do(t, "GET", fmt.Sprintf("/v1/projects/%d/members", p.ID), "", "Authorization", "Bearer "+root)
				switch after {
				case -1:
					var body struct{ Members []api.MemberDoc }
					if r.Status != 200 || json.Unmarshal([]byte(r.Body), &body) != nil || len(body.Members) != total || len(r.Body) < 64<<10 {
						t.Fatalf("status %d, %d bytes, %d members", r.Status, len(r.Body), len(body.Members))
					}
					for i, m := range body.Members {
						if m.Username != fmt.Sprintf("user%03d", total-i) || m.Rights["calendar"] != i%2 || m.Forms["f2"] != 2 || m.Forms["f1"] != 0 {
							t.Fatalf("member %d: %+v", i, m)
						}
					}
				case 0:
					// Nothing was written yet: the normal error response.
					if r.Status != 503 || r.Body != `{"error":{"code":"unavailable","message":"The database is unavailable."}}`+"\n" {
						t.Fatalf("status %d: %s", r.Status, r.Body)
					}
				default:
					// The head is out: the response ends early, and is not valid JSON.
					if r.Status != 200 || !strings.HasPrefix(r.Body, `{"members":[{"username":"user400",`) || json.Valid([]byte(r.Body)) ||
						strings.Count(r.Body, `"username":`) != after {
						t.Fatalf("status %d: %s", r.Status, r.Body)
					}
					if !strings.Contains(e.Logs.String(), "member list ended early") {
						t.Fatal("the failure is not logged")
					}
				}
			})
		})
	}
}
