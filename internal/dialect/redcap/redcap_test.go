package redcap_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

func engines(t *testing.T, fn func(t *testing.T, e *testkit.Env)) {
	testkit.Engines(t, fn)
}

// post sends form fields in the order given, form-encoded as requests does for PyCap.
func post(t *testing.T, e *testkit.Env, fields ...string) testkit.Reply {
	t.Helper()
	var parts []string
	for i := 0; i+1 < len(fields); i += 2 {
		parts = append(parts, url.QueryEscape(fields[i])+"="+url.QueryEscape(fields[i+1]))
	}
	return e.Do(t, "POST", "/api/", strings.Join(parts, "&"), "Content-Type", "application/x-www-form-urlencoded",
		"User-Agent", "python-requests/2.31.0")
}

var contentTypes = map[string]string{"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8", "xml": "text/xml; charset=utf-8"}

func want(t *testing.T, r testkit.Reply, status int, format, body string) {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Fatalf("got %d %q\nwant %d %q", r.Status, r.Body, status, body)
	}
	if ct := r.Header.Get("Content-Type"); ct != contentTypes[format] {
		t.Fatalf("Content-Type %q, want %q", ct, contentTypes[format])
	}
}

// wantError checks an error in each of REDCap's three shapes.
func wantError(t *testing.T, r testkit.Reply, status int, format, msg string) {
	t.Helper()
	body := map[string]string{
		"json": `{"error":` + phpJSON(msg) + `}`,
		"csv":  "ERROR: " + msg,
		"xml":  `<?xml version="1.0" encoding="UTF-8" ?><hash><error>` + msg + `</error></hash>`,
	}[format]
	want(t, r, status, format, body)
}

// phpJSON encodes a string as PHP's json_encode does: slashes escaped, and everything
// beyond ASCII as \u escapes.
func phpJSON(s string) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // PHP leaves < > & as they are
	enc.Encode(s)
	b := strings.TrimSuffix(buf.String(), "\n")
	var out strings.Builder
	for _, r := range strings.ReplaceAll(b, "/", `\/`) {
		if r < 128 {
			out.WriteRune(r)
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			fmt.Fprintf(&out, `\u%04x`, u)
		}
	}
	return out.String()
}

type fixture struct {
	project int64
	token   string // jane's: every right a PyCap session needs
}

const janeRights = `{"design":1,"user_rights":1,"data_access_groups":1,"api_export":1,"api_import":1,"record_delete":1,
	"forms":{"demographics":1,"day_3":1,"other":1},"forms_export":{"demographics":1}}`

func setup(t *testing.T, e *testkit.Env) fixture {
	t.Helper()
	p, err := e.Projects.CreateProject(testkit.Operator(), &roster.Project{Title: "Demo Study", Purpose: 2, Notes: "A/B test",
		Forms: []roster.Form{{Name: "demographics"}, {Name: "day_3"}, {Name: "other", Label: "Other things"}}})
	if err != nil {
		t.Fatal(err)
	}
	e.Account(t, map[string]any{"username": "jane", "email": "jane@example.org", "first_name": "Jane", "last_name": "Doe"})
	addMember(t, e, p.ID, "jane", janeRights)
	return fixture{project: p.ID, token: token(t, e, p.ID, "jane")}
}

func addMember(t *testing.T, e *testkit.Env, project int64, username, rightsJSON string) {
	t.Helper()
	in := map[string]any{}
	if rightsJSON != "" {
		if err := json.Unmarshal([]byte(rightsJSON), &in); err != nil {
			t.Fatal(err)
		}
	}
	in["username"] = username
	if _, err := e.Projects.ImportProjectUsers(testkit.Operator(), project, roster.NewSliceRows([]roster.MemberRow{roster.MemberRowFromJSON(in)})); err != nil {
		t.Fatal(err)
	}
}

// assignDAGs sets, as the operator, the DAGs a member may switch among ("" for none).
func assignDAGs(t *testing.T, e *testkit.Env, project int64, username string, dags ...string) {
	t.Helper()
	if dags == nil {
		dags = []string{}
	}
	row := roster.MemberRow{Fields: map[string]string{"username": username}, DAGSwitch: dags}
	if err := e.Projects.PutProjectMember(testkit.Operator(), project, row); err != nil {
		t.Fatal(err)
	}
}

func token(t *testing.T, e *testkit.Env, project int64, username string) string {
	t.Helper()
	tok, err := e.Projects.IssueProjectToken(testkit.Operator(), project, username)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// userKeys is a user export's keys in REDCap 15.7's order (mobile app enabled; MyCap,
// data resolution, double data entry and randomization off).
var userKeys = strings.Fields(`username email firstname lastname expiration data_access_group data_access_group_id design
	alerts user_rights data_access_groups reports stats_and_charts manage_survey_participants calendar data_import_tool
	data_comparison_tool logging email_logging file_repository data_quality_create data_quality_execute api_export api_import
	api_modules mobile_app mobile_app_download_data record_create record_rename record_delete lock_records_all_forms
	lock_records lock_records_customization forms forms_export`)

var roleKeys = strings.Fields(`unique_role_name role_label design alerts user_rights data_access_groups reports
	stats_and_charts manage_survey_participants calendar data_import_tool data_comparison_tool logging email_logging
	file_repository data_quality_create data_quality_execute api_export api_import api_modules mobile_app
	mobile_app_download_data record_create record_rename record_delete lock_records_customization lock_records
	lock_records_all_forms forms forms_export`)

// user describes an expected exported user: its strings, and the rights that are not 0.
type user struct {
	username, email, first, last, expiration, dag string
	dagID                                         int64
	rights                                        map[string]int
	forms, formsExport                            string // "demographics:1,day_3:0,other:0"
}

func pairs(s string) [][2]string {
	var out [][2]string
	for _, p := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(p, ":")
		out = append(out, [2]string{k, v})
	}
	return out
}

func (u user) json() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range userKeys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + k + `":`)
		switch k {
		case "username", "email", "firstname", "lastname", "expiration", "data_access_group":
			b.WriteString(phpJSON(map[string]string{"username": u.username, "email": u.email, "firstname": u.first,
				"lastname": u.last, "expiration": u.expiration, "data_access_group": u.dag}[k]))
		case "data_access_group_id":
			if u.dagID == 0 {
				b.WriteString(`""`)
			} else {
				fmt.Fprint(&b, u.dagID)
			}
		case "forms", "forms_export":
			f := u.forms
			if k == "forms_export" {
				f = u.formsExport
			}
			b.WriteByte('{')
			for j, p := range pairs(f) {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(`"` + p[0] + `":` + p[1])
			}
			b.WriteByte('}')
		default:
			fmt.Fprint(&b, u.rights[k])
		}
	}
	return b.String() + "}"
}

func (u user) csv() string {
	var cells []string
	for _, k := range userKeys {
		switch k {
		case "username":
			cells = append(cells, u.username)
		case "email":
			cells = append(cells, u.email)
		case "firstname":
			cells = append(cells, u.first)
		case "lastname":
			cells = append(cells, u.last)
		case "expiration":
			cells = append(cells, u.expiration)
		case "data_access_group":
			cells = append(cells, u.dag)
		case "data_access_group_id":
			if u.dagID == 0 {
				cells = append(cells, "")
			} else {
				cells = append(cells, fmt.Sprint(u.dagID))
			}
		case "forms":
			cells = append(cells, `"`+u.forms+`"`)
		case "forms_export":
			cells = append(cells, `"`+u.formsExport+`"`)
		default:
			cells = append(cells, fmt.Sprint(u.rights[k]))
		}
	}
	return strings.Join(cells, ",") + "\n"
}

func (u user) xml() string {
	var b strings.Builder
	b.WriteString("<item>")
	for _, k := range userKeys {
		b.WriteString("<" + k + ">")
		switch k {
		case "username":
			b.WriteString(u.username)
		case "email":
			b.WriteString(u.email)
		case "firstname":
			b.WriteString(u.first)
		case "lastname":
			b.WriteString(u.last)
		case "expiration":
			b.WriteString(u.expiration)
		case "data_access_group":
			b.WriteString(u.dag)
		case "data_access_group_id":
			if u.dagID != 0 {
				fmt.Fprint(&b, u.dagID)
			}
		case "forms", "forms_export":
			f := u.forms
			if k == "forms_export" {
				f = u.formsExport
			}
			for _, p := range pairs(f) {
				b.WriteString("<" + p[0] + ">" + p[1] + "</" + p[0] + ">")
			}
		default:
			fmt.Fprint(&b, u.rights[k])
		}
		b.WriteString("</" + k + ">")
	}
	return b.String() + "</item>"
}

var jane = user{username: "jane", email: "jane@example.org", first: "Jane", last: "Doe",
	rights: map[string]int{"design": 1, "user_rights": 1, "data_access_groups": 1, "api_export": 1, "api_import": 1, "record_delete": 1},
	forms:  "demographics:1,day_3:1,other:1", formsExport: "demographics:1,day_3:0,other:0"}

var csvHeader = strings.Join(userKeys, ",") + "\n"

const xmlHead = `<?xml version="1.0" encoding="UTF-8" ?>` + "\n"

var roleNameFormat = regexp.MustCompile(`^U-[1-9]{3}[34789ACDEFHJKLMNPRTWXY]{7}$`)

// TestPyCapSession replays, request for request, what PyCap sends for every method the
// REDCap issue lists, and checks each answer byte for byte.
func TestPyCapSession(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		tok := f.token

		// Project(url, token): the lazy properties.
		want(t, post(t, e, "token", tok, "content", "version"), 200, "csv", "15.7.6")
		want(t, post(t, e, "token", tok, "content", "metadata", "format", "json"), 200, "json",
			`[{"field_name":"record_id","form_name":"demographics","section_header":"","field_type":"text","field_label":"Record ID","select_choices_or_calculations":"","field_note":"","text_validation_type_or_show_slider_number":"","text_validation_min":"","text_validation_max":"","identifier":"","branching_logic":"","required_field":"","custom_alignment":"","question_number":"","matrix_group_name":"","matrix_ranking":"","field_annotation":""},`+
				`{"field_name":"day_3_intro","form_name":"day_3","section_header":"","field_type":"descriptive","field_label":"Day 3","select_choices_or_calculations":"","field_note":"","text_validation_type_or_show_slider_number":"","text_validation_min":"","text_validation_max":"","identifier":"","branching_logic":"","required_field":"","custom_alignment":"","question_number":"","matrix_group_name":"","matrix_ranking":"","field_annotation":""},`+
				`{"field_name":"other_intro","form_name":"other","section_header":"","field_type":"descriptive","field_label":"Other things","select_choices_or_calculations":"","field_note":"","text_validation_type_or_show_slider_number":"","text_validation_min":"","text_validation_max":"","identifier":"","branching_logic":"","required_field":"","custom_alignment":"","question_number":"","matrix_group_name":"","matrix_ranking":"","field_annotation":""}]`)
		wantError(t, post(t, e, "token", tok, "content", "formEventMapping", "format", "json"), 400, "json",
			"You cannot export form/event mappings for classic projects")

		// export_project_info()
		p, err := e.Projects.GetProject(testkit.Operator(), f.project)
		if err != nil {
			t.Fatal(err)
		}
		want(t, post(t, e, "token", tok, "content", "project", "format", "json"), 200, "json",
			fmt.Sprintf(`{"project_id":%d,"project_title":"Demo Study","creation_time":"%s","production_time":"","in_production":0,"project_language":"English","purpose":2,"purpose_other":"","project_notes":"A\/B test","custom_record_label":"","secondary_unique_field":"","is_longitudinal":0,"has_repeating_instruments_or_events":0,"surveys_enabled":0,"scheduling_enabled":0,"record_autonumbering_enabled":0,"randomization_enabled":0,"ddp_enabled":0,"project_irb_number":"","project_grant_number":"","project_pi_firstname":"","project_pi_lastname":"","display_today_now_button":1,"missing_data_codes":"","external_modules":"","bypass_branching_erase_field_prompt":0}`,
				f.project, p.CreatedAt.Format("2006-01-02 15:04:05")))

		// export_users() in json and csv (df asks for csv).
		want(t, post(t, e, "token", tok, "content", "user", "format", "json"), 200, "json", "["+jane.json()+"]")
		want(t, post(t, e, "token", tok, "content", "user", "format", "csv"), 200, "csv", csvHeader+jane.csv())

		// import_users(): a new user, then an update, then a bad row.
		want(t, post(t, e, "token", tok, "content", "user", "returnFormat", "json",
			"data", `[{"username":"new_user","design":1,"forms":{"demographics":2}}]`, "format", "json"), 200, "json", "1")
		newUser := user{username: "new_user", rights: map[string]int{"design": 1}, forms: "demographics:2,day_3:0,other:0", formsExport: "demographics:0,day_3:0,other:0"}
		want(t, post(t, e, "token", tok, "content", "user", "format", "json"), 200, "json", "["+jane.json()+","+newUser.json()+"]")
		want(t, post(t, e, "token", tok, "content", "user", "returnFormat", "csv",
			"data", `[{"username":"new_user","reports":1,"forms":{"day_3":3}}]`, "format", "json"), 200, "csv", "1")
		newUser.rights = map[string]int{"design": 1, "reports": 1}
		newUser.forms = "demographics:0,day_3:3,other:0" // forms left out of a sent forms map drop to 0
		want(t, post(t, e, "token", tok, "content", "user", "format", "csv"), 200, "csv", csvHeader+jane.csv()+newUser.csv())
		wantError(t, post(t, e, "token", tok, "content", "user", "returnFormat", "json",
			"data", `[{"username":"new_user","design":5},{"username":"another"}]`, "format", "json"), 400, "json",
			`The field named "design" for user "new_user"  with value "5" is not a valid rights value. It must be 0 or 1.`)
		want(t, post(t, e, "token", tok, "content", "user", "format", "csv"), 200, "csv", csvHeader+jane.csv()+newUser.csv())

		// Roles: import, export, assignment.
		want(t, post(t, e, "token", tok, "content", "userRole", "returnFormat", "json",
			"data", `[{"role_label":"Monitor","reports":1,"forms":{"day_3":2}}]`, "format", "json"), 200, "json", "1")
		r := post(t, e, "token", tok, "content", "userRole", "format", "json")
		var roles []map[string]any
		if err := json.Unmarshal([]byte(r.Body), &roles); err != nil || len(roles) != 1 {
			t.Fatalf("export_user_roles: %s", r.Body)
		}
		role := roles[0]["unique_role_name"].(string)
		if !roleNameFormat.MatchString(role) {
			t.Fatalf("unique_role_name %q is not REDCap's form", role)
		}
		var rb strings.Builder
		for _, k := range roleKeys {
			switch k {
			case "unique_role_name":
				rb.WriteString(`{"unique_role_name":"` + role + `"`)
			case "role_label":
				rb.WriteString(`,"role_label":"Monitor"`)
			case "forms":
				rb.WriteString(`,"forms":{"demographics":0,"day_3":2,"other":0}`)
			case "forms_export":
				rb.WriteString(`,"forms_export":{"demographics":0,"day_3":0,"other":0}`)
			case "reports":
				rb.WriteString(`,"reports":"1"`)
			default:
				rb.WriteString(`,"` + k + `":"0"`)
			}
		}
		want(t, r, 200, "json", "["+rb.String()+"}]")

		want(t, post(t, e, "token", tok, "content", "userRoleMapping", "returnFormat", "json",
			"data", `[{"username":"new_user","unique_role_name":"`+role+`"}]`, "format", "json"), 200, "json", "1")
		want(t, post(t, e, "token", tok, "content", "userRoleMapping", "format", "json"), 200, "json",
			`[{"username":"jane","unique_role_name":""},{"username":"new_user","unique_role_name":"`+role+`"}]`)
		// A user in a role is exported with the role's rights.
		inRole := user{username: "new_user", rights: map[string]int{"reports": 1}, forms: "demographics:0,day_3:2,other:0", formsExport: "demographics:0,day_3:0,other:0"}
		want(t, post(t, e, "token", tok, "content", "user", "format", "json"), 200, "json", "["+jane.json()+","+inRole.json()+"]")

		// DAGs.
		want(t, post(t, e, "token", tok, "content", "dag", "returnFormat", "json",
			"data", `[{"data_access_group_name":"Test DAG","unique_group_name":""}]`, "format", "json", "action", "import"), 200, "json", "1")
		r = post(t, e, "token", tok, "content", "dag", "format", "json")
		var dags []struct {
			ID int64 `json:"data_access_group_id"`
		}
		if json.Unmarshal([]byte(r.Body), &dags) != nil || len(dags) != 1 {
			t.Fatalf("export_dags: %s", r.Body)
		}
		want(t, r, 200, "json", fmt.Sprintf(`[{"data_access_group_name":"Test DAG","unique_group_name":"test_dag","data_access_group_id":%d}]`, dags[0].ID))
		want(t, post(t, e, "token", tok, "content", "userDagMapping", "returnFormat", "json",
			"data", `[{"username":"new_user","redcap_data_access_group":"test_dag"}]`, "format", "json", "action", "import"), 200, "json", "1")
		want(t, post(t, e, "token", tok, "content", "userDagMapping", "format", "json"), 200, "json",
			`[{"username":"jane","redcap_data_access_group":""},{"username":"new_user","redcap_data_access_group":"test_dag"}]`)
		// With a DAG in the project, role mappings carry the DAG.
		want(t, post(t, e, "token", tok, "content", "userRoleMapping", "format", "json"), 200, "json",
			`[{"username":"jane","unique_role_name":"","data_access_group":""},{"username":"new_user","unique_role_name":"`+role+`","data_access_group":"test_dag"}]`)
		inRole.dag, inRole.dagID = "test_dag", dags[0].ID
		want(t, post(t, e, "token", tok, "content", "user", "format", "json"), 200, "json", "["+jane.json()+","+inRole.json()+"]")

		// switch_dag: refused until an administrator assigns the DAGs (REDCap's DAG
		// Switcher), then into the DAG and out again.
		want(t, post(t, e, "token", tok, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", "test_dag"), 200, "csv",
			"ERROR: User/DAG assignment not permitted")
		assignDAGs(t, e, f.project, "jane", "test_dag", "")
		want(t, post(t, e, "token", tok, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", "test_dag"), 200, "csv", "1")
		confined := jane
		confined.dag, confined.dagID = "test_dag", dags[0].ID
		want(t, post(t, e, "token", tok, "content", "user", "format", "json"), 200, "json", "["+confined.json()+","+inRole.json()+"]")
		wantError(t, post(t, e, "token", tok, "content", "dag", "format", "json"), 403, "json",
			"You do not have permission to export/import/delete Data Access Groups because you have been assigned to a Data Access Group.")
		want(t, post(t, e, "token", tok, "content", "dag", "returnFormat", "csv", "action", "switch", "dag", ""), 200, "csv", "1")

		// Deletes.
		want(t, post(t, e, "token", tok, "content", "userRole", "returnFormat", "json", "action", "delete", "roles[0]", role), 200, "json", "1")
		want(t, post(t, e, "token", tok, "content", "userRole", "format", "json"), 200, "json", "[]")
		// Leaving a deleted role keeps its rights.
		inRole.rights = map[string]int{"reports": 1}
		want(t, post(t, e, "token", tok, "content", "user", "format", "json"), 200, "json", "["+jane.json()+","+inRole.json()+"]")
		want(t, post(t, e, "token", tok, "content", "dag", "returnFormat", "json", "action", "delete", "dags[0]", "test_dag"), 200, "json", "1")
		want(t, post(t, e, "token", tok, "content", "dag", "format", "json"), 200, "json", "[]")
		want(t, post(t, e, "token", tok, "content", "user", "returnFormat", "json", "action", "delete", "users[0]", "new_user"), 200, "json", "1")
		want(t, post(t, e, "token", tok, "content", "user", "format", "json"), 200, "json", "["+jane.json()+"]")
		// delete_users(..., return_format_type="xml") answers a bare 1 too.
		addMember(t, e, f.project, "temp", "")
		want(t, post(t, e, "token", tok, "content", "user", "returnFormat", "xml", "action", "delete", "users[0]", "temp"), 200, "xml", "1")
	})
}
