package redcap_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// memberToken adds an account and member with the given rights and returns its token.
func memberToken(t *testing.T, e *testkit.Env, project int64, username, rights string) string {
	t.Helper()
	e.Account(t, map[string]any{"username": username, "email": username + "@example.org"})
	addMember(t, e, project, username, rights)
	return token(t, e, project, username)
}

func TestRequestErrors(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		// Methods other than POST.
		r := e.Do(t, "GET", "/api/", "")
		wantError(t, r, 501, "xml", "The requested method is not implemented.")
		r = e.Do(t, "PUT", "/api/?returnFormat=json", "")
		wantError(t, r, 501, "json", "The requested method is not implemented.")

		// Tokens: missing, malformed, unknown; in each returnFormat.
		wantError(t, post(t, e, "content", "user", "format", "json"), 403, "json", "You do not have permissions to use the API")
		wantError(t, post(t, e, "token", "not a token!", "content", "user", "format", "csv"), 403, "csv", "You do not have permissions to use the API")
		wantError(t, post(t, e, "token", strings.Repeat("A", 32), "content", "user"), 403, "xml", "You do not have permissions to use the API")
		// returnFormat wins over format for errors, case-insensitively.
		wantError(t, post(t, e, "token", strings.Repeat("A", 32), "content", "user", "format", "xml", "returnFormat", "JSON"), 403, "json",
			"You do not have permissions to use the API")
		// A lower-case copy of a token is the same token.
		want(t, post(t, e, "token", strings.ToLower(f.token), "content", "version"), 200, "csv", "15.7.6")

		// Content and action.
		wantError(t, post(t, e, "token", f.token, "content", "nonsense", "format", "json"), 400, "json", `The value of the parameter "content" is not valid`)
		wantError(t, post(t, e, "token", f.token, "content", "record", "format", "json"), 400, "json",
			`Roster serves REDCap's project users, user roles and data access groups only; content "record" is not available on this server.`)
		for _, c := range []string{"user", "userRole", "dag"} {
			wantError(t, post(t, e, "token", f.token, "content", c, "action", "frobnicate", "format", "json"), 400, "json",
				`The value of the parameter "action" is not valid`)
		}
		// A dag call with data but no action exports.
		want(t, post(t, e, "token", f.token, "content", "dag", "format", "json", "data", `[{"data_access_group_name":"X","unique_group_name":""}]`), 200, "json", "[]")
		// userDagMapping ignores any action: no data means export.
		want(t, post(t, e, "token", f.token, "content", "userDagMapping", "format", "json", "action", "delete"), 200, "json",
			`[{"username":"jane","redcap_data_access_group":""}]`)
	})
}

func TestTokenStates(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		tok := memberToken(t, e, f.project, "sam", `{"api_export":1,"user_rights":1}`)
		want(t, post(t, e, "token", tok, "content", "version"), 200, "csv", "15.7.6")

		// Expired rights.
		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		addMember(t, e, f.project, "sam", `{"expiration":"`+yesterday+`"}`)
		wantError(t, post(t, e, "token", tok, "content", "user", "format", "json"), 403, "json",
			"You do not have API rights because your privileges have expired for this project as of "+yesterday+".")
		tomorrow := time.Now().UTC().AddDate(0, 0, 2).Format("01/02/2006") // parsed leniently
		addMember(t, e, f.project, "sam", `{"expiration":"`+tomorrow+`"}`)
		want(t, post(t, e, "token", tok, "content", "version"), 200, "csv", "15.7.6")

		// A suspended account's token stops working; reactivated, it works again.
		if _, err := e.Svc.SetState(testkit.Operator(), roster.ParseAccountRef("sam"), roster.StateDeactivated, roster.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		wantError(t, post(t, e, "token", tok, "content", "version"), 403, "xml", "You do not have permissions to use the API")
		if _, err := e.Svc.SetState(testkit.Operator(), roster.ParseAccountRef("sam"), roster.StateActive, roster.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		want(t, post(t, e, "token", tok, "content", "version"), 200, "csv", "15.7.6")

		// A new token replaces the old; a revoked one is dead.
		tok2 := token(t, e, f.project, "sam")
		if len(tok2) != 32 || strings.ToUpper(tok2) != tok2 || tok2 == tok {
			t.Fatalf("new token %q", tok2)
		}
		wantError(t, post(t, e, "token", tok, "content", "version"), 403, "xml", "You do not have permissions to use the API")
		if err := e.Projects.RevokeProjectToken(testkit.Operator(), f.project, "sam"); err != nil {
			t.Fatal(err)
		}
		wantError(t, post(t, e, "token", tok2, "content", "version"), 403, "xml", "You do not have permissions to use the API")

		// Removing the member ends the token.
		tok3 := token(t, e, f.project, "sam")
		if _, err := e.Projects.DeleteProjectUsers(testkit.Operator(), f.project, []string{"sam"}); err != nil {
			t.Fatal(err)
		}
		wantError(t, post(t, e, "token", tok3, "content", "version"), 403, "xml", "You do not have permissions to use the API")

		// Members without an account cannot hold a token.
		addMember(t, e, f.project, "ghost", "")
		_, err := e.Projects.IssueProjectToken(testkit.Operator(), f.project, "ghost")
		if roster.ErrorCode(err) != roster.ECONFLICT {
			t.Fatalf("token for a member without an account: %v", err)
		}
	})
}

func TestPrivilegeChecks(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		const (
			noExport  = "You do not have API Export privileges"
			noImport  = "You do not have API Import/Update privileges"
			noDelete  = "You do not have Delete Record privileges"
			usersExp  = "Insufficient user privileges: You must have 'API Export' privileges and 'User Rights' privileges (Full Access or Read Only) in the project."
			usersImp  = "Insufficient user privileges: You must have 'API Import/Update' privileges and 'User Rights' privileges in the project in order to import/update users via the API Import Users method."
			rolesImp  = "Insufficient user privileges: You must have 'API Import/Update' privileges and 'User Rights' privileges in the project in order to import/update user roles via the API Import User Roles method."
			dagsExp   = "Insufficient user privileges: You must have 'API Export' privileges and 'Data Access Groups' privileges in the project."
			dagsImp   = "Insufficient user privileges: You must have 'API Import/Update' privileges and 'Data Access Groups' privileges in the project."
			usersData = `[{"username":"x"}]`
		)
		nothing := memberToken(t, e, f.project, "nothing", "")
		readOnly := memberToken(t, e, f.project, "reader", `{"api_export":1,"api_import":1,"user_rights":2}`)
		noRights := memberToken(t, e, f.project, "apionly", `{"api_export":1,"api_import":1}`)
		noRecordDelete := memberToken(t, e, f.project, "nodelete", `{"api_export":1,"api_import":1,"user_rights":1}`)

		cases := []struct {
			tok    string
			fields []string
			status int
			msg    string
		}{
			// API rights first (403).
			{nothing, []string{"content", "user"}, 403, noExport},
			{nothing, []string{"content", "userRole"}, 403, noExport},
			{nothing, []string{"content", "userRoleMapping"}, 403, noExport},
			{nothing, []string{"content", "dag"}, 403, noExport},
			{nothing, []string{"content", "userDagMapping"}, 403, noExport},
			{nothing, []string{"content", "project"}, 403, noExport},
			{nothing, []string{"content", "metadata"}, 403, noExport},
			{nothing, []string{"content", "user", "data", usersData}, 403, noImport},
			{nothing, []string{"content", "userRole", "data", `[{"role_label":"x"}]`}, 403, noImport},
			{nothing, []string{"content", "userRoleMapping", "data", `[{"username":"x","unique_role_name":""}]`}, 403, noImport},
			{nothing, []string{"content", "dag", "action", "import", "data", `[]`}, 403, noImport},
			{nothing, []string{"content", "userDagMapping", "data", `[]`}, 403, noImport},
			{nothing, []string{"content", "user", "action", "delete", "users[0]", "x"}, 403, noImport},
			{nothing, []string{"content", "userRole", "action", "delete", "roles[0]", "x"}, 403, noDelete},
			{noRecordDelete, []string{"content", "userRole", "action", "delete", "roles[0]", "x"}, 403, noDelete},
			// Then the rights the call needs (400).
			{noRights, []string{"content", "user"}, 400, usersExp},
			{noRights, []string{"content", "userRole"}, 400, usersExp},
			{noRights, []string{"content", "userRoleMapping"}, 400, usersExp},
			{readOnly, []string{"content", "user", "data", usersData}, 400, usersImp},
			{readOnly, []string{"content", "user", "action", "delete", "users[0]", "x"}, 400, usersImp},
			{readOnly, []string{"content", "userRoleMapping", "data", `[{"username":"x","unique_role_name":""}]`}, 400, usersImp},
			{readOnly, []string{"content", "userRole", "data", `[{"role_label":"x"}]`}, 400, rolesImp},
			{readOnly, []string{"content", "dag"}, 400, dagsExp},
			{readOnly, []string{"content", "userDagMapping"}, 400, dagsExp},
			{readOnly, []string{"content", "dag", "action", "import", "data", `[]`}, 400, dagsImp},
			{readOnly, []string{"content", "dag", "action", "delete", "dags[0]", "x"}, 400, dagsImp},
			{readOnly, []string{"content", "userDagMapping", "data", `[]`}, 400, dagsImp},
		}
		for _, c := range cases {
			fields := append([]string{"token", c.tok, "format", "json"}, c.fields...)
			r := post(t, e, fields...)
			if r.Status != c.status || r.Body != `{"error":`+phpJSON(c.msg)+`}` {
				t.Errorf("%v: got %d %s, want %d %s", c.fields, r.Status, r.Body, c.status, c.msg)
			}
		}
		// Read-only User Rights may export users and roles.
		r := post(t, e, "token", readOnly, "content", "userRole", "format", "json")
		want(t, r, 200, "json", "[]")
		// Nothing was changed by any refused call.
		r = post(t, e, "token", f.token, "content", "user", "format", "csv")
		if strings.Count(r.Body, "\n") != 6 || strings.Contains(r.Body, "\nx,") {
			t.Fatalf("members after refused calls:\n%s", r.Body)
		}
	})
}

func TestUserImportValidation(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		importJSON := func(data string) testkit.Reply {
			return post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "data", data, "format", "json")
		}
		before := post(t, e, "token", f.token, "content", "user", "format", "csv").Body

		// Every problem, in row order, joined by newlines; nothing applied.
		r := importJSON(`[{"username":"ok_user","design":1},
			{"design":1},
			{"username":"bad user!"},
			{"username":"dagless","data_access_group":"nowhere"},
			{"username":"rights","alerts":"2","user_rights":"3","lock_records":"x","reports":"","calendar":"0"},
			{"username":"formy","forms":{"missing_form":1,"day_3":"4"},"forms_export":{"demographics":5}},
			{"username":"dated","expiration":"someday"}]`)
		wantError(t, r, 400, "json", strings.Join([]string{
			`The username is missing for user #2 in the list of users provided.`,
			`username "bad user!" is not in a valid username format. User names can only contain letters, numbers, underscores, hyphens, periods, spaces, apostrophes, and @ symbols.`,
			`data_access_group "nowhere" is not a valid unique Data Access Group name for this project.`,
			`The field named "alerts" for user "rights"  with value "2" is not a valid rights value. It must be 0 or 1.`,
			`The field named "user_rights" for user "rights"  with value "3" is not a valid rights value. It must be 0, 1, or 2.`,
			`The field named "lock_records" for user "rights"  with value "x" is not a valid rights value. It must be 0, 1, or 2.`,
			`The form named "missing_form" is incorrect for the user "formy" The form does not exist in this project.`,
			`The form named "day_3" with value "4" is not a valid form-level rights value. It must be 0, 1, 2 or 3.`,
			`The form named "demographics" with value "5" is not a valid data export rights value. It must be 0, 1, 2 or 3.`,
			`The expiration "someday" for user "dated" is not a valid date (use YYYY-MM-DD).`,
		}, "\n"))
		if after := post(t, e, "token", f.token, "content", "user", "format", "csv").Body; after != before {
			t.Fatalf("a refused import changed the project:\n%s", after)
		}

		// The seed page's "all currently valid options" row imports; email, names and
		// data_access_group_id are ignored; data_export 2 sets every form's export right.
		r = importJSON(`[{"username": "pandeharris@gmail.com", "email": "pandeharris@gmail.com",
			"firstname": "REDCap Trial", "lastname": "User", "expiration": "", "data_access_group": "",
			"data_access_group_id": "", "design": 0, "user_rights": 0, "data_export": 2, "reports": 1,
			"stats_and_charts": 1, "manage_survey_participants": 1, "calendar": 1, "data_access_groups": 0,
			"data_import_tool": 0, "data_comparison_tool": 0, "logging": 0, "file_repository": 1,
			"data_quality_create": 0, "data_quality_execute": 0, "api_export": 0, "api_import": 0, "mobile_app": 0,
			"mobile_app_download_data": 0, "record_create": 1, "record_rename": 0, "record_delete": 0,
			"lock_records_all_forms": 0, "lock_records": 0, "lock_records_customization": 0, "forms": {"demographics": 3}}]`)
		want(t, r, 200, "json", "1")
		seed := user{username: "pandeharris@gmail.com", rights: map[string]int{"reports": 1, "stats_and_charts": 1,
			"manage_survey_participants": 1, "calendar": 1, "file_repository": 1, "record_create": 1},
			forms: "demographics:3,day_3:0,other:0", formsExport: "demographics:2,day_3:2,other:2"}
		want(t, post(t, e, "token", f.token, "content", "user", "format", "json"), 200, "json", "["+jane.json()+","+seed.json()+"]")

		// Re-importing an exported row (all of its keys) works and changes nothing.
		want(t, importJSON("["+seed.json()+"]"), 200, "json", "1")
		want(t, post(t, e, "token", f.token, "content", "user", "format", "json"), 200, "json", "["+jane.json()+","+seed.json()+"]")
		// Keys left out stay; the new forms bitmask values are accepted.
		want(t, importJSON(`[{"username":"PandeHarris@gmail.com","forms":{"other":154},"expiration":"2099/12/31"}]`), 200, "json", "1")
		seed.forms, seed.expiration = "demographics:0,day_3:0,other:154", "2099-12-31"
		want(t, post(t, e, "token", f.token, "content", "user", "format", "json"), 200, "json", "["+jane.json()+","+seed.json()+"]")
		// data=[] is zero users.
		want(t, importJSON(`[]`), 200, "json", "0")

		// Users in a role cannot have their rights changed by import; their DAG and
		// expiration can.
		want(t, post(t, e, "token", f.token, "content", "userRole", "returnFormat", "json", "data", `[{"role_label":"R"}]`, "format", "json"), 200, "json", "1")
		roles, err := e.Projects.ExportProjectRoles(testkit.Operator(), f.project)
		if err != nil {
			t.Fatal(err)
		}
		want(t, post(t, e, "token", f.token, "content", "userRoleMapping", "returnFormat", "json",
			"data", `[{"username":"pandeharris@gmail.com","unique_role_name":"`+roles.Roles[0].UniqueName+`"}]`, "format", "json"), 200, "json", "1")
		wantError(t, importJSON(`[{"username":"pandeharris@gmail.com","design":1}]`), 400, "json",
			`The user "pandeharris@gmail.com" cannot have their user privileges modified because the user belongs to a user role. Users in roles cannot have their privileges modified via the 'Import User' API method.`)
		want(t, importJSON(`[{"username":"pandeharris@gmail.com","expiration":""}]`), 200, "json", "1")

		// Data that is not JSON, or not a list.
		for _, bad := range []string{`{"username":"x"}`, `[{"username":"x"}`, `not json`, `[1,2]`, `[{"username":"x"}] trailing`} {
			wantError(t, importJSON(bad), 400, "json",
				"The data being imported is not formatted correctly. PHP error from JSON decoder: Syntax error. The JSON must be in an array, as in [{ ... }].")
		}
		wantError(t, post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "data", `<users><item><username>x</username>`, "format", "xml"), 400, "json",
			"The data being imported is not formatted correctly. Error: XML syntax error on line 1: unexpected EOF")
	})
}

func TestDeleteErrors(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		addMember(t, e, f.project, "a", "")
		for _, c := range []struct{ content, param string }{{"user", "users"}, {"userRole", "roles"}, {"dag", "dags"}} {
			msg := "The '" + c.param + "' parameter is either missing or is not an array. It must be provided as an array even if it only contains one value."
			wantError(t, post(t, e, "token", f.token, "content", c.content, "returnFormat", "json", "action", "delete"), 400, "json", msg)
			wantError(t, post(t, e, "token", f.token, "content", c.content, "returnFormat", "json", "action", "delete", c.param, "a"), 400, "json", msg)
		}
		wantError(t, post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "action", "delete", "users[0]", "a", "users[1]", "zed", "users[2]", "yak"), 400, "json",
			"One or more of the users provided are not valid usernames that do not exist in this project. Note: No users were deleted. Users that do not exist: zed, yak")
		wantError(t, post(t, e, "token", f.token, "content", "userRole", "returnFormat", "json", "action", "delete", "roles[]", "U-111AAAAAAA"), 400, "json",
			"One or more of the roles provided are not valid rolenames that do not exist in this project. Note: No roles were deleted. Roles that do not exist: U-111AAAAAAA")
		wantError(t, post(t, e, "token", f.token, "content", "dag", "returnFormat", "json", "action", "delete", "dags[0]", "nope"), 400, "json",
			"One or more of the dags provided are not valid unique group names that do not exist in this project. Note: No dags were deleted. DAGs that do not exist: nope")
		// Nothing was deleted; then a PHP-style list with [] and index order deletes.
		addMember(t, e, f.project, "b", "")
		want(t, post(t, e, "token", f.token, "content", "user", "returnFormat", "csv", "action", "delete", "users[1]", "b", "users[0]", "A"), 200, "csv", "2")
		want(t, post(t, e, "token", f.token, "content", "userDagMapping", "format", "json"), 200, "json", `[{"username":"jane","redcap_data_access_group":""}]`)
	})
}

func TestRoleErrors(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		imp := func(data string) testkit.Reply {
			return post(t, e, "token", f.token, "content", "userRole", "returnFormat", "json", "data", data, "format", "json")
		}
		wantError(t, imp(`[{"role_label":""},{"unique_role_name":"U-999XXXXXXX","role_label":"a"},{"role_label":"Q","design":"9","forms":{"zz":1}},{"unique_role_name":"U-888XXXXXXX"}]`), 400, "json",
			strings.Join([]string{
				"The Role Label is blank.",
				`The field named "design" for user role "Q"  with value "9" is not a valid rights value. It must be 0 or 1.`,
				`The form named "zz" is incorrect for the user role "Q" The form does not exist in this project.`,
				"Invalid Unique Role Names: U-999XXXXXXX, U-888XXXXXXX",
			}, "\n"))
		want(t, post(t, e, "token", f.token, "content", "userRole", "format", "json"), 200, "json", "[]")
		// Create two, newest last; update one by name, changing only what is sent.
		want(t, imp(`[{"role_label":"First","calendar":1},{"role_label":"Second","unique_role_name":""}]`), 200, "json", "2")
		v, _ := e.Projects.ExportProjectRoles(testkit.Operator(), f.project)
		if len(v.Roles) != 2 || v.Roles[0].Label != "First" || v.Roles[1].Label != "Second" || v.Roles[0].UniqueName == v.Roles[1].UniqueName {
			t.Fatalf("roles: %+v %+v", v.Roles[0], v.Roles[1])
		}
		want(t, imp(`[{"unique_role_name":"`+v.Roles[0].UniqueName+`","reports":1}]`), 200, "json", "1")
		r := post(t, e, "token", f.token, "content", "userRole", "format", "csv")
		lines := strings.Split(r.Body, "\n")
		wantHeader := strings.Join(roleKeys, ",")
		if lines[0] != wantHeader || !strings.HasPrefix(lines[1], v.Roles[0].UniqueName+",First,0,0,0,0,1,0,0,1,") || len(lines) != 4 {
			t.Fatalf("role csv:\n%s", r.Body)
		}

		// Role mappings.
		mapJSON := func(data string) testkit.Reply {
			return post(t, e, "token", f.token, "content", "userRoleMapping", "returnFormat", "json", "data", data, "format", "json")
		}
		wantError(t, mapJSON(`[{"username":"jane"}]`), 400, "json",
			"One or more components are missing in your input data. The following attributes are required: username, unique_role_name")
		wantError(t, mapJSON(`[{"username":"a","unique_role_name":""},{"username":"A","unique_role_name":""},{"username":"b","unique_role_name":"U-000"}]`), 400, "json",
			"The username \"A\" occurs in more than one record.\nInvalid Unique Role Names: U-000")
		// An unknown username joins the project, in the role.
		want(t, mapJSON(`[{"username":"newbie","unique_role_name":"`+v.Roles[1].UniqueName+`"}]`), 200, "json", "1")
		want(t, post(t, e, "token", f.token, "content", "userRoleMapping", "format", "csv"), 200, "csv",
			"username,unique_role_name\njane,\nnewbie,"+v.Roles[1].UniqueName+"\n")
	})
}

func TestDAGErrors(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		imp := func(data string) testkit.Reply {
			return post(t, e, "token", f.token, "content", "dag", "action", "import", "returnFormat", "json", "data", data, "format", "json")
		}
		wantError(t, imp(`[{"data_access_group_name":"x"}]`), 400, "json",
			"One or more components are missing in your input data. The following attributes are required: data_access_group_name, unique_group_name")
		long := strings.Repeat("x", 101)
		wantError(t, imp(`[{"data_access_group_name":"A","unique_group_name":"ghost"},{"data_access_group_name":" ","unique_group_name":""},{"data_access_group_name":"`+long+`","unique_group_name":""}]`), 400, "json",
			strings.Join([]string{
				`Unique group name "ghost" does not exist in the project. NOTE: The unique group name is auto-generated from the data access group name; to create a new data access group, leave unique_group_name blank.`,
				`The data access group name for unique group name "" is blank. A data access group must have a name.`,
				`The data access group name "` + long + `" must be less than or equal to 100 characters in length.`,
			}, "\n"))
		want(t, imp(`[{"data_access_group_name":"Site A","unique_group_name":""},{"data_access_group_name":"site a","unique_group_name":""}]`), 200, "json", "2")
		r := post(t, e, "token", f.token, "content", "dag", "format", "csv")
		dags, _ := e.Projects.ExportProjectDAGs(testkit.Operator(), f.project)
		want(t, r, 200, "csv", fmt.Sprintf("data_access_group_name,unique_group_name,data_access_group_id\n\"Site A\",site_a,%d\n\"site a\",site_ab,%d\n", dags[0].ID, dags[1].ID))
		// Renaming changes the derived name.
		want(t, imp(`[{"data_access_group_name":"Zeta","unique_group_name":"site_a"}]`), 200, "json", "1")
		want(t, post(t, e, "token", f.token, "content", "dag", "format", "xml"), 200, "xml", xmlHead+fmt.Sprintf(
			"<dags>\n<item><data_access_group_name><![CDATA[Zeta]]></data_access_group_name><unique_group_name><![CDATA[zeta]]></unique_group_name><data_access_group_id><![CDATA[%d]]></data_access_group_id></item>"+
				"<item><data_access_group_name><![CDATA[site a]]></data_access_group_name><unique_group_name><![CDATA[site_a]]></unique_group_name><data_access_group_id><![CDATA[%d]]></data_access_group_id></item>\n</dags>\n",
			dags[0].ID, dags[1].ID))

		// User-DAG mapping.
		mapJSON := func(data string) testkit.Reply {
			return post(t, e, "token", f.token, "content", "userDagMapping", "action", "import", "returnFormat", "json", "data", data, "format", "json")
		}
		wantError(t, mapJSON(`[{"username":"jane"}]`), 400, "json",
			"One or more components are missing in your input data. The following attributes are required: username, redcap_data_access_group")
		wantError(t, mapJSON(`[{"username":"stranger","redcap_data_access_group":""},{"username":"jane","redcap_data_access_group":"nope"},{"username":"jane","redcap_data_access_group":"zeta"},{"username":"Jane","redcap_data_access_group":""}]`), 400, "json",
			strings.Join([]string{`The username "stranger" does not exist in the project.`, `Unique group name "nope" does not exist in the project.`,
				`The username "jane" occurs in more than one record.`, `The username "Jane" occurs in more than one record.`}, "\n"))

		// switch_dag's failures are 200 with ERROR: in the body.
		want(t, post(t, e, "token", f.token, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", "nope"), 200, "csv", "ERROR: Invalid DAG")
		other := memberToken(t, e, f.project, "limited", `{"api_export":1}`)
		want(t, post(t, e, "token", other, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", "zeta"), 200, "csv", "ERROR: User/DAG assignment not permitted")
		want(t, post(t, e, "token", f.token, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", "zeta"), 200, "csv", "ERROR: User/DAG assignment not permitted")
		assignDAGs(t, e, f.project, "jane", "zeta", "")
		assignDAGs(t, e, f.project, "limited", "zeta")
		// The assignment decides, not the Data Access Groups right.
		want(t, post(t, e, "token", other, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", "zeta"), 200, "csv", "1")
		want(t, post(t, e, "token", f.token, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", "zeta"), 200, "csv", "1")
		// Confined to a DAG: DAG calls other than switch are refused, user-DAG imports too.
		dagMsg := "You do not have permission to export/import/delete Data Access Groups because you have been assigned to a Data Access Group."
		wantError(t, imp(`[]`), 403, "json", dagMsg)
		wantError(t, post(t, e, "token", f.token, "content", "dag", "returnFormat", "json", "action", "delete", "dags[0]", "zeta"), 403, "json", dagMsg)
		wantError(t, mapJSON(`[]`), 403, "json", dagMsg)
		want(t, post(t, e, "token", f.token, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", "0"), 200, "csv", "1")
		want(t, post(t, e, "token", f.token, "content", "dag", "returnFormat", "json", "action", "delete", "dags[0]", "zeta", "dags[1]", "site_a"), 200, "json", "2")
	})
}

// TestDAGConfinement: a requester assigned to a DAG sees only that DAG's users in the
// user, role-mapping and user-DAG exports, and cannot delete users outside it.
func TestDAGConfinement(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		want(t, post(t, e, "token", f.token, "content", "dag", "action", "import", "returnFormat", "json", "format", "json",
			"data", `[{"data_access_group_name":"North","unique_group_name":""},{"data_access_group_name":"South","unique_group_name":""}]`), 200, "json", "2")
		addMember(t, e, f.project, "n1", `{"data_access_group":"north"}`)
		addMember(t, e, f.project, "s1", `{"data_access_group":"south"}`)
		tok := memberToken(t, e, f.project, "north_admin", `{"data_access_group":"north","api_export":1,"api_import":1,"user_rights":1}`)
		r := post(t, e, "token", tok, "content", "user", "format", "csv")
		if !strings.Contains(r.Body, "\nn1,") || !strings.Contains(r.Body, "\nnorth_admin,") || strings.Contains(r.Body, "s1") || strings.Contains(r.Body, "jane") {
			t.Fatalf("confined user export:\n%s", r.Body)
		}
		want(t, post(t, e, "token", tok, "content", "userRoleMapping", "format", "csv"), 200, "csv",
			"username,unique_role_name,data_access_group\nn1,,north\nnorth_admin,,north\n")
		wantError(t, post(t, e, "token", tok, "content", "userDagMapping", "format", "json"), 400, "json",
			"Insufficient user privileges: You must have 'API Export' privileges and 'Data Access Groups' privileges in the project.")
		wantError(t, post(t, e, "token", tok, "content", "user", "returnFormat", "json", "action", "delete", "users[0]", "s1"), 400, "json",
			"One or more of the users provided are not valid usernames that do not exist in this project. Note: No users were deleted. Users that do not exist: s1")
	})
}

// TestDAGConfinedImports: a requester confined to a DAG changes only its DAG's members,
// and the members it adds join its DAG.
func TestDAGConfinedImports(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		want(t, post(t, e, "token", f.token, "content", "dag", "action", "import", "returnFormat", "json", "format", "json",
			"data", `[{"data_access_group_name":"North","unique_group_name":""},{"data_access_group_name":"South","unique_group_name":""}]`), 200, "json", "2")
		addMember(t, e, f.project, "s1", `{"data_access_group":"south"}`)
		tok := memberToken(t, e, f.project, "north_admin", `{"data_access_group":"north","api_export":1,"api_import":1,"user_rights":1}`)
		before := post(t, e, "token", f.token, "content", "user", "format", "csv").Body
		imp := func(content, data string) testkit.Reply {
			return post(t, e, "token", tok, "content", content, "returnFormat", "json", "format", "json", "data", data)
		}
		wantError(t, imp("user", `[{"username":"s1","design":1},{"username":"jane","data_access_group":"north"},{"username":"north_admin","data_access_group":""},{"username":"n2","data_access_group":"south"}]`), 400, "json",
			strings.Join([]string{
				`The user "s1" is not in your Data Access Group, so you may not change their privileges or role.`,
				`The user "jane" is not in your Data Access Group, so you may not change their privileges or role.`,
				`You have been assigned to a Data Access Group, so you may only assign users to your own Data Access Group.`,
				`You have been assigned to a Data Access Group, so you may only assign users to your own Data Access Group.`,
			}, "\n"))
		wantError(t, imp("userRoleMapping", `[{"username":"s1","unique_role_name":""}]`), 400, "json",
			`The user "s1" is not in your Data Access Group, so you may not change their privileges or role.`)
		if after := post(t, e, "token", f.token, "content", "user", "format", "csv").Body; after != before {
			t.Fatalf("refused imports changed members:\n%s", after)
		}
		// A new member joins the requester's DAG, with or without naming it.
		want(t, imp("user", `[{"username":"n2"},{"username":"n3","data_access_group":"north"}]`), 200, "json", "2")
		want(t, imp("userRoleMapping", `[{"username":"n4","unique_role_name":""}]`), 200, "json", "1")
		want(t, post(t, e, "token", f.token, "content", "userDagMapping", "format", "csv"), 200, "csv",
			"username,redcap_data_access_group\njane,\nn2,north\nn3,north\nn4,north\nnorth_admin,north\ns1,south\n")
	})
}

// TestBadTextAndShapes: text that breaks the text rule, and a list or object where one
// value belongs, are refused row by row in REDCap's error format, the same on both
// engines, and nothing is written.
func TestBadTextAndShapes(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		for _, c := range []struct{ content, data, field string }{
			{"dag", `[{"data_access_group_name":"Site\u0000A","unique_group_name":""}]`, "data access group name"},
			{"dag", "[{\"data_access_group_name\":\"Caf\xe9\",\"unique_group_name\":\"\"}]", "Malformed UTF-8 characters"},
			{"dag", "data_access_group_name,unique_group_name\nCaf\xe9,\n", "data access group name"},
			{"userRole", `[{"unique_role_name":"","role_label":"Mon\u0000itors"}]`, "Role Label"},
			{"user", `[{"username":"ja\u0000ne"}]`, "not in a valid username format"},
			{"userRoleMapping", `[{"username":"jane","unique_role_name":["U-123ABCDEFG"]}]`, "not a list or an object"},
			{"userDagMapping", `[{"username":"jane","redcap_data_access_group":{"a":"b"}}]`, "not a list or an object"},
		} {
			format := "json"
			if !strings.HasPrefix(c.data, "[") {
				format = "csv"
			}
			r := post(t, e, "token", f.token, "content", c.content, "action", "import", "format", format, "returnFormat", "json", "data", c.data)
			if r.Status != 400 || !strings.Contains(r.Body, c.field) {
				t.Errorf("%s import of %s: %d %s", c.content, c.data, r.Status, r.Body)
			}
		}
		for _, c := range []string{"dag", "userRole"} {
			want(t, post(t, e, "token", f.token, "content", c, "format", "json"), 200, "json", "[]")
		}
	})
}
