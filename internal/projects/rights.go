package projects

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
)

// Checking project rights as clients send them. The messages are REDCap's, word for
// word: its clients and the people using them know them.

// problems collects the problems of one bulk change, in the order they are found.
type problems struct {
	list  []roster.Problem
	extra int
}

func (ps *problems) add(line int, field, code, msg string) {
	if len(ps.list) >= core.MaxImportProblems {
		ps.extra++
		return
	}
	ps.list = append(ps.list, roster.Problem{Field: field, Code: code, Message: msg, Line: line})
}

func (ps *problems) any() bool { return len(ps.list) > 0 }

// err is the EINVALID error listing every problem, in order; its message is the
// problems' messages one per line, as REDCap answers.
func (ps *problems) err() error {
	msgs := make([]string, len(ps.list))
	for i, p := range ps.list {
		msgs[i] = p.Message
	}
	if ps.extra > 0 {
		msgs = append(msgs, fmt.Sprintf("(%d more problems not listed)", ps.extra))
	}
	return &roster.Error{Code: roster.EINVALID, Message: strings.Join(msgs, "\n"), Problems: ps.list}
}

// rightsMessage names a right's allowed values as REDCap does.
func rightsMessage(max int) string {
	if max == 2 {
		return "It must be 0, 1, or 2."
	}
	return "It must be 0 or 1."
}

// parseRightValue reads a right's value; "" counts as 0.
func parseRightValue(v string) (int, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// hasPrivilegeKeys reports whether a row sets any right or form right.
func hasPrivilegeKeys(row *roster.MemberRow) bool {
	if row.Forms != nil || row.FormsExport != nil || row.IsMalformed("forms") || row.IsMalformed("forms_export") {
		return true
	}
	for k := range row.Fields {
		if _, ok := roster.RightByName(k); ok {
			return true
		}
	}
	return false
}

// applyPrivileges writes the rights a row carries onto priv, reporting bad values.
// subject is how messages name the row's owner: `user "jane"` or `role "Monitors"`.
// Form rights sent replace the whole list: forms left out get 0. REDCap's data_export,
// the project-wide export right of REDCap before 12, sets every form's export right
// when the row does not carry forms_export; an invalid one is ignored, as REDCap
// ignores the key altogether.
//
// A value of the wrong shape (row.Malformed: a list or object for a right or a form
// right, a number or boolean for forms or forms_export) is refused like a bad value, as
// a type problem: every surface's rows meet this one rule.
func applyPrivileges(p *roster.Project, row *roster.MemberRow, priv *roster.Privileges, line int, subject string, ps *problems) {
	for r := roster.Right(0); r < roster.NumRights; r++ {
		def := roster.ProjectRights[r]
		v, ok := row.Fields[def.Name]
		if !ok {
			continue
		}
		n, ok := parseRightValue(v)
		if malformed := row.IsMalformed(def.Name); malformed || !ok || n < 0 || n > def.Max {
			code := roster.PChoice
			if malformed {
				code = roster.PType
			}
			ps.add(line, def.Name, code, fmt.Sprintf("The field named %q for %s  with value %q is not a valid rights value. %s",
				def.Name, subject, v, rightsMessage(def.Max)))
			continue
		}
		priv.Rights[r] = n
	}
	for _, f := range []struct{ key, kind string }{{"forms", "form-level"}, {"forms_export", "data export"}} {
		if row.IsMalformed(f.key) {
			ps.add(line, f.key, roster.PType, fmt.Sprintf("The field named %q for %s  with value %q is not valid. It must be an object of form names and %s rights, or REDCap's CSV form \"form_1:1,form_2:0\".",
				f.key, subject, row.Fields[f.key], f.kind))
		}
	}
	if row.Forms != nil {
		priv.Forms = formRights(p, row.Forms, line, subject, "forms", roster.ValidFormRight,
			"is not a valid form-level rights value. It must be 0, 1, 2 or 3.", ps)
	}
	if row.FormsExport != nil {
		priv.FormsExport = formRights(p, row.FormsExport, line, subject, "forms_export",
			func(n int) bool { return n >= 0 && n <= roster.MaxFormExportRight },
			"is not a valid data export rights value. It must be 0, 1, 2 or 3.", ps)
	} else if v, ok := row.Fields["data_export"]; ok && !row.IsMalformed("data_export") && !row.IsMalformed("forms_export") {
		if n, ok := parseRightValue(v); ok && n >= 0 && n <= roster.MaxFormExportRight {
			priv.FormsExport = nil
			if n != 0 {
				for _, f := range p.Forms {
					priv.FormsExport = append(priv.FormsExport, roster.FormRight{Form: f.Name, Value: n})
				}
			}
		}
	}
}

// formRights reads sent form rights into a new list in the project's form order, with
// the forms not sent (and those at 0) left out.
func formRights(p *roster.Project, sent []roster.RawFormRight, line int, subject, field string, valid func(int) bool, badValue string, ps *problems) []roster.FormRight {
	values := make(map[string]int, len(sent))
	for _, f := range sent {
		name := strings.TrimSpace(f.Form)
		if !p.HasForm(name) {
			ps.add(line, field, roster.PUnknown, fmt.Sprintf("The form named %q is incorrect for the %s The form does not exist in this project.", name, subject))
			continue
		}
		n, ok := parseRightValue(f.Value)
		if f.Malformed || !ok || !valid(n) {
			code := roster.PChoice
			if f.Malformed {
				code = roster.PType
			}
			ps.add(line, field, code, fmt.Sprintf("The form named %q with value %q %s", name, f.Value, badValue))
			continue
		}
		values[name] = n
	}
	var out []roster.FormRight
	for _, f := range p.Forms {
		if n := values[f.Name]; n != 0 {
			out = append(out, roster.FormRight{Form: f.Name, Value: n})
		}
	}
	return out
}

// privilegeChanges lists the rights that differ, for the audit log.
func privilegeChanges(before, after *roster.Privileges, changes []roster.Change) []roster.Change {
	for r := roster.Right(0); r < roster.NumRights; r++ {
		if before.Rights[r] != after.Rights[r] {
			changes = append(changes, roster.Change{Field: r.String(), Old: before.Rights[r], New: after.Rights[r]})
		}
	}
	if o, n := roster.EncodeFormRights(before.Forms), roster.EncodeFormRights(after.Forms); o != n {
		changes = append(changes, roster.Change{Field: "forms", Old: o, New: n})
	}
	if o, n := roster.EncodeFormRights(before.FormsExport), roster.EncodeFormRights(after.FormsExport); o != n {
		changes = append(changes, roster.Change{Field: "forms_export", Old: o, New: n})
	}
	return changes
}

// newPrivilegeChanges lists a new member's or role's rights that are not 0.
func newPrivilegeChanges(p *roster.Privileges, changes []roster.Change) []roster.Change {
	return privilegeChanges(&roster.Privileges{}, p, changes)
}

// usernameFormat is the usernames REDCap accepts.
var usernameFormat = regexp.MustCompile(`^[a-zA-Z0-9'_\s.\-@]+$`)

const maxMemberUsername = 255

func checkMemberUsername(u string) bool {
	return len(u) <= maxMemberUsername && usernameFormat.MatchString(u)
}

// expirationLayouts are the dates an expiration may be sent as; it is stored as
// YYYY-MM-DD.
var expirationLayouts = []string{time.DateOnly, "2006/01/02", "01/02/2006", "1/2/2006", time.DateTime, "2006-01-02 15:04", "2006-1-2"}

func parseExpiration(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", true
	}
	for _, l := range expirationLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.Format(time.DateOnly), true
		}
	}
	return "", false
}

// dagsByName indexes DAGs by unique name.
func dagsByName(dags []*roster.DAG) map[string]*roster.DAG {
	m := make(map[string]*roster.DAG, len(dags))
	for _, d := range dags {
		m[d.UniqueName] = d
	}
	return m
}

// dagName is the unique name of a DAG id, "" for none.
func dagName(dags []*roster.DAG, id int64) string {
	for _, d := range dags {
		if d.ID == id {
			return d.UniqueName
		}
	}
	return ""
}
