package redcap_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// TestDAGSwitchConfinement: a member confined to a DAG that holds the Data Access Groups
// right cannot switch out of its DAG and then see and change every DAG's members: REDCap
// lets a member switch only among the DAGs an administrator assigned to it.
func TestDAGSwitchConfinement(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		want(t, post(t, e, "token", f.token, "content", "dag", "action", "import", "returnFormat", "json", "format", "json",
			"data", `[{"data_access_group_name":"North","unique_group_name":""},{"data_access_group_name":"South","unique_group_name":""}]`), 200, "json", "2")
		addMember(t, e, f.project, "n1", `{"data_access_group":"north"}`)
		addMember(t, e, f.project, "s1", `{"data_access_group":"south"}`)
		tok := memberToken(t, e, f.project, "north_admin",
			`{"data_access_group":"north","api_export":1,"api_import":1,"user_rights":1,"data_access_groups":1}`)
		confined := "username,unique_role_name,data_access_group\nn1,,north\nnorth_admin,,north\n"
		before := post(t, e, "token", f.token, "content", "user", "format", "csv").Body

		// The attack: switch out of the DAG, then export and change everyone.
		for _, dag := range []string{"", "0", "south"} {
			want(t, post(t, e, "token", tok, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", dag), 200, "csv",
				"ERROR: User/DAG assignment not permitted")
		}
		want(t, post(t, e, "token", tok, "content", "userRoleMapping", "format", "csv"), 200, "csv", confined)
		r := post(t, e, "token", tok, "content", "user", "format", "csv")
		if strings.Contains(r.Body, "s1") || strings.Contains(r.Body, "jane") {
			t.Fatalf("the confined member sees other DAGs:\n%s", r.Body)
		}
		wantError(t, post(t, e, "token", tok, "content", "user", "returnFormat", "json", "action", "delete", "users[0]", "s1"), 400, "json",
			"One or more of the users provided are not valid usernames that do not exist in this project. Note: No users were deleted. Users that do not exist: s1")
		if after := post(t, e, "token", f.token, "content", "user", "format", "csv").Body; after != before {
			t.Fatalf("the confined member changed members:\n%s", after)
		}
	})
}

// TestDAGSwitchAssignments: a member switches among the DAGs it was assigned, into and
// out of "no DAG" only when that is assigned too; a deleted DAG leaves every member's
// assignments, and a new DAG of the same name is not assigned to anyone.
func TestDAGSwitchAssignments(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		want(t, post(t, e, "token", f.token, "content", "dag", "action", "import", "returnFormat", "json", "format", "json",
			"data", `[{"data_access_group_name":"North","unique_group_name":""},{"data_access_group_name":"South","unique_group_name":""}]`), 200, "json", "2")
		addMember(t, e, f.project, "n1", `{"data_access_group":"north"}`)
		addMember(t, e, f.project, "s1", `{"data_access_group":"south"}`)
		tok := memberToken(t, e, f.project, "north_admin", `{"data_access_group":"north","api_export":1,"user_rights":1}`)
		switchTo := func(dag string) testkit.Reply {
			return post(t, e, "token", tok, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", dag)
		}
		sees := func(want string) {
			t.Helper()
			r := post(t, e, "token", tok, "content", "userRoleMapping", "format", "csv")
			if r.Status != 200 || r.Body != want {
				t.Fatalf("the member sees:\n%s\nwant:\n%s", r.Body, want)
			}
		}
		const notPermitted = "ERROR: User/DAG assignment not permitted"

		// Assignments are set one member at a time, never by an import.
		_, err := e.Projects.ImportProjectUsers(testkit.Operator(), f.project, roster.NewSliceRows([]roster.MemberRow{
			{Fields: map[string]string{"username": "north_admin"}, DAGSwitch: []string{"north", "south"}}}))
		if e := roster.AsError(err); e.Code != roster.EINVALID || len(e.Problems) != 1 || e.Problems[0].Field != "dag_switch" {
			t.Fatalf("an import setting dag_switch: %v", err)
		}
		want(t, switchTo("south"), 200, "csv", notPermitted)

		// Assigned North and South: it moves between them, but not out of every DAG.
		assignDAGs(t, e, f.project, "north_admin", "north", "south")
		want(t, switchTo("south"), 200, "csv", "1")
		sees("username,unique_role_name,data_access_group\nnorth_admin,,south\ns1,,south\n")
		want(t, switchTo(""), 200, "csv", notPermitted)
		want(t, switchTo("0"), 200, "csv", notPermitted)
		want(t, switchTo("north"), 200, "csv", "1")
		want(t, switchTo("north"), 200, "csv", "1") // already there
		sees("username,unique_role_name,data_access_group\nn1,,north\nnorth_admin,,north\n")

		// Assigned "no DAG" and North: out of every DAG and back; South is closed now.
		assignDAGs(t, e, f.project, "north_admin", "", "north")
		want(t, switchTo("south"), 200, "csv", notPermitted)
		want(t, switchTo("0"), 200, "csv", "1")
		sees("username,unique_role_name,data_access_group\njane,,\nn1,,north\nnorth_admin,,\ns1,,south\n")
		want(t, switchTo("north"), 200, "csv", "1")
		want(t, switchTo("nowhere"), 200, "csv", "ERROR: Invalid DAG")

		// Each switch is audited as a change of the member's DAG.
		entries, err := e.Svc.ListAudit(testkit.Operator(), roster.AuditFilter{TargetType: "project", TargetID: f.project, Action: "project.member.update"})
		if err != nil {
			t.Fatal(err)
		}
		last := entries[len(entries)-1]
		if last.Via != roster.ViaREDCap || last.ActorName != "north_admin" || fmt.Sprint(last.Changes) != "[{member north_admin north_admin false} {data_access_group  north false}]" {
			t.Fatalf("last switch audited as %+v", last)
		}

		// Deleting South takes it out of the assignments; a new South is not assigned.
		assignDAGs(t, e, f.project, "north_admin", "", "north", "south")
		want(t, post(t, e, "token", f.token, "content", "dag", "returnFormat", "json", "action", "delete", "dags[0]", "south"), 200, "json", "1")
		_, m, err := e.Projects.GetProjectMember(testkit.Operator(), f.project, "north_admin")
		if err != nil || fmt.Sprintf("%q", m.DAGSwitch) != `["" "north"]` {
			t.Fatalf("assignments after deleting a DAG: %q, %v", m.DAGSwitch, err)
		}
		want(t, switchTo("south"), 200, "csv", "ERROR: Invalid DAG")
		want(t, post(t, e, "token", f.token, "content", "dag", "action", "import", "returnFormat", "json", "format", "json",
			"data", `[{"data_access_group_name":"South","unique_group_name":""}]`), 200, "json", "1")
		want(t, switchTo("south"), 200, "csv", notPermitted)

		// Removing the member removes its assignments: added again, it has none.
		if _, err := e.Projects.DeleteProjectUsers(testkit.Operator(), f.project, []string{"north_admin"}); err != nil {
			t.Fatal(err)
		}
		addMember(t, e, f.project, "north_admin", `{"data_access_group":"north","api_export":1}`)
		tok = token(t, e, f.project, "north_admin")
		if _, m, err := e.Projects.GetProjectMember(testkit.Operator(), f.project, "north_admin"); err != nil || m.DAGSwitch == nil || len(m.DAGSwitch) != 0 {
			t.Fatalf("assignments of a member added again: %q, %v", m.DAGSwitch, err)
		}
		want(t, switchTo("north"), 200, "csv", notPermitted)
	})
}
