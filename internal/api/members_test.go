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
		p, err := s.svc.CreateProject(testkit.Operator(), &roster.Project{Title: "Typed", Forms: []roster.Form{{Name: "f1"}, {Name: "f2"}}})
		if err != nil {
			t.Fatal(err)
		}
		path := fmt.Sprintf("/v1/projects/%d/members/alice", p.ID)
		s.do(t, call{method: "PUT", path: path, header: bearer(root), body: map[string]any{
			"design": 1, "user_rights": 1, "forms": map[string]any{"f1": 1, "f2": 3}, "forms_export": map[string]any{"f1": 2}}}).want(t, 200)
		before := s.do(t, call{method: "GET", path: fmt.Sprintf("/v1/projects/%d/members", p.ID), header: bearer(root)}).want(t, 200)

		formsMsg := func(field, kind, v string) string {
			return fmt.Sprintf(`The field named %q for user "alice"  with value %q is not valid. It must be an object of form names and %s rights, or REDCap's CSV form "form_1:1,form_2:0".`, field, v, kind)
		}
		for _, c := range []struct {
			body  string
			field string
			msg   string
		}{
			{`{"design": [1]}`, "design", `The field named "design" for user "alice"  with value "[1]" is not a valid rights value. It must be 0 or 1.`},
			{`{"design": []}`, "design", `The field named "design" for user "alice"  with value "[]" is not a valid rights value. It must be 0 or 1.`},
			{`{"user_rights": {"v": 1}}`, "user_rights", `The field named "user_rights" for user "alice"  with value "{\"v\":1}" is not a valid rights value. It must be 0, 1, or 2.`},
			{`{"rights": {"design": [0]}}`, "design", `The field named "design" for user "alice"  with value "[0]" is not a valid rights value. It must be 0 or 1.`},
			{`{"forms": 5}`, "forms", formsMsg("forms", "form-level", "5")},
			{`{"forms": true}`, "forms", formsMsg("forms", "form-level", "true")},
			{`{"forms": [1]}`, "forms", formsMsg("forms", "form-level", "[1]")},
			{`{"forms_export": 7}`, "forms_export", formsMsg("forms_export", "data export", "7")},
			{`{"forms_export": false}`, "forms_export", formsMsg("forms_export", "data export", "false")},
			{`{"forms": {"f1": [1]}}`, "forms", `The form named "f1" with value "[1]" is not a valid form-level rights value. It must be 0, 1, 2 or 3.`},
			{`{"forms_export": {"f1": {"x": 2}}}`, "forms_export", `The form named "f1" with value "{\"x\":2}" is not a valid data export rights value. It must be 0, 1, 2 or 3.`},
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
