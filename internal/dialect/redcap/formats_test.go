package redcap_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/testkit"
)

// TestFormats: exports in csv and xml, REDCap's CSV rules and escaping, and round trips:
// what an export gives, an import takes back unchanged, in every format.
func TestFormats(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		e.Account(t, map[string]any{"username": "-dash", "email": "=sum@example.org", "first_name": "Mary Ann", "last_name": "Müller/Ö \"Q\""})
		addMember(t, e, f.project, "-dash", `{"calendar":1,"forms":{"demographics":2,"other":3}}`)
		dash := user{username: "-dash", email: "=sum@example.org", first: "Mary Ann", last: "Müller/Ö \"Q\"", rights: map[string]int{"calendar": 1},
			forms: "demographics:2,day_3:0,other:3", formsExport: "demographics:0,day_3:0,other:0"}

		// JSON escapes as PHP does: slashes, and everything beyond ASCII as \u.
		r := post(t, e, "token", f.token, "content", "user", "format", "json")
		want(t, r, 200, "json", "["+jane.json()+","+dash.json()+"]")
		if !strings.Contains(r.Body, `"lastname":"M\u00fcller\/\u00d6 \"Q\""`) {
			t.Fatalf("PHP-style escaping missing: %s", r.Body)
		}

		// CSV: quoted only for , " newline tab or space; TAB before = - + @.
		r = post(t, e, "token", f.token, "content", "user", "format", "csv")
		dashCSV := strings.Join([]string{"\"\t-dash\"", "\"\t=sum@example.org\"", `"Mary Ann"`, `"Müller/Ö ""Q"""`}, ",") +
			",,,,0,0,0,0,0,0,0,1," + strings.Repeat("0,", 18) + "\"demographics:2,day_3:0,other:3\",\"demographics:0,day_3:0,other:0\"\n"
		want(t, r, 200, "csv", csvHeader+jane.csv()+dashCSV)
		csvExport := r.Body

		// XML.
		r = post(t, e, "token", f.token, "content", "user", "format", "xml")
		want(t, r, 200, "xml", xmlHead+"<users>\n"+jane.xml()+dash.xml()+"\n</users>\n")
		xmlExport := r.Body

		// Round trips: re-import each export; the project is unchanged.
		for _, c := range []struct{ format, data string }{{"csv", csvExport}, {"xml", xmlExport}, {"json", post(t, e, "token", f.token, "content", "user", "format", "json").Body}} {
			want(t, post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "data", c.data, "format", c.format), 200, "json", "2")
			want(t, post(t, e, "token", f.token, "content", "user", "format", "csv"), 200, "csv", csvExport)
		}

		// Imports in csv and xml change rights.
		want(t, post(t, e, "token", f.token, "content", "user", "returnFormat", "csv", "format", "csv",
			"data", "username,design,forms,forms_export\ncsv_user,1,\"demographics:1,day_3:2\",other:1\n"), 200, "csv", "1")
		want(t, post(t, e, "token", f.token, "content", "user", "returnFormat", "xml", "format", "xml",
			"data", `<?xml version="1.0" encoding="UTF-8" ?><users><item><username>xml_user</username><alerts>1</alerts><forms><day_3>3</day_3></forms><forms_export><demographics>2</demographics></forms_export></item></users>`), 200, "xml", "1")
		csvUser := user{username: "csv_user", rights: map[string]int{"design": 1}, forms: "demographics:1,day_3:2,other:0", formsExport: "demographics:0,day_3:0,other:1"}
		xmlUser := user{username: "xml_user", rights: map[string]int{"alerts": 1}, forms: "demographics:0,day_3:3,other:0", formsExport: "demographics:2,day_3:0,other:0"}
		want(t, post(t, e, "token", f.token, "content", "user", "format", "csv"), 200, "csv", csvExport+csvUser.csv()+xmlUser.csv())

		// Roles round-trip in csv and xml, with string rights.
		want(t, post(t, e, "token", f.token, "content", "userRole", "returnFormat", "json", "format", "csv",
			"data", "role_label,reports,forms\nAuditors,1,\"day_3:2,other:1\"\n"), 200, "json", "1")
		roles := post(t, e, "token", f.token, "content", "userRole", "format", "xml").Body
		if !strings.HasPrefix(roles, xmlHead+"<userRoles>\n<item><unique_role_name>U-") || !strings.Contains(roles, "<role_label>Auditors</role_label><design>0</design>") ||
			!strings.Contains(roles, "<forms><demographics>0</demographics><day_3>2</day_3><other>1</other></forms>") || !strings.HasSuffix(roles, "</item>\n</userRoles>\n") {
			t.Fatalf("role xml:\n%s", roles)
		}
		want(t, post(t, e, "token", f.token, "content", "userRole", "returnFormat", "json", "format", "xml", "data", roles), 200, "json", "1")
		want(t, post(t, e, "token", f.token, "content", "userRole", "format", "xml"), 200, "xml", roles)
		rolesCSV := post(t, e, "token", f.token, "content", "userRole", "format", "csv").Body
		want(t, post(t, e, "token", f.token, "content", "userRole", "returnFormat", "json", "format", "csv", "data", rolesCSV), 200, "json", "1")
		want(t, post(t, e, "token", f.token, "content", "userRole", "format", "csv"), 200, "csv", rolesCSV)

		// Mappings in xml use CDATA, and import back.
		want(t, post(t, e, "token", f.token, "content", "userDagMapping", "format", "xml"), 200, "xml", xmlHead+"<items>\n"+
			"<item><username><![CDATA[-dash]]></username><redcap_data_access_group><![CDATA[]]></redcap_data_access_group></item>"+
			"<item><username><![CDATA[csv_user]]></username><redcap_data_access_group><![CDATA[]]></redcap_data_access_group></item>"+
			"<item><username><![CDATA[jane]]></username><redcap_data_access_group><![CDATA[]]></redcap_data_access_group></item>"+
			"<item><username><![CDATA[xml_user]]></username><redcap_data_access_group><![CDATA[]]></redcap_data_access_group></item>\n</items>\n")
		mapping := post(t, e, "token", f.token, "content", "userRoleMapping", "format", "xml").Body
		want(t, post(t, e, "token", f.token, "content", "userRoleMapping", "returnFormat", "json", "format", "xml", "data", mapping), 200, "json", "4")

		// Empty exports: JSON [], CSV empty or REDCap's fixed header, XML the bare root.
		want(t, post(t, e, "token", f.token, "content", "dag", "format", "json"), 200, "json", "[]")
		want(t, post(t, e, "token", f.token, "content", "dag", "format", "csv"), 200, "csv", "data_access_group_name,unique_group_name,data_access_group_id\n")
		want(t, post(t, e, "token", f.token, "content", "dag", "format", "xml"), 200, "xml", xmlHead+"<dags>\n\n</dags>\n")
		want(t, post(t, e, "token", f.token, "content", "dag", "format", "odm"), 200, "xml", xmlHead+"<dags>\n\n</dags>\n")

		// Project info in csv and xml.
		r = post(t, e, "token", f.token, "content", "project", "format", "csv")
		if lines := strings.Split(r.Body, "\n"); len(lines) != 3 || !strings.HasPrefix(lines[0], "project_id,project_title,creation_time,") ||
			!strings.Contains(lines[1], `,"Demo Study",`) {
			t.Fatalf("project csv: %q", r.Body)
		}
		r = post(t, e, "token", f.token, "content", "project", "format", "xml")
		if !strings.HasPrefix(r.Body, xmlHead+"<items><project_id><![CDATA[") || !strings.Contains(r.Body, "<project_title><![CDATA[Demo Study]]></project_title>") ||
			!strings.HasSuffix(r.Body, "</bypass_branching_erase_field_prompt></items>\n") {
			t.Fatalf("project xml: %q", r.Body)
		}
		// Metadata filtered by form.
		r = post(t, e, "token", f.token, "content", "metadata", "format", "csv", "forms[0]", "other")
		if lines := strings.Split(r.Body, "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], "other_intro,other,,descriptive,\"Other things\",") {
			t.Fatalf("metadata csv: %q", r.Body)
		}
	})
}

// TestMultipartAndLargeImport: data sent as multipart, and an import larger than what
// the form reader keeps in memory.
func TestMultipartAndLargeImport(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		var data strings.Builder
		// The comment column is not REDCap's: imports ignore unknown keys. It makes the
		// data larger than the form reader keeps in memory.
		data.WriteString("username,design,user_rights,forms_export,comment\n")
		const n = 3000
		pad := strings.Repeat("x", 400)
		for i := range n {
			fmt.Fprintf(&data, "member_%05d,%d,%d,\"demographics:%d\",%s\n", i, i%2, i%3, i%4, pad)
		}
		if data.Len() < 1<<20 {
			t.Fatalf("test data of %d bytes does not reach the spool threshold", data.Len())
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for _, kv := range [][2]string{{"token", f.token}, {"content", "user"}, {"data", data.String()}, {"format", "csv"}, {"returnFormat", "json"}} {
			mw.WriteField(kv[0], kv[1])
		}
		mw.Close()
		r := e.Do(t, "POST", "/api/", body.String(), "Content-Type", mw.FormDataContentType())
		want(t, r, 200, "json", fmt.Sprint(n))
		// Form-encoded, the same data again updates every member.
		r = post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "data", data.String(), "format", "csv")
		want(t, r, 200, "json", fmt.Sprint(n))
		r = post(t, e, "token", f.token, "content", "user", "format", "csv")
		lines := strings.Split(strings.TrimSuffix(r.Body, "\n"), "\n")
		if len(lines) != n+2 {
			t.Fatalf("%d lines exported, want %d", len(lines), n+2)
		}
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, fmt.Sprintf("member_%05d,", n-1)) || !strings.HasSuffix(last, `"demographics:0,day_3:0,other:0","demographics:3,day_3:0,other:0"`) {
			t.Fatalf("last row: %s", last)
		}
		// One bad row among thousands: nothing changes, and the row is named.
		bad := strings.Replace(data.String(), "member_02501,1,", "member_02501,7,", 1)
		bad = strings.ReplaceAll(bad, ",\"demographics:", ",\"other:") // would change every member
		r = post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "data", bad, "format", "csv")
		wantError(t, r, 400, "json", `The field named "design" for user "member_02501"  with value "7" is not a valid rights value. It must be 0 or 1.`)
		after := post(t, e, "token", f.token, "content", "user", "format", "csv").Body
		if after != strings.Join(lines, "\n")+"\n" {
			t.Fatal("a refused import changed members")
		}
		// Audit: one entry per member added, through the REDCap interface.
		entries, err := e.Svc.ListAudit(testkit.Operator(), roster.AuditFilter{TargetType: "project", TargetID: f.project, Action: "project.member.add", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1000 || entries[1].Via != roster.ViaREDCap || entries[1].ActorName != "jane" ||
			entries[1].Changes[0].Field != "member" || entries[1].Changes[0].New != "member_00000" {
			t.Fatalf("audit: %d entries, second %+v", len(entries), entries[1])
		}
	})
}

// TestRepeatedUsernameAcrossChunks: a username that comes back after the chunk that
// added it is checked against what the import itself wrote.
func TestRepeatedUsernameAcrossChunks(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		build := func(badEarly, badLate bool) string {
			var b strings.Builder
			b.WriteString("username,design,calendar,forms\n")
			for i := 1; i <= 1500; i++ {
				switch {
				case i == 1:
					b.WriteString("dup,1,0,demographics:1\n")
				case i == 1200:
					b.WriteString("dup,0,1,day_3:2\n")
				case i == 1300 && badLate:
					b.WriteString("dup,5,0,\n")
				case i == 5 && badEarly:
					b.WriteString("early,0,9,\n")
				default:
					fmt.Fprintf(&b, "m%04d,0,0,\n", i)
				}
			}
			return b.String()
		}
		r := post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "format", "csv", "data", build(true, true))
		wantError(t, r, 400, "json", `The field named "calendar" for user "early"  with value "9" is not a valid rights value. It must be 0 or 1.`+"\n"+
			`The field named "design" for user "dup"  with value "5" is not a valid rights value. It must be 0 or 1.`)
		want(t, post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "format", "csv", "data", build(false, false)), 200, "json", "1500")
		got := ""
		_, err := e.Projects.ExportProjectUsers(testkit.Operator(), f.project, func(v *roster.ProjectView, m *roster.ProjectMember) error {
			if m.Username == "dup" {
				got = fmt.Sprint(m.Privileges.Rights[roster.RightDesign], m.Privileges.Rights[roster.RightCalendar], " ", roster.EncodeFormRights(m.Privileges.Forms))
			}
			return nil
		})
		if err != nil || got != "0 1 day_3:2" {
			t.Fatalf("dup after the import: %q, %v", got, err)
		}
	})
}

// TestMalformedXML: XML data must be well-formed; anything else is REDCap's 400 data
// error and nothing is written. What REDCap and PyCap send still imports.
func TestMalformedXML(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		imp := func(data string) testkit.Reply {
			return post(t, e, "token", f.token, "content", "user", "returnFormat", "json", "format", "xml", "data", data)
		}
		const bad = "The data being imported is not formatted correctly. Error: "
		before := post(t, e, "token", f.token, "content", "user", "format", "csv").Body
		for _, c := range []struct{ name, data, err string }{
			{"unclosed root", `<users><item><username>u1</username></item>`, "XML syntax error on line 1: unexpected EOF"},
			{"unclosed item", `<users><item><username>u1</username></users>`, "XML syntax error on line 1: element <item> closed by </users>"},
			{"mismatched tags", `<users><item><username>u1</name></item></users>`, "XML syntax error on line 1: element <username> closed by </name>"},
			{"garbage after the root", `<users><item><username>u1</username></item></users>junk`, "XML syntax error on line 1: text after the root element"},
			{"a second root", `<users><item><username>u1</username></item></users><users></users>`, "XML syntax error on line 1: element <users> after the root element"},
			{"garbage before the root", "junk\n<users><item><username>u1</username></item></users>", "XML syntax error on line 1: text before the root element"},
			{"unknown entity", `<users><item><username>u&bogus;1</username></item></users>`, "XML syntax error on line 1: invalid character entity &bogus;"},
			{"bare ampersand", `<users><item><username>u1 & u2</username></item></users>`, "XML syntax error on line 1: invalid character entity & (no semicolon)"},
			{"unquoted attribute", `<users><item a=b><username>u1</username></item></users>`, "XML syntax error on line 1: unquoted or missing attribute value in element"},
			{"bad form right nesting", `<users><item><username>u1</username><forms><day_3>1</forms></day_3></item></users>`, "XML syntax error on line 1: element <day_3> closed by </forms>"},
		} {
			if r := imp(c.data); r.Status != 400 || r.Body != `{"error":`+phpJSON(bad+c.err)+`}` {
				t.Errorf("%s: got %d %s", c.name, r.Status, r.Body)
			}
		}
		if after := post(t, e, "token", f.token, "content", "user", "format", "csv").Body; after != before {
			t.Fatalf("malformed XML changed members:\n%s", after)
		}
		// Well-formed XML as REDCap writes it and PyCap passes it on: a declaration with a
		// space before ?>, a byte order mark, entities, character references, CDATA,
		// comments and whitespace around the root.
		want(t, imp("\ufeff<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!-- exported -->\n<users>\n"+
			"<item><username>o&apos;brien</username><design>1</design></item>\n"+
			"<item><username><![CDATA[cdata_user]]></username><forms><day_3>&#50;</day_3></forms></item>\n</users>\n\n"), 200, "json", "2")
		r := post(t, e, "token", f.token, "content", "user", "format", "csv").Body
		if !strings.Contains(r, "\no'brien,,,,,,,1,") || !strings.Contains(r, "\ncdata_user,") || !strings.Contains(r, `"demographics:0,day_3:2,other:0"`) {
			t.Fatalf("after a well-formed import:\n%s", r)
		}
	})
}
