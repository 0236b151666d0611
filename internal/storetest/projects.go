package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

func newProject(t *testing.T, s roster.Store, title string, forms ...string) *roster.Project {
	t.Helper()
	p := &roster.Project{Title: title, Purpose: 2, Notes: "n", CreatedAt: base, UpdatedAt: base}
	for _, f := range forms {
		p.Forms = append(p.Forms, roster.Form{Name: f, Label: "L " + f})
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateProject(context.Background(), p) })
	if p.ID == 0 {
		t.Fatal("CreateProject did not set the id")
	}
	return p
}

func testProjects(t *testing.T, s roster.Store) {
	ctx := context.Background()
	p := newProject(t, s, "Study A", "demographics", "visit_1")
	q := newProject(t, s, "Study B", "only")
	got, err := s.GetProject(ctx, p.ID)
	mustNil(t, err)
	if got.Title != "Study A" || got.Purpose != 2 || got.Notes != "n" || !got.CreatedAt.Equal(base) || got.CreatedAt.Location() != base.Location() {
		t.Fatalf("GetProject = %+v", got)
	}
	if len(got.Forms) != 2 || got.Forms[0] != (roster.Form{Name: "demographics", Label: "L demographics"}) || got.Forms[1].Name != "visit_1" {
		t.Fatalf("forms = %+v, want in creation order", got.Forms)
	}
	_, err = s.GetProject(ctx, 9999)
	wantCode(t, err, roster.ENOTFOUND)

	got.Title, got.Forms = "Study A2", append(got.Forms, roster.Form{Name: "visit_2", Label: "V2"})
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateProject(ctx, got) })
	again, err := s.GetProject(ctx, p.ID)
	mustNil(t, err)
	if again.Title != "Study A2" || len(again.Forms) != 3 || again.Forms[2].Name != "visit_2" {
		t.Fatalf("after UpdateProject: %+v", again)
	}
	all, err := s.ListProjects(ctx)
	mustNil(t, err)
	if len(all) != 2 || all[0].ID != p.ID || all[1].ID != q.ID || len(all[1].Forms) != 1 {
		t.Fatalf("ListProjects = %+v", all)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.LockProject(ctx, p.ID) })
	err = s.InTx(ctx, func(tx roster.Tx) error { return tx.LockProject(ctx, 9999) })
	wantCode(t, err, roster.ENOTFOUND)
}

func testProjectMembers(t *testing.T, s roster.Store) {
	ctx := context.Background()
	p := newProject(t, s, "Study", "f1", "f2")
	other := newProject(t, s, "Other", "f1")
	jane := MustCreate(t, s, newAccount(9001))

	var dag roster.DAG
	var role roster.ProjectRole
	inTx(t, s, func(tx roster.Tx) error {
		dag = roster.DAG{ProjectID: p.ID, Label: "Site A", CreatedAt: base}
		if err := tx.CreateProjectDAG(ctx, &dag); err != nil {
			return err
		}
		role = roster.ProjectRole{ProjectID: p.ID, UniqueName: "U-123ACDEFHJ", Label: "Monitor", CreatedAt: base, UpdatedAt: base}
		role.Privileges.Rights[roster.RightReports] = 1
		role.Privileges.Forms = []roster.FormRight{{Form: "f2", Value: 2}}
		return tx.CreateProjectRole(ctx, &role)
	})

	var ms []*roster.ProjectMember
	for i := range 2500 { // more than a batch
		m := &roster.ProjectMember{ProjectID: p.ID, Username: fmt.Sprintf("User%04d", i), AddedAt: base, UpdatedAt: base}
		m.Privileges.Rights[roster.RightDesign] = i % 2
		m.Privileges.Rights[roster.RightUserRights] = 2
		m.Privileges.Forms = []roster.FormRight{{Form: "f1", Value: 1}, {Form: "f2", Value: 3}}
		m.Privileges.FormsExport = []roster.FormRight{{Form: "f1", Value: 2}}
		ms = append(ms, m)
	}
	ms[1].Expiration, ms[1].DAGID = "2030-01-02", dag.ID
	ms[2].RoleID = role.ID
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateProjectMembers(ctx, ms) })
	for _, m := range ms {
		if m.ID == 0 {
			t.Fatalf("CreateProjectMembers left %s without an id", m.Username)
		}
	}
	// Same username in another project is another member.
	inTx(t, s, func(tx roster.Tx) error {
		return tx.CreateProjectMembers(ctx, []*roster.ProjectMember{{ProjectID: other.ID, Username: "user0001", AddedAt: base, UpdatedAt: base}})
	})
	err := s.InTx(ctx, func(tx roster.Tx) error {
		return tx.CreateProjectMembers(ctx, []*roster.ProjectMember{{ProjectID: p.ID, Username: "USER0001", AddedAt: base, UpdatedAt: base}})
	})
	wantCode(t, err, roster.ECONFLICT)

	got, err := s.GetProjectMembers(ctx, p.ID, []string{"USER0000", "user0001", "user0002", "nobody", jane.Username})
	mustNil(t, err)
	if len(got) != 3 {
		t.Fatalf("GetProjectMembers found %d, want 3", len(got))
	}
	m0, m1, m2 := got["user0000"], got["user0001"], got["user0002"]
	if m0 == nil || m0.Username != "user0000" || m0.Privileges.Rights[roster.RightUserRights] != 2 || m0.Privileges.Rights[roster.RightDesign] != 0 ||
		roster.EncodeFormRights(m0.Privileges.Forms) != "f1:1,f2:3" || roster.EncodeFormRights(m0.Privileges.FormsExport) != "f1:2" ||
		m0.AccountID != 0 || m0.Role != nil || m0.HasToken {
		t.Fatalf("member 0 = %+v", m0)
	}
	if m1.Expiration != "2030-01-02" || m1.DAGID != dag.ID || m1.Privileges.Rights[roster.RightDesign] != 1 {
		t.Fatalf("member 1 = %+v", m1)
	}
	if m2.RoleID != role.ID || m2.RoleName != "U-123ACDEFHJ" || m2.Role == nil || m2.Effective().Rights[roster.RightReports] != 1 ||
		m2.Effective().Rights[roster.RightUserRights] != 0 || roster.EncodeFormRights(m2.Effective().Forms) != "f2:2" {
		t.Fatalf("member 2 (in a role) = %+v role %+v", m2, m2.Role)
	}

	// A member whose username is an account's carries the account's names and state.
	inTx(t, s, func(tx roster.Tx) error {
		return tx.CreateProjectMembers(ctx, []*roster.ProjectMember{{ProjectID: p.ID, Username: jane.Username, AddedAt: base, UpdatedAt: base}})
	})
	got, err = s.GetProjectMembers(ctx, p.ID, []string{jane.Username})
	mustNil(t, err)
	mj := got[roster.FoldKey(jane.Username)]
	if mj == nil || mj.AccountID != jane.ID || mj.Account == nil || mj.Account.Email != jane.Email || mj.Account.FirstName != jane.FirstName ||
		mj.Account.LastName != jane.LastName || mj.Account.Username != jane.Username || mj.Suspended {
		t.Fatalf("member with account = %+v", mj)
	}

	// Streams: insertion order, by username, by DAG, by role.
	var order []string
	mustNil(t, s.StreamProjectMembers(ctx, roster.MemberFilter{ProjectID: p.ID}, func(m *roster.ProjectMember) error {
		order = append(order, m.Username)
		return nil
	}))
	if len(order) != 2501 || order[0] != "user0000" || order[2499] != "user2499" || order[2500] != roster.FoldKey(jane.Username) {
		t.Fatalf("stream order: %d rows, first %q, last %q", len(order), order[0], order[len(order)-1])
	}
	order = order[:0]
	mustNil(t, s.StreamProjectMembers(ctx, roster.MemberFilter{ProjectID: p.ID, ByUsername: true}, func(m *roster.ProjectMember) error {
		order = append(order, m.Username)
		return nil
	}))
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Fatalf("by-username stream out of order at %d: %q then %q", i, order[i-1], order[i])
		}
	}
	count := func(f roster.MemberFilter) int {
		n := 0
		mustNil(t, s.StreamProjectMembers(ctx, f, func(*roster.ProjectMember) error { n++; return nil }))
		return n
	}
	if n := count(roster.MemberFilter{ProjectID: p.ID, DAGID: dag.ID}); n != 1 {
		t.Fatalf("DAG filter: %d members", n)
	}
	if n := count(roster.MemberFilter{ProjectID: p.ID, RoleID: role.ID}); n != 1 {
		t.Fatalf("role filter: %d members", n)
	}
	if n, err := s.CountProjectMembers(ctx, p.ID); err != nil || n != 2501 {
		t.Fatalf("CountProjectMembers = %d, %v", n, err)
	}

	// Updates.
	m0.Expiration, m0.DAGID = "2031-05-06", dag.ID
	m0.Privileges.Rights[roster.RightLockRecords] = 2
	m0.Privileges.Forms = nil
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateProjectMembers(ctx, []*roster.ProjectMember{m0}) })
	got, _ = s.GetProjectMembers(ctx, p.ID, []string{"user0000"})
	if g := got["user0000"]; g.Expiration != "2031-05-06" || g.DAGID != dag.ID || g.Privileges.Rights[roster.RightLockRecords] != 2 || len(g.Privileges.Forms) != 0 {
		t.Fatalf("after update: %+v", g)
	}

	// Tokens.
	hash := []byte("0123456789abcdef0123456789abcdef")
	inTx(t, s, func(tx roster.Tx) error { return tx.SetProjectToken(ctx, mj.ID, hash, base) })
	tm, err := s.GetProjectMemberByToken(ctx, hash)
	mustNil(t, err)
	if tm.ID != mj.ID || !tm.HasToken || tm.AccountID != jane.ID || tm.ProjectID != p.ID {
		t.Fatalf("GetProjectMemberByToken = %+v", tm)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.SetProjectToken(ctx, mj.ID, nil, base) })
	_, err = s.GetProjectMemberByToken(ctx, hash)
	wantCode(t, err, roster.ENOTFOUND)

	projects, err := s.ListMemberProjects(ctx, "USER0001")
	mustNil(t, err)
	if len(projects) != 2 || projects[0].ID != p.ID || projects[1].ID != other.ID {
		t.Fatalf("ListMemberProjects = %+v", projects)
	}

	// Deleting a DAG takes its members out of it; deleting members removes them.
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteProjectDAGs(ctx, p.ID, []int64{dag.ID}) })
	if n := count(roster.MemberFilter{ProjectID: p.ID, DAGID: dag.ID}); n != 0 {
		t.Fatalf("members still in a deleted DAG: %d", n)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteProjectMembers(ctx, p.ID, []int64{m0.ID, m1.ID}) })
	if n, _ := s.CountProjectMembers(ctx, p.ID); n != 2499 {
		t.Fatalf("after delete: %d members", n)
	}
	// Deleting by id stays inside the project.
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteProjectMembers(ctx, other.ID, []int64{ms[5].ID}) })
	if n, _ := s.CountProjectMembers(ctx, p.ID); n != 2499 {
		t.Fatalf("a delete in another project removed a member: %d", n)
	}
}

func testProjectRolesAndDAGs(t *testing.T, s roster.Store) {
	ctx := context.Background()
	p := newProject(t, s, "Study", "f1")
	var r1, r2 roster.ProjectRole
	inTx(t, s, func(tx roster.Tx) error {
		r1 = roster.ProjectRole{ProjectID: p.ID, UniqueName: "U-111AAAAAAA", Label: "One", CreatedAt: base, UpdatedAt: base}
		r1.Privileges.Rights[roster.RightCalendar] = 1
		r1.Privileges.FormsExport = []roster.FormRight{{Form: "f1", Value: 3}}
		r2 = roster.ProjectRole{ProjectID: p.ID, UniqueName: "U-222AAAAAAA", Label: "Two", CreatedAt: base, UpdatedAt: base}
		if err := tx.CreateProjectRole(ctx, &r1); err != nil {
			return err
		}
		return tx.CreateProjectRole(ctx, &r2)
	})
	err := s.InTx(ctx, func(tx roster.Tx) error {
		dup := roster.ProjectRole{ProjectID: p.ID, UniqueName: "U-111AAAAAAA", Label: "Dup", CreatedAt: base, UpdatedAt: base}
		return tx.CreateProjectRole(ctx, &dup)
	})
	wantCode(t, err, roster.ECONFLICT)
	roles, err := s.ListProjectRoles(ctx, p.ID)
	mustNil(t, err)
	if len(roles) != 2 || roles[0].UniqueName != "U-111AAAAAAA" || roles[0].Privileges.Rights[roster.RightCalendar] != 1 ||
		roster.EncodeFormRights(roles[0].Privileges.FormsExport) != "f1:3" || roles[1].Label != "Two" {
		t.Fatalf("ListProjectRoles = %+v", roles)
	}
	r1.Label = "Uno"
	r1.Privileges.Rights[roster.RightCalendar] = 0
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateProjectRole(ctx, &r1) })
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteProjectRoles(ctx, p.ID, []int64{r2.ID}) })
	roles, _ = s.ListProjectRoles(ctx, p.ID)
	if len(roles) != 1 || roles[0].Label != "Uno" || roles[0].Privileges.Rights[roster.RightCalendar] != 0 {
		t.Fatalf("after update and delete: %+v", roles)
	}

	labels := []string{"Site B", "Site A", "site a", "!!!", "A very long site name indeed"}
	inTx(t, s, func(tx roster.Tx) error {
		for _, l := range labels {
			if err := tx.CreateProjectDAG(ctx, &roster.DAG{ProjectID: p.ID, Label: l, CreatedAt: base}); err != nil {
				return err
			}
		}
		return nil
	})
	dags, err := s.ListProjectDAGs(ctx, p.ID)
	mustNil(t, err)
	var got []string
	for _, d := range dags {
		got = append(got, d.Label+"="+d.UniqueName)
	}
	want := "[!!!=6dd075556e A very long site name indeed=a_very_long_site_n Site A=site_a Site B=site_b site a=site_ab]"
	if fmt.Sprint(got) != want {
		t.Fatalf("DAGs = %v\nwant   %s", got, want)
	}
	dags[0].Label = "Renamed"
	inTx(t, s, func(tx roster.Tx) error { return tx.RenameProjectDAG(ctx, dags[0]) })
	dags, _ = s.ListProjectDAGs(ctx, p.ID)
	if dags[len(dags)-1].Label != "site a" || dags[1].UniqueName != "renamed" {
		t.Fatalf("after rename: %+v %+v", dags[1], dags[len(dags)-1])
	}
}

// testDAGSwitch: the DAGs each member may switch among, "no DAG" (0) included; deleting
// a DAG or a member removes its assignments, leaving the others.
func testDAGSwitch(t *testing.T, s roster.Store) {
	ctx := context.Background()
	p := newProject(t, s, "Study", "f1")
	other := newProject(t, s, "Other", "f1")
	var north, south, east roster.DAG
	ms := []*roster.ProjectMember{
		{ProjectID: p.ID, Username: "ann", AddedAt: base, UpdatedAt: base},
		{ProjectID: p.ID, Username: "ben", AddedAt: base, UpdatedAt: base},
		{ProjectID: other.ID, Username: "ann", AddedAt: base, UpdatedAt: base},
	}
	inTx(t, s, func(tx roster.Tx) error {
		for _, d := range []*roster.DAG{&north, &south} {
			d.ProjectID, d.CreatedAt = p.ID, base
		}
		north.Label, south.Label = "North", "South"
		east = roster.DAG{ProjectID: other.ID, Label: "East", CreatedAt: base}
		for _, d := range []*roster.DAG{&north, &south, &east} {
			if err := tx.CreateProjectDAG(ctx, d); err != nil {
				return err
			}
		}
		if err := tx.CreateProjectMembers(ctx, ms[:2]); err != nil {
			return err
		}
		return tx.CreateProjectMembers(ctx, ms[2:]) // one project per call
	})
	ann, ben, otherAnn := ms[0], ms[1], ms[2]
	list := func(m *roster.ProjectMember) []int64 {
		t.Helper()
		ids, err := s.ListMemberDAGSwitch(ctx, m.ID)
		mustNil(t, err)
		return ids
	}
	if got := list(ann); got == nil || len(got) != 0 {
		t.Fatalf("a member without assignments: %#v, want an empty list", got)
	}
	inTx(t, s, func(tx roster.Tx) error {
		if err := tx.SetMemberDAGSwitch(ctx, p.ID, ann.ID, []int64{south.ID, 0, north.ID}); err != nil {
			return err
		}
		if err := tx.SetMemberDAGSwitch(ctx, p.ID, ben.ID, []int64{south.ID}); err != nil {
			return err
		}
		return tx.SetMemberDAGSwitch(ctx, other.ID, otherAnn.ID, []int64{0, east.ID})
	})
	if got := fmt.Sprint(list(ann)); got != fmt.Sprint([]int64{0, north.ID, south.ID}) {
		t.Fatalf("ann may switch among %s", got)
	}
	// Set replaces; a rolled-back set leaves them as they were.
	inTx(t, s, func(tx roster.Tx) error { return tx.SetMemberDAGSwitch(ctx, p.ID, ann.ID, []int64{0, south.ID}) })
	err := s.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.SetMemberDAGSwitch(ctx, p.ID, ann.ID, nil); err != nil {
			return err
		}
		return roster.Errorf(roster.EINVALID, "roll back")
	})
	wantCode(t, err, roster.EINVALID)
	if got := fmt.Sprint(list(ann)); got != fmt.Sprint([]int64{0, south.ID}) {
		t.Fatalf("after replace and rollback: %s", got)
	}
	// Deleting a DAG takes it out of every member's assignments.
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteProjectDAGs(ctx, p.ID, []int64{south.ID}) })
	if got, ben := fmt.Sprint(list(ann)), list(ben); got != "[0]" || len(ben) != 0 {
		t.Fatalf("after deleting the DAG: ann %s, ben %v", got, ben)
	}
	// Deleting a member deletes its assignments, and no one else's.
	inTx(t, s, func(tx roster.Tx) error { return tx.SetMemberDAGSwitch(ctx, p.ID, ben.ID, []int64{north.ID}) })
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteProjectMembers(ctx, p.ID, []int64{ann.ID}) })
	if got, b, o := list(ann), fmt.Sprint(list(ben)), fmt.Sprint(list(otherAnn)); len(got) != 0 || b != fmt.Sprint([]int64{north.ID}) ||
		o != fmt.Sprint([]int64{0, east.ID}) {
		t.Fatalf("after deleting ann: ann %v, ben %s, ann elsewhere %s", got, b, o)
	}
}
