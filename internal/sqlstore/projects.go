package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

const projectCols = "p.id, p.title, p.purpose, p.purpose_other, p.notes, p.created_at, p.updated_at"

func scanProject(row scanner) (*roster.Project, error) {
	var p roster.Project
	if err := row.Scan(&p.ID, &p.Title, &p.Purpose, &p.PurposeOther, &p.Notes, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = utc(p.CreatedAt), utc(p.UpdatedAt)
	return &p, nil
}

func (q *q) CreateProject(ctx context.Context, p *roster.Project) error {
	err := q.w.QueryRowContext(ctx, `INSERT INTO projects (title, purpose, purpose_other, notes, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		p.Title, p.Purpose, p.PurposeOther, p.Notes, dbTime(p.CreatedAt), dbTime(p.UpdatedAt)).Scan(&p.ID)
	if err != nil {
		return q.wrap("store.CreateProject", err)
	}
	return q.wrap("store.CreateProject", q.addForms(ctx, p.ID, 0, p.Forms))
}

func (q *q) addForms(ctx context.Context, projectID int64, first int, forms []roster.Form) error {
	for i, f := range forms {
		if _, err := q.w.ExecContext(ctx, `INSERT INTO project_forms (project_id, position, name, label) VALUES ($1, $2, $3, $4)`,
			projectID, first+i, f.Name, f.Label); err != nil {
			return err
		}
	}
	return nil
}

// projects reads the projects a query selects, with their forms.
func (q *q) projects(ctx context.Context, query string, a ...any) ([]*roster.Project, error) {
	rows, err := q.r.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, err
	}
	var out []*roster.Project
	byID := map[int64]*roster.Project{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, p)
		byID[p.ID] = p
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil || len(out) == 0 {
		return out, err
	}
	fa := q.args()
	ph := make([]string, len(out))
	for i, p := range out {
		ph[i] = fa.add(p.ID)
	}
	rows, err = q.r.QueryContext(ctx, "SELECT project_id, name, label FROM project_forms WHERE project_id IN ("+strings.Join(ph, ",")+
		") ORDER BY project_id, position", fa.vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var f roster.Form
		if err := rows.Scan(&id, &f.Name, &f.Label); err != nil {
			return nil, err
		}
		if p := byID[id]; p != nil {
			p.Forms = append(p.Forms, f)
		}
	}
	return out, rows.Err()
}

func (q *q) GetProject(ctx context.Context, id int64) (*roster.Project, error) {
	ps, err := q.projects(ctx, "SELECT "+projectCols+" FROM projects p WHERE p.id = $1", id)
	if err != nil {
		return nil, q.wrap("store.GetProject", err)
	}
	if len(ps) == 0 {
		return nil, notFound("Project")
	}
	return ps[0], nil
}

func (q *q) ListProjects(ctx context.Context) ([]*roster.Project, error) {
	ps, err := q.projects(ctx, "SELECT "+projectCols+" FROM projects p ORDER BY p.id")
	return ps, q.wrap("store.ListProjects", err)
}

func (q *q) ListMemberProjects(ctx context.Context, username string) ([]*roster.Project, error) {
	ps, err := q.projects(ctx, "SELECT "+projectCols+` FROM projects p JOIN project_members m ON m.project_id = p.id
		WHERE m.username = $1 ORDER BY p.id`, memberKey(username))
	return ps, q.wrap("store.ListMemberProjects", err)
}

func (q *q) UpdateProject(ctx context.Context, p *roster.Project) error {
	err := q.execOne(ctx, "store.UpdateProject", "Project", `UPDATE projects SET title = $1, purpose = $2, purpose_other = $3,
		notes = $4, updated_at = $5 WHERE id = $6`, p.Title, p.Purpose, p.PurposeOther, p.Notes, dbTime(p.UpdatedAt), p.ID)
	if err != nil {
		return err
	}
	var n int
	if err := q.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM project_forms WHERE project_id = $1", p.ID).Scan(&n); err != nil {
		return q.wrap("store.UpdateProject", err)
	}
	if n < len(p.Forms) {
		return q.wrap("store.UpdateProject", q.addForms(ctx, p.ID, n, p.Forms[n:]))
	}
	return nil
}

func (q *q) LockProject(ctx context.Context, id int64) error {
	return q.execOne(ctx, "store.LockProject", "Project", "UPDATE projects SET lock_version = lock_version + 1 WHERE id = $1", id)
}

// memberKey is how usernames are stored in projects: REDCap's are case-insensitive and
// exported lower-case.
func memberKey(username string) string { return roster.FoldKey(username) }

// memberCols reads a member with its account and role joined.
const memberCols = `m.id, m.project_id, m.username, m.expiration, m.dag_id, m.role_id, m.rights, m.forms, m.forms_export,
	m.token_hash IS NOT NULL, m.added_at, m.updated_at, COALESCE(a.id, 0), COALESCE(a.username, ''), COALESCE(a.email, ''),
	COALESCE(a.name, ''), COALESCE(a.first_name, ''), COALESCE(a.last_name, ''), COALESCE(a.state, ''), COALESCE(a.profile, '{}'),
	COALESCE(r.unique_name, ''), r.rights, COALESCE(r.forms, ''), COALESCE(r.forms_export, '')`

const memberFrom = ` FROM project_members m LEFT JOIN accounts a ON a.username_key = m.username
	LEFT JOIN project_roles r ON r.id = m.role_id`

// memberScan holds the scan targets of memberCols, reused across rows of a stream.
type memberScan struct {
	m                                      roster.ProjectMember
	acct                                   roster.Account
	profile                                []byte
	rights, forms, formsExport             string
	state                                  string
	roleRights                             sql.NullString
	roleForms, roleFormsExport             string
	dest                                   []any
	lastForms, lastFormsExport             string
	lastRoleF, lastRoleFE                  string
	cachedForms, cachedFormsExport         []roster.FormRight
	cachedRoleForms, cachedRoleFormsExport []roster.FormRight
	haveCache                              bool
}

func newMemberScan() *memberScan {
	s := &memberScan{}
	m := &s.m
	s.dest = []any{&m.ID, &m.ProjectID, &m.Username, &m.Expiration, &m.DAGID, &m.RoleID, &s.rights, &s.forms, &s.formsExport,
		&m.HasToken, &m.AddedAt, &m.UpdatedAt, &m.AccountID, &s.acct.Username, &s.acct.Email, &s.acct.Name, &s.acct.FirstName,
		&s.acct.LastName, &s.state, &s.profile, &m.RoleName, &s.roleRights, &s.roleForms, &s.roleFormsExport}
	return s
}

// scan reads one row into a new member. Members of one project mostly share their form
// rights, so an unchanged forms string reuses the slice decoded for the row before
// (callers never modify them).
func (s *memberScan) scan(row scanner) (*roster.ProjectMember, error) {
	if err := row.Scan(s.dest...); err != nil {
		return nil, err
	}
	m := s.m
	m.AddedAt, m.UpdatedAt = utc(m.AddedAt), utc(m.UpdatedAt)
	m.Suspended = m.AccountID != 0 && s.state != string(roster.StateActive)
	if m.AccountID != 0 {
		a := s.acct
		a.ID, a.State = m.AccountID, roster.State(s.state)
		p, err := roster.UnmarshalProfile(s.profile)
		if err != nil {
			return nil, fmt.Errorf("account %d: profile: %w", a.ID, err)
		}
		a.Profile = p
		m.Account = &a
	}
	m.Privileges.DecodeRights(s.rights)
	if !s.haveCache || s.forms != s.lastForms {
		s.cachedForms, s.lastForms = roster.DecodeFormRights(s.forms), s.forms
	}
	if !s.haveCache || s.formsExport != s.lastFormsExport {
		s.cachedFormsExport, s.lastFormsExport = roster.DecodeFormRights(s.formsExport), s.formsExport
	}
	m.Privileges.Forms, m.Privileges.FormsExport = s.cachedForms, s.cachedFormsExport
	if s.roleRights.Valid {
		role := &roster.Privileges{}
		role.DecodeRights(s.roleRights.String)
		if !s.haveCache || s.roleForms != s.lastRoleF {
			s.cachedRoleForms, s.lastRoleF = roster.DecodeFormRights(s.roleForms), s.roleForms
		}
		if !s.haveCache || s.roleFormsExport != s.lastRoleFE {
			s.cachedRoleFormsExport, s.lastRoleFE = roster.DecodeFormRights(s.roleFormsExport), s.roleFormsExport
		}
		role.Forms, role.FormsExport = s.cachedRoleForms, s.cachedRoleFormsExport
		m.Role = role
	}
	s.haveCache = true
	return &m, nil
}

func (q *q) GetProjectMembers(ctx context.Context, projectID int64, usernames []string) (map[string]*roster.ProjectMember, error) {
	out := make(map[string]*roster.ProjectMember, len(usernames))
	usernames = validTexts(usernames)
	ms := newMemberScan()
	for start := 0; start < len(usernames); start += batchSize {
		chunk := usernames[start:min(start+batchSize, len(usernames))]
		a := q.args()
		cond := "m.project_id = " + a.add(projectID) + " AND m.username IN ("
		for i, u := range chunk {
			if i > 0 {
				cond += ","
			}
			cond += a.add(memberKey(u))
		}
		rows, err := q.r.QueryContext(ctx, "SELECT "+memberCols+memberFrom+" WHERE "+cond+")", q.planned(a)...)
		if err != nil {
			return nil, q.wrap("store.GetProjectMembers", err)
		}
		for rows.Next() {
			m, err := ms.scan(rows)
			if err != nil {
				rows.Close()
				return nil, q.wrap("store.GetProjectMembers", err)
			}
			out[m.Username] = m
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, q.wrap("store.GetProjectMembers", err)
		}
	}
	return out, nil
}

func (q *q) ListProjectMemberships(ctx context.Context, usernames []string) (map[string][]*roster.ProjectMember, error) {
	out := map[string][]*roster.ProjectMember{}
	usernames = validTexts(usernames)
	ms := newMemberScan()
	for start := 0; start < len(usernames); start += batchSize {
		chunk := usernames[start:min(start+batchSize, len(usernames))]
		a := q.args()
		ph := make([]string, len(chunk))
		for i, u := range chunk {
			ph[i] = a.add(memberKey(u))
		}
		rows, err := q.r.QueryContext(ctx, "SELECT "+memberCols+memberFrom+" WHERE m.username IN ("+strings.Join(ph, ",")+") ORDER BY m.project_id", q.planned(a)...)
		if err != nil {
			return nil, q.wrap("store.ListProjectMemberships", err)
		}
		for rows.Next() {
			m, err := ms.scan(rows)
			if err != nil {
				rows.Close()
				return nil, q.wrap("store.ListProjectMemberships", err)
			}
			out[m.Username] = append(out[m.Username], m)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, q.wrap("store.ListProjectMemberships", err)
		}
	}
	return out, nil
}

func (q *q) StreamProjectMembers(ctx context.Context, f roster.MemberFilter, fn func(*roster.ProjectMember) error) error {
	a := q.args()
	cond := "m.project_id = " + a.add(f.ProjectID)
	if f.DAGID != 0 {
		cond += " AND m.dag_id = " + a.add(f.DAGID)
	}
	if f.RoleID != 0 {
		cond += " AND m.role_id = " + a.add(f.RoleID)
	}
	order := " ORDER BY m.id"
	if f.ByUsername {
		order = " ORDER BY m.username"
	}
	rows, err := q.r.QueryContext(ctx, "SELECT "+memberCols+memberFrom+" WHERE "+cond+order, a.vals...)
	if err != nil {
		return q.wrap("store.StreamProjectMembers", err)
	}
	defer rows.Close()
	ms := newMemberScan()
	for rows.Next() {
		m, err := ms.scan(rows)
		if err != nil {
			return q.wrap("store.StreamProjectMembers", err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return q.wrap("store.StreamProjectMembers", rows.Err())
}

func (q *q) CountProjectMembers(ctx context.Context, projectID int64) (int, error) {
	var n int
	err := q.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM project_members WHERE project_id = $1", projectID).Scan(&n)
	return n, q.wrap("store.CountProjectMembers", err)
}

const (
	memberWriteCols = "project_id, username, expiration, dag_id, role_id, rights, forms, forms_export, token_at, added_at, updated_at"
	memberWriteN    = 11
)

func (q *q) CreateProjectMembers(ctx context.Context, ms []*roster.ProjectMember) error {
	if q.e.ArrayInserts {
		return q.createMembersArrays(ctx, ms)
	}
	vals := make([]any, 0, min(len(ms), batchSize)*memberWriteN)
	for start := 0; start < len(ms); start += batchSize {
		chunk := ms[start:min(start+batchSize, len(ms))]
		vals = vals[:0]
		byKey := make(map[string]*roster.ProjectMember, len(chunk))
		for _, m := range chunk {
			m.Username = memberKey(m.Username)
			p := &m.Privileges
			vals = append(vals, m.ProjectID, m.Username, m.Expiration, m.DAGID, m.RoleID, p.EncodeRights(),
				roster.EncodeFormRights(p.Forms), roster.EncodeFormRights(p.FormsExport), dbTime(time.Time{}), dbTime(m.AddedAt), dbTime(m.UpdatedAt))
			byKey[m.Username] = m
		}
		query := "INSERT INTO project_members (" + memberWriteCols + ") VALUES " + q.valuesList(len(chunk), memberWriteN) + " RETURNING id, username"
		res, err := q.batchQuery(ctx, query, len(chunk) == batchSize, args{vals: vals})
		if err != nil {
			return q.wrap("store.CreateProjectMembers", err)
		}
		if err := setMemberIDs(res, byKey); err != nil {
			return q.wrap("store.CreateProjectMembers", err)
		}
	}
	return nil
}

// setMemberIDs reads the (id, username) rows an insert returned into its members.
func setMemberIDs(res *sql.Rows, byKey map[string]*roster.ProjectMember) error {
	for res.Next() {
		var id int64
		var key string
		if err := res.Scan(&id, &key); err != nil {
			res.Close()
			return err
		}
		if m := byKey[key]; m != nil {
			m.ID = id
		}
	}
	return errors.Join(res.Err(), res.Close())
}

// createMembersArrays is CreateProjectMembers with a column per array (see
// Engine.ArrayInserts).
func (q *q) createMembersArrays(ctx context.Context, ms []*roster.ProjectMember) error {
	for start := 0; start < len(ms); start += 5000 {
		chunk := ms[start:min(start+5000, len(ms))]
		n := len(chunk)
		project, dag, role := make([]int64, n), make([]int64, n), make([]int64, n)
		username, expiration, rights, forms, formsExport := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		added, updated := make([]time.Time, n), make([]time.Time, n)
		byKey := make(map[string]*roster.ProjectMember, n)
		for i, m := range chunk {
			m.Username = memberKey(m.Username)
			p := &m.Privileges
			project[i], username[i], expiration[i], dag[i], role[i] = m.ProjectID, m.Username, m.Expiration, m.DAGID, m.RoleID
			rights[i], forms[i], formsExport[i] = p.EncodeRights(), roster.EncodeFormRights(p.Forms), roster.EncodeFormRights(p.FormsExport)
			added[i], updated[i] = dbTime(m.AddedAt), dbTime(m.UpdatedAt)
			byKey[m.Username] = m
		}
		res, err := q.w.QueryContext(ctx, `INSERT INTO project_members (project_id, username, expiration, dag_id, role_id, rights,
			forms, forms_export, token_at, added_at, updated_at)
			SELECT p, u, e, d, r, ri, f, fe, $9, a, up FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],
				$6::text[], $7::text[], $8::text[], $10::timestamptz[], $11::timestamptz[]) AS t(p, u, e, d, r, ri, f, fe, a, up)
			RETURNING id, username`,
			project, username, expiration, dag, role, rights, forms, formsExport, dbTime(time.Time{}), added, updated)
		if err != nil {
			return q.wrap("store.CreateProjectMembers", err)
		}
		if err := setMemberIDs(res, byKey); err != nil {
			return q.wrap("store.CreateProjectMembers", err)
		}
	}
	return nil
}

func (q *q) UpdateProjectMembers(ctx context.Context, ms []*roster.ProjectMember) error {
	const query = `UPDATE project_members SET expiration = $1, dag_id = $2, role_id = $3, rights = $4, forms = $5,
		forms_export = $6, updated_at = $7 WHERE id = $8`
	var st *sql.Stmt
	if q.tx != nil && len(ms) > 1 {
		var err error
		if st, err = q.tx.PrepareContext(ctx, query); err != nil {
			return q.wrap("store.UpdateProjectMembers", err)
		}
		defer st.Close()
	}
	for _, m := range ms {
		p := &m.Privileges
		vals := []any{m.Expiration, m.DAGID, m.RoleID, p.EncodeRights(), roster.EncodeFormRights(p.Forms),
			roster.EncodeFormRights(p.FormsExport), dbTime(m.UpdatedAt), m.ID}
		var res sql.Result
		var err error
		if st != nil {
			res, err = st.ExecContext(ctx, vals...)
		} else {
			res, err = q.w.ExecContext(ctx, query, vals...)
		}
		if err != nil {
			return q.wrap("store.UpdateProjectMembers", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("Project member")
		}
	}
	return nil
}

// execIDs runs prefix on the project's rows whose column holds one of ids, in chunks.
func (q *q) execIDs(ctx context.Context, op, prefix string, projectID int64, column string, ids []int64) error {
	for start := 0; start < len(ids); start += batchSize {
		chunk := ids[start:min(start+batchSize, len(ids))]
		a := q.args()
		query := prefix + " WHERE project_id = " + a.add(projectID) + " AND " + column + " IN ("
		for i, id := range chunk {
			if i > 0 {
				query += ","
			}
			query += a.add(id)
		}
		if _, err := q.w.ExecContext(ctx, query+")", a.vals...); err != nil {
			return q.wrap(op, err)
		}
	}
	return nil
}

func (q *q) DeleteProjectMembers(ctx context.Context, projectID int64, memberIDs []int64) error {
	if err := q.execIDs(ctx, "store.DeleteProjectMembers", "DELETE FROM project_dag_switch", projectID, "member_id", memberIDs); err != nil {
		return err
	}
	return q.execIDs(ctx, "store.DeleteProjectMembers", "DELETE FROM project_members", projectID, "id", memberIDs)
}

func (q *q) ListMemberDAGSwitch(ctx context.Context, memberID int64) ([]int64, error) {
	rows, err := q.r.QueryContext(ctx, "SELECT dag_id FROM project_dag_switch WHERE member_id = $1 ORDER BY dag_id", memberID)
	if err != nil {
		return nil, q.wrap("store.ListMemberDAGSwitch", err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, q.wrap("store.ListMemberDAGSwitch", err)
		}
		out = append(out, id)
	}
	return out, q.wrap("store.ListMemberDAGSwitch", rows.Err())
}

func (q *q) SetMemberDAGSwitch(ctx context.Context, projectID, memberID int64, dagIDs []int64) error {
	if _, err := q.w.ExecContext(ctx, "DELETE FROM project_dag_switch WHERE member_id = $1", memberID); err != nil {
		return q.wrap("store.SetMemberDAGSwitch", err)
	}
	for _, id := range dagIDs {
		if _, err := q.w.ExecContext(ctx, "INSERT INTO project_dag_switch (member_id, dag_id, project_id) VALUES ($1, $2, $3)",
			memberID, id, projectID); err != nil {
			return q.wrap("store.SetMemberDAGSwitch", err)
		}
	}
	return nil
}

func (q *q) SetProjectToken(ctx context.Context, memberID int64, hash []byte, at time.Time) error {
	var h any
	if hash != nil {
		h = hash
	}
	return q.execOne(ctx, "store.SetProjectToken", "Project member", "UPDATE project_members SET token_hash = $1, token_at = $2 WHERE id = $3",
		h, dbTime(at), memberID)
}

func (q *q) GetProjectMemberByToken(ctx context.Context, hash []byte) (*roster.ProjectMember, error) {
	ctx = q.pointCtx(ctx)
	m, err := newMemberScan().scan(q.r.QueryRowContext(ctx, "SELECT "+memberCols+memberFrom+" WHERE m.token_hash = $1", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Token")
	}
	return m, q.wrap("store.GetProjectMemberByToken", err)
}

const roleCols = "id, project_id, unique_name, label, rights, forms, forms_export, created_at, updated_at"

func (q *q) ListProjectRoles(ctx context.Context, projectID int64) ([]*roster.ProjectRole, error) {
	rows, err := q.r.QueryContext(ctx, "SELECT "+roleCols+" FROM project_roles WHERE project_id = $1 ORDER BY id", projectID)
	if err != nil {
		return nil, q.wrap("store.ListProjectRoles", err)
	}
	defer rows.Close()
	var out []*roster.ProjectRole
	for rows.Next() {
		var r roster.ProjectRole
		var rights, forms, formsExport string
		if err := rows.Scan(&r.ID, &r.ProjectID, &r.UniqueName, &r.Label, &rights, &forms, &formsExport, &r.CreatedAt, &r.UpdatedAt); err != nil {
			return nil, q.wrap("store.ListProjectRoles", err)
		}
		r.CreatedAt, r.UpdatedAt = utc(r.CreatedAt), utc(r.UpdatedAt)
		r.Privileges.DecodeRights(rights)
		r.Privileges.Forms, r.Privileges.FormsExport = roster.DecodeFormRights(forms), roster.DecodeFormRights(formsExport)
		out = append(out, &r)
	}
	return out, q.wrap("store.ListProjectRoles", rows.Err())
}

func (q *q) CreateProjectRole(ctx context.Context, r *roster.ProjectRole) error {
	p := &r.Privileges
	err := q.w.QueryRowContext(ctx, `INSERT INTO project_roles (project_id, unique_name, label, rights, forms, forms_export,
		created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, r.ProjectID, r.UniqueName, r.Label,
		p.EncodeRights(), roster.EncodeFormRights(p.Forms), roster.EncodeFormRights(p.FormsExport), dbTime(r.CreatedAt),
		dbTime(r.UpdatedAt)).Scan(&r.ID)
	return q.wrap("store.CreateProjectRole", err)
}

func (q *q) UpdateProjectRole(ctx context.Context, r *roster.ProjectRole) error {
	p := &r.Privileges
	return q.execOne(ctx, "store.UpdateProjectRole", "Role", `UPDATE project_roles SET label = $1, rights = $2, forms = $3,
		forms_export = $4, updated_at = $5 WHERE id = $6`, r.Label, p.EncodeRights(), roster.EncodeFormRights(p.Forms),
		roster.EncodeFormRights(p.FormsExport), dbTime(r.UpdatedAt), r.ID)
}

func (q *q) DeleteProjectRoles(ctx context.Context, projectID int64, roleIDs []int64) error {
	return q.execIDs(ctx, "store.DeleteProjectRoles", "DELETE FROM project_roles", projectID, "id", roleIDs)
}

func (q *q) ListProjectDAGs(ctx context.Context, projectID int64) ([]*roster.DAG, error) {
	rows, err := q.r.QueryContext(ctx, "SELECT id, project_id, label, created_at FROM project_dags WHERE project_id = $1", projectID)
	if err != nil {
		return nil, q.wrap("store.ListProjectDAGs", err)
	}
	defer rows.Close()
	var out []*roster.DAG
	for rows.Next() {
		var d roster.DAG
		if err := rows.Scan(&d.ID, &d.ProjectID, &d.Label, &d.CreatedAt); err != nil {
			return nil, q.wrap("store.ListProjectDAGs", err)
		}
		d.CreatedAt = utc(d.CreatedAt)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, q.wrap("store.ListProjectDAGs", err)
	}
	roster.UniqueDAGNames(out)
	return out, nil
}

func (q *q) CreateProjectDAG(ctx context.Context, d *roster.DAG) error {
	err := q.w.QueryRowContext(ctx, "INSERT INTO project_dags (project_id, label, created_at) VALUES ($1, $2, $3) RETURNING id",
		d.ProjectID, d.Label, dbTime(d.CreatedAt)).Scan(&d.ID)
	return q.wrap("store.CreateProjectDAG", err)
}

func (q *q) RenameProjectDAG(ctx context.Context, d *roster.DAG) error {
	return q.execOne(ctx, "store.RenameProjectDAG", "DAG", "UPDATE project_dags SET label = $1 WHERE id = $2", d.Label, d.ID)
}

func (q *q) DeleteProjectDAGs(ctx context.Context, projectID int64, dagIDs []int64) error {
	if err := q.execIDs(ctx, "store.DeleteProjectDAGs", "DELETE FROM project_dag_switch", projectID, "dag_id", dagIDs); err != nil {
		return err
	}
	if err := q.execIDs(ctx, "store.DeleteProjectDAGs", "UPDATE project_members SET dag_id = 0", projectID, "dag_id", dagIDs); err != nil {
		return err
	}
	return q.execIDs(ctx, "store.DeleteProjectDAGs", "DELETE FROM project_dags", projectID, "id", dagIDs)
}

// validTexts keeps the names that are valid text: the others name nothing Roster stores,
// and PostgreSQL would refuse to look for them, so a lookup finds nothing for them on
// either engine.
func validTexts(names []string) []string {
	out := names[:0:0]
	for _, n := range names {
		if roster.ValidText(n) {
			out = append(out, n)
		}
	}
	return out
}
