package projects

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// ExportProjectRoles returns the project's roles, oldest first. Needs User Rights (full
// or read-only).
func (s *Service) ExportProjectRoles(ctx context.Context, id int64) (*roster.ProjectView, error) {
	a, err := s.readAccess(ctx, id, checkUsersExport)
	if err != nil {
		return nil, err
	}
	roles, err := s.store.ListProjectRoles(ctx, id)
	if err != nil {
		return nil, err
	}
	return &roster.ProjectView{Project: a.project, Roles: roles}, nil
}

func checkRolesWrite(a *access) error {
	if err := a.apiRight(roster.RightAPIImport, errNoAPIImport); err != nil {
		return err
	}
	if a.right(roster.RightUserRights) != 1 {
		return errWriteRoles
	}
	return nil
}

// newRoleName makes a unique role name that the project does not use yet.
func newRoleName(taken map[string]*roster.ProjectRole) (string, error) {
	pick := func(alphabet string, n int, b *strings.Builder) error {
		for range n {
			i, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
			if err != nil {
				return err
			}
			b.WriteByte(alphabet[i.Int64()])
		}
		return nil
	}
	for {
		var b strings.Builder
		b.WriteString("U-")
		if err := pick(roster.RoleNameDigits, 3, &b); err != nil {
			return "", err
		}
		if err := pick(roster.RoleNameAlphabet, 7, &b); err != nil {
			return "", err
		}
		if taken[b.String()] == nil {
			return b.String(), nil
		}
	}
}

const maxRoleLabel = 150

// ImportProjectRoles creates roles (rows without a unique_role_name; the name is
// generated) and changes existing ones (rows naming one). A new role starts with no
// rights; an existing one changes only in what the row sets. Members in a role follow
// its rights at once. All or nothing.
func (s *Service) ImportProjectRoles(ctx context.Context, id int64, rows roster.Rows[roster.RoleRow]) (int, error) {
	count := 0
	err := s.importTx(ctx, id, checkRolesWrite, func(tx roster.Tx, a *access, now time.Time) error {
		roles, err := tx.ListProjectRoles(ctx, id)
		if err != nil {
			return err
		}
		byName := rolesByName(roles)
		var ps problems
		var badNames []string
		var created, updated []*roster.ProjectRole
		before := map[*roster.ProjectRole]roster.ProjectRole{}
		count, err = inChunks(rows, nil, func(line int, chunk []roster.RoleRow) error {
			for i := range chunk {
				row := &chunk[i]
				name := strings.TrimSpace(row.Fields["unique_role_name"])
				label, hasLabel := row.Fields["role_label"]
				label = strings.TrimSpace(label)
				var r *roster.ProjectRole
				if name == "" {
					r = &roster.ProjectRole{ProjectID: id, CreatedAt: now}
					if r.UniqueName, err = newRoleName(byName); err != nil {
						return roster.Internal("projects.ImportProjectRoles", err)
					}
					byName[r.UniqueName] = r
					created = append(created, r)
				} else if r = byName[name]; r == nil {
					if !slices.Contains(badNames, name) {
						badNames = append(badNames, name)
					}
					continue
				} else if _, seen := before[r]; !seen && !slices.Contains(created, r) {
					before[r] = *r
					updated = append(updated, r)
				}
				if hasLabel || r.ID == 0 && r.Label == "" {
					switch {
					case row.IsMalformed("role_label"):
						ps.add(line+i, roster.Problem{Field: "role_label", Code: roster.PType, Value: label, Message: fmt.Sprintf("The role label %q is not text.", label)})
					case !roster.ValidText(label):
						ps.add(line+i, roster.Problem{Field: "role_label", Code: roster.PFormat, Message: "The role label: " + roster.TextMessage})
					case label == "":
						ps.add(line+i, roster.Problem{Field: "role_label", Code: roster.PRequired, Message: "A role needs a label."})
					case len([]rune(label)) > maxRoleLabel:
						ps.add(line+i, roster.Problem{Field: "role_label", Code: roster.PTooLong, Value: label, Limit: maxRoleLabel,
							Message: fmt.Sprintf("The role label %q is longer than %d characters.", label, maxRoleLabel)})
					default:
						r.Label = label
					}
				}
				r.UpdatedAt = now
				applyPrivileges(a.project, row, &r.Privileges, line+i, rowOf{name: r.Label, role: true}, &ps)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(badNames) > 0 {
			ps.add(0, unknownRoles(badNames))
		}
		if ps.any() {
			return ps.err()
		}
		var entries []*roster.AuditEntry
		for _, r := range created {
			if err := tx.CreateProjectRole(ctx, r); err != nil {
				return err
			}
			changes := newPrivilegeChanges(&r.Privileges, []roster.Change{{Field: "role", New: r.UniqueName}, {Field: "role_label", New: r.Label}})
			entries = append(entries, projectAudit(ctx, now, "project.role.create", a.project, changes))
		}
		for _, r := range updated {
			old := before[r]
			var changes []roster.Change
			if old.Label != r.Label {
				changes = append(changes, roster.Change{Field: "role_label", Old: old.Label, New: r.Label})
			}
			if changes = privilegeChanges(&old.Privileges, &r.Privileges, changes); len(changes) == 0 {
				continue
			}
			if err := tx.UpdateProjectRole(ctx, r); err != nil {
				return err
			}
			changes = append([]roster.Change{{Field: "role", Old: r.UniqueName, New: r.UniqueName}}, changes...)
			entries = append(entries, projectAudit(ctx, now, "project.role.update", a.project, changes))
		}
		return tx.AppendAudit(ctx, entries...)
	})
	return count, err
}

// DeleteProjectRoles deletes roles by unique name, all or none. Their members leave the
// role keeping its rights as their own. As in REDCap, a token also needs the Delete
// Records right.
func (s *Service) DeleteProjectRoles(ctx context.Context, id int64, names []string) (int, error) {
	n := 0
	err := s.projectTx(ctx, id, func(a *access) error {
		if err := a.apiRight(roster.RightRecordDelete, errNoRecordDelete); err != nil {
			return err
		}
		return checkRolesWrite(a)
	}, func(tx roster.Tx, a *access, now time.Time) error {
		roles, err := tx.ListProjectRoles(ctx, id)
		if err != nil {
			return err
		}
		byName := rolesByName(roles)
		var missing []string
		var doomed []*roster.ProjectRole
		for _, name := range names {
			r := byName[strings.TrimSpace(name)]
			switch {
			case r == nil:
				missing = append(missing, name)
			case !slices.Contains(doomed, r):
				doomed = append(doomed, r)
			}
		}
		if len(missing) > 0 {
			return unknownNames("roles", roster.RUnknownRole, missing,
				"The project has no role named: "+strings.Join(missing, ", ")+". No role was deleted.")
		}
		var entries []*roster.AuditEntry
		ids := make([]int64, len(doomed))
		for i, r := range doomed {
			ids[i] = r.ID
			var members []*roster.ProjectMember
			err := tx.StreamProjectMembers(ctx, roster.MemberFilter{ProjectID: id, RoleID: r.ID}, func(m *roster.ProjectMember) error {
				before := *m
				setRole(m, nil)
				m.UpdatedAt = now
				members = append(members, m)
				entries = append(entries, projectAudit(ctx, now, "project.member.update", a.project, memberChanges(&before, m, nil)))
				return nil
			})
			if err != nil {
				return err
			}
			if err := tx.UpdateProjectMembers(ctx, members); err != nil {
				return err
			}
			entries = append(entries, projectAudit(ctx, now, "project.role.delete", a.project, []roster.Change{
				{Field: "role", Old: r.UniqueName}, {Field: "role_label", Old: r.Label}}))
		}
		if err := tx.DeleteProjectRoles(ctx, id, ids); err != nil {
			return err
		}
		n = len(ids)
		return tx.AppendAudit(ctx, entries...)
	})
	return n, err
}

// unknownRoles is the problem of unique role names the project does not have.
func unknownRoles(names []string) roster.Problem {
	return roster.Problem{Field: "unique_role_name", Code: roster.PUnknown, Reason: roster.RUnknownRole, Value: names,
		Message: "The project has no role named: " + strings.Join(names, ", ") + "."}
}

// rolesByName indexes roles by unique name.
func rolesByName(roles []*roster.ProjectRole) map[string]*roster.ProjectRole {
	m := make(map[string]*roster.ProjectRole, len(roles))
	for _, r := range roles {
		m[r.UniqueName] = r
	}
	return m
}
