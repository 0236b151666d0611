package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// TestPutMemberStrictTypes: a right sent as a list or object, form rights sent as a
// number or boolean, or a form right sent as a list or object, is refused with a problem
// naming the field, and nothing is written; before, each read as 0 and cleared the right.
func TestPutMemberStrictTypes(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		p, err := s.Projects.CreateProject(testkit.Operator(), &roster.Project{Title: "Typed", Forms: []roster.Form{{Name: "f1"}, {Name: "f2"}}})
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/v1/projects/%d/members/alice", p.ID)
		s.do(t, call{method: "PUT", path: path, header: bearer(root), body: map[string]any{
			"design": 1, "user_rights": 1, "forms": map[string]any{"f1": 1, "f2": 3}, "forms_export": map[string]any{"f1": 2}}}).want(t, 200)
		before := s.do(t, call{method: "GET", path: fmt.Sprintf("/v1/projects/%d/members", p.ID), header: bearer(root)}).want(t, 200)

		formsMsg := func(field, v string) string {
			return fmt.Sprintf(`The %s of user "alice" must be an object of form names and rights, or text such as "form_1:1,form_2:0", not %q.`, field, v)
		}
		for _, c := range []struct {
			body  string
			field string
			msg   string
		}{
			{`{"design": [1]}`, "design", `The right design of user "alice" must be 0 or 1, not "[1]".`},
			{`{"design": []}`, "design", `The right design of user "alice" must be 0 or 1, not "[]".`},
			{`{"user_rights": {"v": 1}}`, "user_rights", `The right user_rights of user "alice" must be 0, 1 or 2, not "{\"v\":1}".`},
			{`{"rights": {"design": [0]}}`, "design", `The right design of user "alice" must be 0 or 1, not "[0]".`},
			{`{"forms": 5}`, "forms", formsMsg("forms", "5")},
			{`{"forms": true}`, "forms", formsMsg("forms", "true")},
			{`{"forms": [1]}`, "forms", formsMsg("forms", "[1]")},
			{`{"forms_export": 7}`, "forms_export", formsMsg("forms_export", "7")},
			{`{"forms_export": false}`, "forms_export", formsMsg("forms_export", "false")},
			{`{"forms": {"f1": [1]}}`, "forms", `The form-level right on form "f1" of user "alice" must be 0, 1, 2 or 3, or one of 128, 129, 130, 138, 146 and 154, not "[1]".`},
			{`{"forms_export": {"f1": {"x": 2}}}`, "forms_export", `The export right on form "f1" of user "alice" must be 0, 1, 2 or 3, not "{\"x\":2}".`},
		} {
			t.Run(c.body, func(t *testing.T) {
				r := s.do(t, call{method: "PUT", path: path, header: bearer(root), body: c.body}).want(t, 400)
				wantError(t, r, "invalid", c.msg, []map[string]any{problem(c.field, roster.PType, c.msg, 1)})
			})
		}
		// Still valid: REDCap's CSV form, an object, PHP's empty map, booleans for rights.
		s.do(t, call{method: "PUT", path: path, header: bearer(root), body: `{"forms_export": "f1:2", "forms": {"f1": 1, "f2": "3"}, "calendar": false}`}).want(t, 200)
		after := s.do(t, call{method: "GET", path: fmt.Sprintf("/v1/projects/%d/members", p.ID), header: bearer(root)}).want(t, 200)
		if string(after.raw) != string(before.raw) {
			t.Fatalf("refused PUTs changed the member:\n%s\n%s", before.raw, after.raw)
		}
		r := s.do(t, call{method: "PUT", path: path, header: bearer(root), body: `{"forms": [], "design": true}`}).want(t, 200)
		if m := plain(t, r.raw).(map[string]any); !strings.Contains(string(r.raw), `"forms":{"f1":0,"f2":0}`) || m["rights"].(map[string]any)["design"] != float64(1) {
			t.Fatalf("PHP's empty map for forms, true for design: %s", r.raw)
		}
	})
}

// TestMemberDAGSwitch: GET and PUT /v1/projects/{id}/members/{username} show and set the
// DAGs a member may switch among; who may set them is decided in the core; a refused
// change writes nothing, and an accepted one is audited with the member's other changes.
func TestMemberDAGSwitch(t *testing.T) {
	engines(t, func(t *testing.T, s *server) {
		root := s.account(t, map[string]any{"username": "root", "email": "root@example.org", "sysadmin": true})
		p, err := s.Projects.CreateProject(testkit.Operator(), &roster.Project{Title: "Sites", Forms: []roster.Form{{Name: "f1"}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Projects.ImportProjectDAGs(testkit.Operator(), p.ID, roster.NewSliceRows([]roster.DAGRow{{Label: "Site B"}, {Label: "Site A"}},
			"data_access_group_name", "unique_group_name")); err != nil {
			t.Fatal(err)
		}
		member := func(u string) string { return fmt.Sprintf("/v1/projects/%d/members/%s", p.ID, u) }
		put := func(key, u, body string, status int) reply {
			t.Helper()
			return s.do(t, call{method: "PUT", path: member(u), header: bearer(key), body: body}).want(t, status)
		}
		get := func(key, u string, status int) reply {
			t.Helper()
			return s.do(t, call{method: "GET", path: member(u), header: bearer(key)}).want(t, status)
		}
		members := map[string]string{}
		for u, rights := range map[string]string{
			"manager":  `{"user_rights": 1, "data_access_groups": 1}`,
			"confined": `{"user_rights": 1, "data_access_groups": 1, "data_access_group": "site_a"}`,
			"nodags":   `{"user_rights": 1}`,
			"reader":   `{"user_rights": 2}`,
		} {
			members[u] = s.account(t, map[string]any{"username": u, "email": u + "@example.org"})
			put(root, u, rights, 200)
		}
		put(root, "alice", `{"data_access_group": "site_a", "calendar": 1}`, 200)

		// GET shows one member with its assignments: none yet.
		r := get(root, "ALICE", 200)
		alice := oneMember(t, r.raw, nil)
		if alice["username"] != "alice" || alice["data_access_group"] != "site_a" {
			t.Fatalf("GET alice: %s", r.raw)
		}
		// PUT sets them: names deduplicated, "" (no DAG) first, then by label.
		r = put(root, "alice", `{"dag_switch": ["site_b", "", "site_a", "site_a"]}`, 200)
		wantJSON(t, "PUT answers the member as GET shows it", oneMember(t, r.raw, []string{"", "site_a", "site_b"}), alice)
		oneMember(t, get(root, "alice", 200).raw, []string{"", "site_a", "site_b"})
		oneMember(t, get(members["reader"], "alice", 200).raw, []string{"", "site_a", "site_b"})

		// Audited with the member, old and new.
		entries, err := s.svc.ListAudit(testkit.Operator(), roster.AuditFilter{TargetType: "project", TargetID: p.ID, Action: "project.member.update"})
		if err != nil {
			t.Fatal(err)
		}
		if last := entries[len(entries)-1]; fmt.Sprint(last.Changes) != "[{member alice alice false} {dag_switch [] [ site_a site_b] false}]" || last.ActorName != "root" {
			t.Fatalf("audit: %+v", last)
		}

		// Bad names or shapes are refused and change nothing, rights sent with them
		// included.
		msg := `The project has no Data Access Group named "nowhere".`
		r = put(root, "alice", `{"dag_switch": ["site_a", "nowhere"], "calendar": 0}`, 400)
		wantError(t, r, "invalid", msg, []map[string]any{problem("dag_switch", roster.PUnknown, msg, 1)})
		shape := `dag_switch must be a list of unique DAG names, "" for no DAG.`
		for _, bad := range []string{`"site_a"`, `[1]`, `{"site_a": true}`} {
			r = put(root, "alice", `{"dag_switch": `+bad+`}`, 400)
			wantError(t, r, "invalid", shape, []map[string]any{problem("dag_switch", roster.PType, shape, 1)})
		}
		r = put(root, "alice", `{"dag_switch": [], "calendar": 7}`, 400)
		if e := apiError(t, r); e["problems"].([]any)[0].(map[string]any)["field"] != "calendar" {
			t.Fatalf("a bad right with dag_switch: %s", r.raw)
		}
		r = get(root, "alice", 200)
		if m := oneMember(t, r.raw, []string{"", "site_a", "site_b"}); m["rights"].(map[string]any)["calendar"] != float64(1) {
			t.Fatalf("refused PUTs changed alice: %s", r.raw)
		}

		// Who may set them: a member with User Rights and Data Access Groups, not in a
		// DAG. Confined to a DAG, or without the DAG right, no; still they may change
		// what else they may.
		oneMember(t, put(members["manager"], "alice", `{"dag_switch": ["site_a"]}`, 200).raw, []string{"site_a"})
		forbidden := "Only project administrators, and members with the User Rights and Data Access Groups rights who are not assigned to a Data Access Group, may change which Data Access Groups a user may switch to."
		for _, u := range []string{"confined", "nodags"} {
			r = put(members[u], "alice", `{"dag_switch": ["site_a", ""], "calendar": 0}`, 403)
			wantError(t, r, "forbidden", forbidden, nil)
			put(members[u], "alice", `{"calendar": 1}`, 200)
		}
		r = put(members["reader"], "alice", `{"dag_switch": []}`, 403)
		if apiError(t, r)["code"] != "forbidden" {
			t.Fatalf("read-only User Rights: %s", r.raw)
		}
		// null clears them.
		oneMember(t, put(root, "alice", `{"dag_switch": null}`, 200).raw, nil)

		// GET of a non-member, or of a member outside the reader's DAG, is 404; without
		// User Rights, 403.
		get(root, "nobody", 404)
		put(root, "bob", `{"data_access_group": "site_b"}`, 200)
		get(members["confined"], "bob", 404)
		oneMember(t, get(members["confined"], "alice", 200).raw, nil)
		plainKey := s.account(t, map[string]any{"username": "plain", "email": "plain@example.org"})
		put(root, "plain", `{}`, 200)
		get(plainKey, "alice", 403)
	})
}
