package redcap_test

import (
	"testing"

	"github.com/rosterhq/roster/internal/testkit"
)

// TestImportStrictTypes: in JSON and XML imports of users and roles, a right given a
// list or object (nested elements, in XML), form rights given a number or boolean, or a
// form right given a list or object is refused, naming the field, and nothing is
// written. Before, each read as 0.
func TestImportStrictTypes(t *testing.T) {
	engines(t, func(t *testing.T, e *testkit.Env) {
		f := setup(t, e)
		addMember(t, e, f.project, "sam", `{"design":1,"user_rights":1,"api_export":1,"forms":{"demographics":1},"forms_export":{"demographics":1}}`)
		before := post(t, e, "token", f.token, "content", "user", "format", "csv").Body
		imp := func(content, format, data string) testkit.Reply {
			return post(t, e, "token", f.token, "content", content, "returnFormat", "json", "format", format, "data", data)
		}
		const formsNote = `It must be an object of form names and form-level rights, or REDCap's CSV form "form_1:1,form_2:0".`
		for _, c := range []struct{ content, format, data, msg string }{
			{"user", "json", `[{"username":"sam","design":[1]}]`,
				`The field named "design" for user "sam"  with value "[1]" is not a valid rights value. It must be 0 or 1.`},
			{"user", "json", `[{"username":"sam","user_rights":{"a":"1"}}]`,
				`The field named "user_rights" for user "sam"  with value "{\"a\":\"1\"}" is not a valid rights value. It must be 0, 1, or 2.`},
			{"user", "json", `[{"username":"sam","api_export":[]}]`,
				`The field named "api_export" for user "sam"  with value "[]" is not a valid rights value. It must be 0 or 1.`},
			{"user", "json", `[{"username":"sam","forms":5}]`,
				`The field named "forms" for user "sam"  with value "5" is not valid. ` + formsNote},
			{"user", "json", `[{"username":"sam","forms_export":true}]`,
				`The field named "forms_export" for user "sam"  with value "true" is not valid. It must be an object of form names and data export rights, or REDCap's CSV form "form_1:1,form_2:0".`},
			{"user", "json", `[{"username":"sam","forms":{"demographics":[1]}}]`,
				`The form named "demographics" with value "[1]" is not a valid form-level rights value. It must be 0, 1, 2 or 3.`},
			{"user", "xml", `<users><item><username>sam</username><design><value>1</value></design></item></users>`,
				`The field named "design" for user "sam"  with value "<value>1</value>" is not a valid rights value. It must be 0 or 1.`},
			{"user", "xml", `<users><item><username>sam</username><forms><demographics><v>1</v></demographics></forms></item></users>`,
				`The form named "demographics" with value "<v>1</v>" is not a valid form-level rights value. It must be 0, 1, 2 or 3.`},
			{"userRole", "json", `[{"role_label":"R","reports":[1]}]`,
				`The field named "reports" for user role "R"  with value "[1]" is not a valid rights value. It must be 0 or 1.`},
			{"userRole", "json", `[{"role_label":["R"]}]`, `The Role Label "[\"R\"]" is not text.`},
			{"userRole", "xml", `<userRoles><item><role_label>R</role_label><forms>3</forms></item></userRoles>`,
				`The form named "3" is incorrect for the user role "R" The form does not exist in this project.`},
		} {
			t.Run(c.content+" "+c.format+" "+c.data, func(t *testing.T) {
				wantError(t, imp(c.content, c.format, c.data), 400, "json", c.msg)
			})
		}
		if after := post(t, e, "token", f.token, "content", "user", "format", "csv").Body; after != before {
			t.Fatalf("refused imports changed members:\n%s", after)
		}
		want(t, post(t, e, "token", f.token, "content", "userRole", "format", "json"), 200, "json", "[]")
	})
}
