package projects

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// errRowsReplayed: an import's rows are read as they arrive and cannot be read again, so
// when the store would retry the transaction after a concurrency failure, give up.
var errRowsReplayed = roster.Errorf(roster.ECONFLICT, "A concurrent change interrupted the import; nothing was imported. Run it again.")

// importChunk is how many rows an import checks and writes at a time, as the account
// import does.
const importChunk = 1000

// inChunks reads rows and hands them to fn in chunks, with the 1-based number of each
// chunk's first row.
func inChunks[T any](rows roster.Rows[T], first func(keys []string) error, fn func(line int, chunk []T) error) (int, error) {
	chunk := make([]T, 0, importChunk)
	n := 0
	for {
		row, ok := rows.Next()
		if !ok {
			break
		}
		if n == 0 && first != nil {
			if err := first(rows.Keys()); err != nil {
				return 0, err
			}
		}
		n++
		chunk = append(chunk, row)
		if len(chunk) == importChunk {
			if err := fn(n-len(chunk)+1, chunk); err != nil {
				return 0, err
			}
			chunk = chunk[:0]
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(chunk) > 0 {
		if err := fn(n-len(chunk)+1, chunk); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// requireKeys refuses input whose first row lacks a required key.
func requireKeys(keys []string, required ...string) error {
	for _, k := range required {
		if !slices.Contains(keys, k) {
			return &roster.Error{Code: roster.EINVALID,
				Message:  fmt.Sprintf("The input lacks the column %s; it needs %s.", k, strings.Join(required, ", ")),
				Problems: []roster.Problem{{Field: k, Code: roster.PRequired, Reason: roster.RMissingColumn, Expected: required, Message: "This column is required."}}}
		}
	}
	return nil
}

// memberWrites gathers one chunk's writes.
type memberWrites struct {
	touched map[string]*roster.ProjectMember // by username, the new state
	before  map[string]*roster.ProjectMember // by username, the stored state; absent for new members
	order   []string
	// extra: changes to record with a member's own, besides those of its row (its DAG
	// switch assignments), by username.
	extra map[string][]roster.Change
	// What prepare worked out.
	prepared         bool
	created, updated []*roster.ProjectMember
	entries          []*roster.AuditEntry
}

func newMemberWrites() *memberWrites {
	return &memberWrites{touched: map[string]*roster.ProjectMember{}, before: map[string]*roster.ProjectMember{}}
}

// member returns the member to change: one this chunk already changed, a copy of the
// stored one, or a new one with no rights.
func (w *memberWrites) member(projectID int64, key string, stored map[string]*roster.ProjectMember, now time.Time) *roster.ProjectMember {
	if m := w.touched[key]; m != nil {
		return m
	}
	var m *roster.ProjectMember
	if old := stored[key]; old != nil {
		cp := *old
		m = &cp
		w.before[key] = old
	} else {
		m = &roster.ProjectMember{ProjectID: projectID, Username: key, AddedAt: now}
	}
	m.UpdatedAt = now
	w.touched[key] = m
	w.order = append(w.order, key)
	return m
}

// prepare works out the chunk's writes and encodes their audit entries: Go's work, which
// an import does on its worker so the transaction's goroutine only writes.
func (w *memberWrites) prepare(ctx context.Context, a *access, dags []*roster.DAG, now time.Time) error {
	w.created, w.updated, w.entries = nil, nil, nil
	for _, key := range w.order {
		m := w.touched[key]
		changes := memberChanges(w.before[key], m, dags)
		if x := w.extra[key]; len(x) > 0 {
			if changes == nil {
				changes = []roster.Change{{Field: "member", Old: m.Username, New: m.Username}}
			}
			changes = append(changes, x...)
		}
		if len(changes) == 0 {
			continue
		}
		action := "project.member.update"
		if w.before[key] == nil {
			w.created = append(w.created, m)
			action = "project.member.add"
		} else {
			w.updated = append(w.updated, m)
		}
		e := projectAudit(ctx, now, action, a.project, changes)
		enc, err := roster.MarshalChanges(changes)
		if err != nil {
			return roster.Internal("projects.memberWrites", err)
		}
		e.EncodedChanges = enc
		w.entries = append(w.entries, e)
	}
	w.prepared = true
	return nil
}

// write stores the chunk's changes with one audit entry per member that changed.
func (w *memberWrites) write(ctx context.Context, tx roster.Tx, a *access, dags []*roster.DAG, now time.Time) error {
	if err := w.writeMembers(ctx, tx, a, dags, now); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, w.entries...)
}

// writeMembers is write without the audit entries, for a caller with more to write
// before them (the audit's numbering must be a transaction's last write).
func (w *memberWrites) writeMembers(ctx context.Context, tx roster.Tx, a *access, dags []*roster.DAG, now time.Time) error {
	if !w.prepared {
		if err := w.prepare(ctx, a, dags, now); err != nil {
			return err
		}
	}
	if err := tx.CreateProjectMembers(ctx, w.created); err != nil {
		return err
	}
	return tx.UpdateProjectMembers(ctx, w.updated)
}

// memberChanges is the audit record of a member's change; before is nil for a new one.
func memberChanges(before, after *roster.ProjectMember, dags []*roster.DAG) []roster.Change {
	if before == nil {
		cs := []roster.Change{{Field: "member", New: after.Username}}
		if after.Expiration != "" {
			cs = append(cs, roster.Change{Field: "expiration", New: after.Expiration})
		}
		if after.DAGID != 0 {
			cs = append(cs, roster.Change{Field: "data_access_group", New: dagName(dags, after.DAGID)})
		}
		if after.RoleID != 0 {
			cs = append(cs, roster.Change{Field: "role", New: after.RoleName})
		}
		return newPrivilegeChanges(&after.Privileges, cs)
	}
	var cs []roster.Change
	if before.Expiration != after.Expiration {
		cs = append(cs, roster.Change{Field: "expiration", Old: before.Expiration, New: after.Expiration})
	}
	if before.DAGID != after.DAGID {
		cs = append(cs, roster.Change{Field: "data_access_group", Old: dagName(dags, before.DAGID), New: dagName(dags, after.DAGID)})
	}
	if before.RoleID != after.RoleID {
		cs = append(cs, roster.Change{Field: "role", Old: before.RoleName, New: after.RoleName})
	}
	cs = privilegeChanges(&before.Privileges, &after.Privileges, cs)
	if len(cs) == 0 {
		return nil
	}
	return append([]roster.Change{{Field: "member", Old: before.Username, New: after.Username}}, cs...)
}

// ImportProjectUsers adds members or changes their rights, REDCap's Import Users: a new
// member starts with no rights and gets what the row sets; an existing one changes only
// in what the row sets (form rights sent replace all form rights). email, firstname and
// lastname belong to the account and are ignored, as are unknown keys. All rows apply in
// one transaction, or none when any is invalid; the error lists every problem. Needs
// full User Rights (and, with a token, API import). Returns the number of rows.
func (s *Service) ImportProjectUsers(ctx context.Context, id int64, rows roster.Rows[roster.MemberRow]) (int, error) {
	count := 0
	err := s.importTx(ctx, id, checkUsersWrite, func(tx roster.Tx, a *access, now time.Time) error {
		dags, err := tx.ListProjectDAGs(ctx, id)
		if err != nil {
			return err
		}
		imp := &userImport{s: s, ctx: ctx, tx: tx, a: a, dags: dags, byName: dagsByName(dags), now: now, written: map[string]struct{}{}}
		count, err = imp.run(rows)
		return err
	})
	return count, err
}

// userImport is one run of ImportProjectUsers. It is a pipeline on two goroutines, as
// the account import is: a worker reads and parses the rows, looks up the members they
// name and checks them, a chunk at a time, while the transaction's goroutine writes the
// chunk before. The worker reads through the store's pool, which shows the project as
// it was before the import (the project's lock keeps other writers out); a row naming a
// member that an earlier chunk of the same import wrote is handed to the transaction's
// goroutine, which sees that write, to be checked there.
type userImport struct {
	s      *Service
	ctx    context.Context
	tx     roster.Tx
	a      *access
	dags   []*roster.DAG
	byName map[string]*roster.DAG
	now    time.Time
	// written: the usernames earlier chunks changed. Worker only.
	written map[string]struct{}
	// problems found by the worker, and by the transaction's goroutine.
	workerPs, txPs problems
}

type numberedRow struct {
	line int
	row  roster.MemberRow
}

// userChunk is a checked chunk.
type userChunk struct {
	w        *memberWrites
	deferred []numberedRow
	clean    bool // no problem so far in the worker
	err      error
}

func (imp *userImport) run(rows roster.Rows[roster.MemberRow]) (int, error) {
	results := make(chan userChunk, 1)
	stop := make(chan struct{})
	count := 0
	go func() {
		defer close(results)
		n, err := inChunks(rows, nil, func(line int, chunk []roster.MemberRow) error {
			c, err := imp.check(line, chunk)
			if err != nil {
				return err
			}
			select {
			case results <- c:
				return nil
			case <-stop:
				return context.Canceled
			}
		})
		if err != nil {
			select {
			case results <- userChunk{err: err}:
			case <-stop:
			}
		}
		count = n
	}()
	defer func() { // however this returns, stop the worker and let it finish
		close(stop)
		for range results {
		}
	}()
	for c := range results {
		if c.err != nil {
			return 0, c.err
		}
		if len(c.deferred) > 0 {
			names := make([]string, len(c.deferred))
			for i, d := range c.deferred {
				names[i] = strings.TrimSpace(d.row.Fields["username"])
			}
			stored, err := imp.tx.GetProjectMembers(imp.ctx, imp.a.project.ID, names)
			if err != nil {
				return 0, err
			}
			for i := range c.deferred {
				d := &c.deferred[i]
				imp.s.importUserRow(imp.a, &d.row, d.line, stored, imp.byName, c.w, &imp.txPs, imp.now)
			}
		}
		if !c.clean || imp.txPs.any() {
			continue // keep checking the rest, to report every problem; write nothing
		}
		if len(c.deferred) > 0 {
			c.w.prepared = false // the deferred rows changed it
		}
		if err := c.w.write(imp.ctx, imp.tx, imp.a, imp.dags, imp.now); err != nil {
			return 0, err
		}
	}
	if imp.workerPs.any() || imp.txPs.any() {
		all := problems{list: append(imp.workerPs.list, imp.txPs.list...), extra: imp.workerPs.extra + imp.txPs.extra}
		sort.SliceStable(all.list, func(i, j int) bool { return all.list[i].Line < all.list[j].Line })
		return 0, all.err()
	}
	return count, nil
}

// check looks up and checks one chunk, on the worker.
func (imp *userImport) check(line int, chunk []roster.MemberRow) (userChunk, error) {
	names := make([]string, 0, len(chunk))
	for i := range chunk {
		names = append(names, strings.TrimSpace(chunk[i].Fields["username"]))
	}
	stored, err := imp.s.store.GetProjectMembers(imp.ctx, imp.a.project.ID, names)
	if err != nil {
		return userChunk{}, err
	}
	c := userChunk{w: newMemberWrites()}
	for i := range chunk {
		if _, again := imp.written[roster.FoldKey(names[i])]; again {
			c.deferred = append(c.deferred, numberedRow{line: line + i, row: chunk[i]})
			continue
		}
		imp.s.importUserRow(imp.a, &chunk[i], line+i, stored, imp.byName, c.w, &imp.workerPs, imp.now)
	}
	for _, key := range c.w.order {
		imp.written[key] = struct{}{}
	}
	c.clean = !imp.workerPs.any()
	if c.clean {
		if err := c.w.prepare(imp.ctx, imp.a, imp.dags, imp.now); err != nil {
			return userChunk{}, err
		}
	}
	return c, nil
}

func (s *Service) importUserRow(a *access, row *roster.MemberRow, line int, stored map[string]*roster.ProjectMember,
	dags map[string]*roster.DAG, w *memberWrites, ps *problems, now time.Time) {
	u := strings.TrimSpace(row.Fields["username"])
	if !rowUsername(u, line, ps) {
		return
	}
	key := roster.FoldKey(u)
	who := rowOf{name: key}
	if old := stored[key]; old != nil && old.RoleID != 0 && hasPrivilegeKeys(row) {
		ps.add(line, roster.Problem{Field: "username", Code: roster.PForbidden, Reason: roster.RInRole, Subject: key,
			Message: fmt.Sprintf("%q is in a role: its rights are the role's, and cannot be set on their own.", key)})
		return
	}
	if p := outsideDAG(a, stored[key], key); p != nil {
		ps.add(line, *p)
		return
	}
	if row.DAGSwitch != nil || row.IsMalformed("dag_switch") {
		ps.add(line, roster.Problem{Field: "dag_switch", Code: roster.PForbidden, Subject: key,
			Message: "dag_switch is set for one member at a time (PUT /v1/projects/{id}/members/{username}), not in an import."})
		return
	}
	fresh := w.touched[key] == nil && stored[key] == nil
	m := w.member(a.project.ID, key, stored, now)
	if fresh {
		m.DAGID = a.dag()
	}
	if v, ok := row.Fields["expiration"]; ok {
		if exp, ok := parseExpiration(v); ok {
			m.Expiration = exp
		} else {
			ps.add(line, roster.Problem{Field: "expiration", Code: roster.PFormat, Subject: key, Value: v,
				Message: fmt.Sprintf("The expiration %q for %s is not a valid date (use YYYY-MM-DD).", v, who)})
		}
	}
	if v, ok := row.Fields["data_access_group"]; ok {
		v = strings.TrimSpace(v)
		d := dags[v]
		switch {
		case v != "" && d == nil:
			ps.add(line, unknownDAG("data_access_group", v))
		case a.dag() != 0 && (d == nil || d.ID != a.dag()):
			ps.add(line, ownDAGOnly)
		case d == nil:
			m.DAGID = 0
		default:
			m.DAGID = d.ID
		}
	}
	applyPrivileges(a.project, row, &m.Privileges, line, who, ps)
}

// ownDAGOnly refuses a requester confined to a DAG a member's DAG other than its own.
var ownDAGOnly = roster.Problem{Field: "data_access_group", Code: roster.PForbidden, Reason: roster.RInDAG,
	Message: "You are assigned to a Data Access Group, so you may put members in yours only."}

// outsideDAG refuses, for a requester confined to a DAG, a member of another DAG (or of
// none): such a requester sees only its own DAG's members and may change only them.
// New members it adds join its DAG.
func outsideDAG(a *access, stored *roster.ProjectMember, key string) *roster.Problem {
	if a.dag() == 0 || stored == nil || stored.DAGID == a.dag() {
		return nil
	}
	return &roster.Problem{Field: "username", Code: roster.PForbidden, Reason: roster.ROutsideDAG, Subject: key,
		Message: fmt.Sprintf("%q is not in your Data Access Group, so you may not change it.", key)}
}

// exportMembers streams the members an export may show, with their DAG names.
func (s *Service) exportMembers(ctx context.Context, a *access, byUsername bool, fn func(*roster.ProjectView, *roster.ProjectMember) error) (*roster.ProjectView, error) {
	sch, render, err := s.memberRenderer(ctx, a)
	if err != nil {
		return nil, err
	}
	view, err := s.projectView(ctx, sch, a.project)
	if err != nil {
		return nil, err
	}
	names := make(map[int64]string, len(view.DAGs))
	for _, d := range view.DAGs {
		names[d.ID] = d.UniqueName
	}
	err = s.store.StreamProjectMembers(ctx, roster.MemberFilter{ProjectID: a.project.ID, DAGID: a.dag(), ByUsername: byUsername},
		func(m *roster.ProjectMember) error {
			m.DAGName = names[m.DAGID]
			render(m)
			return fn(view, m)
		})
	return view, err
}

// memberRenderer renders members' accounts for the actor of a, through the core's
// decisions like every other read of an account. The members are in a's project, so a
// caller who holds User Rights there (or administers projects) reads them as the
// project_managers audience. Only the attributes member listings show are rendered:
// those REDCap names, and the names and email of Roster's own member documents.
func (s *Service) memberRenderer(ctx context.Context, a *access) (*roster.Schema, func(*roster.ProjectMember), error) {
	var aud map[string]string
	switch {
	case a.admin:
		aud = map[string]string{roster.AudienceProjectManagers: fmt.Sprintf("the caller administers projects, and the account is a member of project %d", a.project.ID)}
	case a.right(roster.RightUserRights) >= 1:
		aud = map[string]string{roster.AudienceProjectManagers: fmt.Sprintf("the caller holds User Rights in project %d, where the account is a member", a.project.ID)}
	}
	sch, record, err := s.accounts.AccountRenderer(ctx, aud, func(at *roster.Attribute) bool {
		return at.WireName("redcap") != "" || at.Name == "email" || at.Name == "first_name" || at.Name == "last_name"
	})
	if err != nil {
		return nil, nil, err
	}
	return sch, func(m *roster.ProjectMember) {
		if m.Account != nil {
			m.Record = record(m.Account)
		}
		m.Account = nil
	}, nil
}

// projectView is a project with its DAGs, for showing members.
func (s *Service) projectView(ctx context.Context, sch *roster.Schema, p *roster.Project) (*roster.ProjectView, error) {
	dags, err := s.store.ListProjectDAGs(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return &roster.ProjectView{Schema: sch, Project: p, DAGs: dags}, nil
}

// readAccess is projectAccess outside a transaction, with a check.
func (s *Service) readAccess(ctx context.Context, id int64, check func(*access) error) (*access, error) {
	a, err := s.projectAccess(ctx, s.store, id, false)
	if err != nil {
		return nil, err
	}
	if err := check(a); err != nil {
		return nil, err
	}
	return a, nil
}

func checkUsersExport(a *access) error {
	if err := a.apiRight(roster.RightAPIExport, errNoAPIExport); err != nil {
		return err
	}
	if a.right(roster.RightUserRights) == 0 {
		return errReadUsers
	}
	return nil
}

// ExportProjectUsers streams the project's members in the order they were added, each
// with the privileges that apply to it (its role's when it has one). A member confined to
// a DAG sees that DAG's members only. Needs User Rights (full or read-only). fn gets the
// project's DAGs with each member; the view is also returned for exports with no rows.
func (s *Service) ExportProjectUsers(ctx context.Context, id int64, fn func(*roster.ProjectView, *roster.ProjectMember) error) (*roster.ProjectView, error) {
	a, err := s.readAccess(ctx, id, checkUsersExport)
	if err != nil {
		return nil, err
	}
	return s.exportMembers(ctx, a, false, fn)
}

// GetProjectMember returns one member as ExportProjectUsers shows it, with the project's
// view. The same rights are needed; a member outside the reader's DAG is not found.
func (s *Service) GetProjectMember(ctx context.Context, id int64, username string) (*roster.ProjectView, *roster.ProjectMember, error) {
	a, err := s.readAccess(ctx, id, checkUsersExport)
	if err != nil {
		return nil, nil, err
	}
	ms, err := s.store.GetProjectMembers(ctx, id, []string{username})
	if err != nil {
		return nil, nil, err
	}
	m := ms[roster.FoldKey(username)]
	if m == nil || a.dag() != 0 && m.DAGID != a.dag() {
		return nil, nil, roster.Errorf(roster.ENOTFOUND, "%s is not a member of this project.", roster.FoldKey(username))
	}
	sch, render, err := s.memberRenderer(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	render(m)
	view, err := s.projectView(ctx, sch, a.project)
	if err != nil {
		return nil, nil, err
	}
	m.DAGName = dagName(view.DAGs, m.DAGID)
	ids, err := s.store.ListMemberDAGSwitch(ctx, m.ID)
	if err != nil {
		return nil, nil, err
	}
	m.DAGSwitch = dagSwitchNames(view.DAGs, ids)
	return view, m, nil
}

// ExportRoleMappings streams each member's role, by username.
func (s *Service) ExportRoleMappings(ctx context.Context, id int64, fn func(*roster.ProjectView, *roster.ProjectMember) error) (*roster.ProjectView, error) {
	a, err := s.readAccess(ctx, id, checkUsersExport)
	if err != nil {
		return nil, err
	}
	return s.exportMembers(ctx, a, true, fn)
}

// ExportDAGMappings streams each member's DAG, by username. Needs the Data Access Groups
// right.
func (s *Service) ExportDAGMappings(ctx context.Context, id int64, fn func(*roster.ProjectView, *roster.ProjectMember) error) (*roster.ProjectView, error) {
	a, err := s.readAccess(ctx, id, func(a *access) error {
		if err := a.apiRight(roster.RightAPIExport, errNoAPIExport); err != nil {
			return err
		}
		if a.right(roster.RightDataAccessGroups) != 1 {
			return errDAGs
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.exportMembers(ctx, a, true, fn)
}

// DeleteProjectUsers removes members (and their API tokens) from the project, all or
// none: a name that is not a member (or, for a member confined to a DAG, not one of its
// DAG) refuses the whole call. Returns how many were removed.
func (s *Service) DeleteProjectUsers(ctx context.Context, id int64, usernames []string) (int, error) {
	n := 0
	err := s.projectTx(ctx, id, checkUsersWrite, func(tx roster.Tx, a *access, now time.Time) error {
		stored, err := tx.GetProjectMembers(ctx, id, usernames)
		if err != nil {
			return err
		}
		var missing []string
		var ids []int64
		var entries []*roster.AuditEntry
		seen := map[string]bool{}
		for _, u := range usernames {
			key := roster.FoldKey(u)
			m := stored[key]
			if m == nil || (a.dag() != 0 && m.DAGID != a.dag()) {
				missing = append(missing, u)
				continue
			}
			if seen[key] {
				continue
			}
			seen[key] = true
			ids = append(ids, m.ID)
			entries = append(entries, projectAudit(ctx, now, "project.member.remove", a.project, []roster.Change{{Field: "member", Old: m.Username}}))
		}
		if len(missing) > 0 {
			return unknownNames("users", roster.RNotMember, missing,
				"Not members of this project: "+strings.Join(missing, ", ")+". Nobody was removed.")
		}
		if err := tx.DeleteProjectMembers(ctx, id, ids); err != nil {
			return err
		}
		n = len(ids)
		return tx.AppendAudit(ctx, entries...)
	})
	return n, err
}

// ImportRoleMappings assigns members to roles by unique role name ("" takes a member out
// of its role, keeping the role's rights as its own). A username not yet in the project
// joins it with no rights of its own. A row may also set the member's DAG.
func (s *Service) ImportRoleMappings(ctx context.Context, id int64, rows roster.Rows[roster.Mapping]) (int, error) {
	var roleNames map[string]*roster.ProjectRole
	var dagNames map[string]*roster.DAG
	var badRoles []string
	return s.importMappings(ctx, id, rows, mappingImport{
		check:    checkUsersWrite,
		required: []string{"username", "unique_role_name"},
		prepare: func(tx roster.Tx, dags []*roster.DAG) error {
			roles, err := tx.ListProjectRoles(ctx, id)
			if err != nil {
				return err
			}
			roleNames, dagNames = rolesByName(roles), dagsByName(dags)
			return nil
		},
		apply: func(a *access, row roster.Mapping, line int, key string, stored map[string]*roster.ProjectMember, w *memberWrites, ps *problems, now time.Time) {
			var role *roster.ProjectRole
			if name := strings.TrimSpace(row.Name); name != "" {
				if role = roleNames[name]; role == nil {
					if !slices.Contains(badRoles, name) {
						badRoles = append(badRoles, name)
					}
					return
				}
			}
			var dag *roster.DAG
			if row.HasDAG && strings.TrimSpace(row.DAG) != "" {
				if dag = dagNames[strings.TrimSpace(row.DAG)]; dag == nil {
					ps.add(line, unknownDAG("data_access_group", row.DAG))
					return
				}
			}
			if p := outsideDAG(a, stored[key], key); p != nil {
				ps.add(line, *p)
				return
			}
			if a.dag() != 0 && row.HasDAG && (dag == nil || dag.ID != a.dag()) {
				ps.add(line, ownDAGOnly)
				return
			}
			m := w.member(id, key, stored, now)
			if stored[key] == nil {
				m.DAGID = a.dag()
			}
			setRole(m, role)
			if row.HasDAG {
				m.DAGID = 0
				if dag != nil {
					m.DAGID = dag.ID
				}
			}
		},
		finish: func(ps *problems) {
			if len(badRoles) > 0 {
				ps.add(0, unknownRoles(badRoles))
			}
		},
		stop: func() bool { return len(badRoles) > 0 },
	})
}

// setRole puts a member in a role, or takes it out of its role (nil) keeping the role's
// rights as its own, so nobody loses access by the change alone.
func setRole(m *roster.ProjectMember, role *roster.ProjectRole) {
	if role == nil {
		if m.RoleID != 0 && m.Role != nil {
			m.Privileges = *m.Role
		}
		m.RoleID, m.RoleName, m.Role = 0, "", nil
		return
	}
	m.RoleID, m.RoleName = role.ID, role.UniqueName
	p := role.Privileges
	m.Role = &p
}

// ImportDAGMappings assigns members to DAGs by unique group name ("" for none). Every
// username must already be a member. Needs the Data Access Groups right, and a requester
// confined to a DAG may not.
func (s *Service) ImportDAGMappings(ctx context.Context, id int64, rows roster.Rows[roster.Mapping]) (int, error) {
	var byName map[string]*roster.DAG
	return s.importMappings(ctx, id, rows, mappingImport{
		check:    checkDAGWrite,
		required: []string{"username", "redcap_data_access_group"},
		prepare: func(tx roster.Tx, dags []*roster.DAG) error {
			byName = dagsByName(dags)
			return nil
		},
		apply: func(a *access, row roster.Mapping, line int, key string, stored map[string]*roster.ProjectMember, w *memberWrites, ps *problems, now time.Time) {
			if stored[key] == nil {
				u := strings.TrimSpace(row.Username)
				ps.add(line, roster.Problem{Field: "username", Code: roster.PUnknown, Reason: roster.RNotMember, Value: u,
					Message: fmt.Sprintf("%q is not a member of this project.", u)})
				return
			}
			var dagID int64
			if name := strings.TrimSpace(row.Name); name != "" {
				d := byName[name]
				if d == nil {
					ps.add(line, unknownDAG("redcap_data_access_group", name))
					return
				}
				dagID = d.ID
			}
			w.member(id, key, stored, now).DAGID = dagID
		},
	})
}

// mappingImport is what differs between the role-mapping and DAG-mapping imports.
type mappingImport struct {
	check    func(*access) error
	required []string // keys the first row must carry
	prepare  func(tx roster.Tx, dags []*roster.DAG) error
	// apply checks one row whose username is well-formed and new to the import, and
	// records its change in w or its problems in ps.
	apply func(a *access, row roster.Mapping, line int, key string, stored map[string]*roster.ProjectMember, w *memberWrites, ps *problems, now time.Time)
	// finish adds problems collected across rows; stop says there are some.
	finish func(ps *problems)
	stop   func() bool
}

// importMappings runs a mapping import: a chunk at a time, its members looked up in the
// transaction, each username checked (present, well-formed, once in the import), the
// rest left to apply; the chunk is written while the import is free of problems.
func (s *Service) importMappings(ctx context.Context, id int64, rows roster.Rows[roster.Mapping], mi mappingImport) (int, error) {
	count := 0
	err := s.importTx(ctx, id, mi.check, func(tx roster.Tx, a *access, now time.Time) error {
		dags, err := tx.ListProjectDAGs(ctx, id)
		if err != nil {
			return err
		}
		if err := mi.prepare(tx, dags); err != nil {
			return err
		}
		var ps problems
		seen := map[string]bool{}
		count, err = inChunks(rows, func(keys []string) error { return requireKeys(keys, mi.required...) },
			func(line int, chunk []roster.Mapping) error {
				names := make([]string, len(chunk))
				for i, m := range chunk {
					names[i] = strings.TrimSpace(m.Username)
				}
				stored, err := tx.GetProjectMembers(ctx, id, names)
				if err != nil {
					return err
				}
				w := newMemberWrites()
				for i, row := range chunk {
					if !rowUsername(names[i], line+i, &ps) {
						continue
					}
					if len(row.Malformed) > 0 {
						for _, k := range row.Malformed {
							ps.add(line+i, roster.Problem{Field: k, Code: roster.PType, Subject: names[i],
								Message: fmt.Sprintf("The value of %q for user %q must be one value, not a list or an object.", k, names[i])})
						}
						continue
					}
					key := roster.FoldKey(names[i])
					if seen[key] {
						ps.add(line+i, roster.Problem{Field: "username", Code: roster.PDuplicate, Value: names[i],
							Message: fmt.Sprintf("The username %q is in the input more than once.", names[i])})
						continue
					}
					seen[key] = true
					mi.apply(a, row, line+i, key, stored, w, &ps, now)
				}
				if ps.any() || mi.stop != nil && mi.stop() {
					return nil // keep checking, to report every problem; write nothing
				}
				return w.write(ctx, tx, a, dags, now)
			})
		if err != nil {
			return err
		}
		if mi.finish != nil {
			mi.finish(&ps)
		}
		if ps.any() {
			return ps.err()
		}
		return nil
	})
	return count, err
}

// rowUsername checks a row's username as REDCap does, and reports false, the problem
// recorded, when the row cannot be used.
func rowUsername(u string, line int, ps *problems) bool {
	switch {
	case u == "":
		ps.add(line, roster.Problem{Field: "username", Code: roster.PRequired, Message: "The username is missing."})
		return false
	case !checkMemberUsername(u):
		ps.add(line, roster.Problem{Field: "username", Code: roster.PFormat, Value: u,
			Message: fmt.Sprintf("%q is not a valid username: it may hold letters, digits, spaces and _ - . ' @ only, at most %d characters.", u, maxMemberUsername)})
		return false
	}
	return true
}

// importTx is projectTx for imports. Their rows are read as they arrive and cannot be
// read twice, so if the store would run the transaction again after a concurrency
// failure, the import gives up instead.
func (s *Service) importTx(ctx context.Context, id int64, check func(*access) error, fn func(tx roster.Tx, a *access, now time.Time) error) error {
	ran := false
	return s.projectTx(ctx, id, check, func(tx roster.Tx, a *access, now time.Time) error {
		if ran {
			return errRowsReplayed
		}
		ran = true
		return fn(tx, a, now)
	})
}

func checkUsersWrite(a *access) error {
	if err := a.apiRight(roster.RightAPIImport, errNoAPIImport); err != nil {
		return err
	}
	if a.right(roster.RightUserRights) != 1 {
		return errWriteUsers
	}
	return nil
}
