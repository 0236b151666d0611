package projects

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// REDCap's DAG Switcher. An administrator assigns each member the DAGs it may move itself
// among (possibly "no DAG", REDCap's "[No Assignment]"); the API's DAG switch then moves
// a member only within that set. Holding the Data Access Groups right does not widen it:
// otherwise a member confined to a DAG could leave its DAG and see every other.

// checkDAGSwitchWrite decides who may change a member's assignments: whoever may move
// members between DAGs, i.e. a project administrator, or a member with full User
// Rights (the call's own check) and the Data Access Groups right who is not itself
// confined to a DAG.
func checkDAGSwitchWrite(a *access) error {
	if a.admin || a.right(roster.RightDataAccessGroups) == 1 && a.dag() == 0 {
		return nil
	}
	return roster.Errorf(roster.EFORBIDDEN, "Only project administrators, and members with the User Rights and Data Access Groups rights who are not assigned to a Data Access Group, may change which Data Access Groups a user may switch to.")
}

// dagSwitchIDs resolves unique DAG names ("" for no DAG) to a sorted set of ids (0 for
// no DAG), reporting the names that name no DAG.
func dagSwitchIDs(names []string, byName map[string]*roster.DAG, line int, ps *problems) []int64 {
	ids := []int64{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		var id int64
		if n != "" {
			d := byName[n]
			if d == nil {
				ps.add(line, unknownDAG("dag_switch", n))
				continue
			}
			id = d.ID
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// dagSwitchNames is the unique names of a set of DAG ids: "" (no DAG) first, then in
// the order of dags (by label).
func dagSwitchNames(dags []*roster.DAG, ids []int64) []string {
	out := []string{}
	if slices.Contains(ids, 0) {
		out = append(out, "")
	}
	for _, d := range dags {
		if slices.Contains(ids, d.ID) {
			out = append(out, d.UniqueName)
		}
	}
	return out
}

// PutProjectMember adds a member or changes what the row sets, as ImportProjectUsers
// does for one row, and also sets the DAGs it may switch among when the row carries
// dag_switch: all in one transaction, with one audit entry. Roster's own API and command
// line use it.
func (s *Service) PutProjectMember(ctx context.Context, id int64, row roster.MemberRow) error {
	return s.projectTx(ctx, id, checkUsersWrite, func(tx roster.Tx, a *access, now time.Time) error {
		dags, err := tx.ListProjectDAGs(ctx, id)
		if err != nil {
			return err
		}
		byName := dagsByName(dags)
		u := strings.TrimSpace(row.Fields["username"])
		stored, err := tx.GetProjectMembers(ctx, id, []string{u})
		if err != nil {
			return err
		}
		setSwitch := row.DAGSwitch != nil || row.IsMalformed("dag_switch")
		rest := row
		rest.DAGSwitch, rest.Malformed = nil, slices.DeleteFunc(slices.Clone(row.Malformed), func(k string) bool { return k == "dag_switch" })
		var ps problems
		w := newMemberWrites()
		s.importUserRow(a, &rest, 1, stored, byName, w, &ps, now)
		var ids []int64
		if setSwitch {
			if err := checkDAGSwitchWrite(a); err != nil {
				return err
			}
			if row.IsMalformed("dag_switch") {
				ps.add(1, roster.Problem{Field: "dag_switch", Code: roster.PType, Message: `dag_switch must be a list of unique DAG names, "" for no DAG.`})
			} else {
				ids = dagSwitchIDs(row.DAGSwitch, byName, 1, &ps)
			}
		}
		if ps.any() {
			return ps.err()
		}
		key := roster.FoldKey(u)
		m := w.touched[key]
		if m == nil {
			return roster.Internal("projects.PutProjectMember", fmt.Errorf("member %q was checked but not kept", key))
		}
		if setSwitch {
			old := []int64{}
			if stored[key] != nil {
				if old, err = tx.ListMemberDAGSwitch(ctx, stored[key].ID); err != nil {
					return err
				}
			}
			if slices.Equal(old, ids) {
				setSwitch = false
			} else {
				w.extra = map[string][]roster.Change{key: {{Field: "dag_switch", Old: dagSwitchNames(dags, old), New: dagSwitchNames(dags, ids)}}}
			}
		}
		if err := w.writeMembers(ctx, tx, a, dags, now); err != nil {
			return err
		}
		if setSwitch {
			if err := tx.SetMemberDAGSwitch(ctx, id, m.ID, ids); err != nil {
				return err
			}
		}
		return tx.AppendAudit(ctx, w.entries...)
	})
}

// SwitchDAG moves the requesting member into the DAG of that unique name ("" or "0" for
// none), REDCap's DAG Switcher: only to a DAG it was assigned.
func (s *Service) SwitchDAG(ctx context.Context, id int64, name string) error {
	return s.projectTx(ctx, id, func(a *access) error { return nil }, func(tx roster.Tx, a *access, now time.Time) error {
		if a.member == nil {
			return &roster.Error{Code: roster.EINVALID, Reason: roster.RNotMember,
				Message: "You are not a member of this project, so you have no Data Access Group to switch."}
		}
		dags, err := tx.ListProjectDAGs(ctx, id)
		if err != nil {
			return err
		}
		var dagID int64
		if name = strings.TrimSpace(name); name != "" && name != "0" {
			d := dagsByName(dags)[name]
			if d == nil {
				return &roster.Error{Code: roster.EINVALID, Reason: roster.RUnknownDAG, Subject: name,
					Message: fmt.Sprintf("The project has no Data Access Group named %q.", name)}
			}
			dagID = d.ID
		}
		allowed, err := tx.ListMemberDAGSwitch(ctx, a.member.ID)
		if err != nil {
			return err
		}
		if !slices.Contains(allowed, dagID) {
			return &roster.Error{Code: roster.EFORBIDDEN, Reason: roster.RDAGSwitchNotAssigned, Subject: name,
				Message: "You may switch only to the Data Access Groups assigned to you, and that is not one of them."}
		}
		if a.member.DAGID == dagID {
			return nil
		}
		m := *a.member
		m.DAGID, m.UpdatedAt = dagID, now
		if err := tx.UpdateProjectMembers(ctx, []*roster.ProjectMember{&m}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, projectAudit(ctx, now, "project.member.update", a.project, memberChanges(a.member, &m, dags)))
	})
}
