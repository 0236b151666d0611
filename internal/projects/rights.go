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

// Checking project rights as clients send them. Problems say why in their fields
// (Reason, Subject, Value) as well as in Roster's words, so that a dialect can word them
// as its platform does.

// problems collects the problems of one bulk change, in the order they are found.
type problems struct {
	list  []roster.Problem
	extra int
}

func (ps *problems) add(line int, p roster.Problem) {
	if len(ps.list) >= core.MaxImportProblems {
		ps.extra++
		return
	}
	p.Line = line
	ps.list = append(ps.list, p)
}

func (ps *problems) any() bool { return len(ps.list) > 0 }

// err is the EINVALID error listing every problem, in order; its message is the
// problems' messages one per line.
func (ps *problems) err() error {
	msgs := make([]string, len(ps.list))
	for i, p := range ps.list {
		msgs[i] = p.Message
	}
	if ps.extra > 0 {
		msgs = append(msgs, fmt.Sprintf("(%d more problems not listed)", ps.extra))
	}
	return &roster.Error{Code: roster.EINVALID, Message: strings.Join(msgs, "\n"), Problems: ps.list, Unlisted: ps.extra}
}

// rowOf is who a row of bulk input is about, for problems: a user, or a role.
type rowOf struct {
	name string // the username, or the role's label
	role bool
}

func (r rowOf) String() string {
	if r.role {
		return fmt.Sprintf("role %q", r.name)
	}
	return fmt.Sprintf("user %q", r.name)
}

// allowedRights words a right's values, 0 to max.
func allowedRights(max int) string {
	if max == 2 {
		return "0, 1 or 2"
	}
	return "0 or 1"
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
// Form rights sent replace the whole list: forms left out get 0. REDCap's data_export,
// the project-wide export right of REDCap before 12, sets every form's export right
// when the row does not carry forms_export; an invalid one is ignored, as REDCap
// ignores the key altogether.
//
// A value of the wrong shape (row.Malformed: a list or object for a right or a form
// right, a number or boolean for forms or forms_export) is refused like a bad value, as
// a type problem: every surface's rows meet this one rule.
func applyPrivileges(p *roster.Project, row *roster.MemberRow, priv *roster.Privileges, line int, who rowOf, ps *problems) {
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
			ps.add(line, roster.Problem{Field: def.Name, Code: code, Reason: roster.RBadRight, Subject: who.name, Value: v,
				Message: fmt.Sprintf("The right %s of %s must be %s, not %q.", def.Name, who, allowedRights(def.Max), v)})
			continue
		}
		priv.Rights[r] = n
	}
	for _, key := range []string{"forms", "forms_export"} {
		if row.IsMalformed(key) {
			v := row.Fields[key]
			ps.add(line, roster.Problem{Field: key, Code: roster.PType, Reason: roster.RBadRight, Subject: who.name, Value: v,
				Message: fmt.Sprintf(`The %s of %s must be an object of form names and rights, or text such as "form_1:1,form_2:0", not %q.`, key, who, v)})
		}
	}
	if row.Forms != nil {
		priv.Forms = formRights(p, row.Forms, line, who, "forms", "form-level right", roster.ValidFormRight,
			"0, 1, 2 or 3, or one of 128, 129, 130, 138, 146 and 154", ps)
	}
	if row.FormsExport != nil {
		priv.FormsExport = formRights(p, row.FormsExport, line, who, "forms_export", "export right",
			func(n int) bool { return n >= 0 && n <= roster.MaxFormExportRight }, "0, 1, 2 or 3", ps)
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
// the forms not sent (and those at 0) left out. kind names the right, and allowed words
// the values valid takes.
func formRights(p *roster.Project, sent []roster.RawFormRight, line int, who rowOf, field, kind string, valid func(int) bool, allowed string, ps *problems) []roster.FormRight {
	values := make(map[string]int, len(sent))
	for _, f := range sent {
		f.Form = strings.TrimSpace(f.Form)
		if !p.HasForm(f.Form) {
			ps.add(line, roster.Problem{Field: field, Code: roster.PUnknown, Reason: roster.RUnknownForm, Subject: who.name, Value: f,
				Message: fmt.Sprintf("The project has no form %q, named in the %s of %s.", f.Form, field, who)})
			continue
		}
		n, ok := parseRightValue(f.Value)
		if f.Malformed || !ok || !valid(n) {
			code := roster.PChoice
			if f.Malformed {
				code = roster.PType
			}
			ps.add(line, roster.Problem{Field: field, Code: code, Reason: roster.RBadRight, Subject: who.name, Value: f,
				Message: fmt.Sprintf("The %s on form %q of %s must be %s, not %q.", kind, f.Form, who, allowed, f.Value)})
			continue
		}
		values[f.Form] = n
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
