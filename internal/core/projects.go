package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// Who may do what in a project follows REDCap. System administrators and holders of the
// project_admin capability administer every project. A member acts with the privileges
// of their role, or their own when they have none; a member assigned to a DAG sees only
// that DAG's members. A project API token authenticates its member in that project only,
// and its API rights gate it: api_export for every export, api_import for imports and
// user deletions, record_delete for deleting roles (REDCap's quirk, kept).

// Refusals REDCap makes before looking at the call (403 on its API).
var (
	errNoAPIExport    = apiRightsError("You do not have API Export privileges")
	errNoAPIImport    = apiRightsError("You do not have API Import/Update privileges")
	errNoRecordDelete = apiRightsError("You do not have Delete Record privileges")
	errInDAG          = apiRightsError("You do not have permission to export/import/delete Data Access Groups because you have been assigned to a Data Access Group.")
)

// Refusals for the rights a call needs (400 on REDCap's API).
const (
	msgUsersExport = "Insufficient user privileges: You must have 'API Export' privileges and 'User Rights' privileges (Full Access or Read Only) in the project."
	msgUsersImport = "Insufficient user privileges: You must have 'API Import/Update' privileges and 'User Rights' privileges in the project in order to import/update users via the API Import Users method."
	msgRolesImport = "Insufficient user privileges: You must have 'API Import/Update' privileges and 'User Rights' privileges in the project in order to import/update user roles via the API Import User Roles method."
	msgDAGsExport  = "Insufficient user privileges: You must have 'API Export' privileges and 'Data Access Groups' privileges in the project."
	msgDAGsImport  = "Insufficient user privileges: You must have 'API Import/Update' privileges and 'Data Access Groups' privileges in the project."
)

func apiRightsError(msg string) *roster.Error {
	return &roster.Error{Code: roster.EFORBIDDEN, Message: msg, Reason: roster.RAPIRights}
}

func insufficient(msg string) error { return &roster.Error{Code: roster.EFORBIDDEN, Message: msg} }

var errProjectNotFound = roster.Errorf(roster.ENOTFOUND, "Project not found.")

// access is what the actor may do in one project.
type access struct {
	project *roster.Project
	actor   roster.Actor
	// admin: a system or project administrator, with every right and no DAG.
	admin bool
	// member is the actor's membership when not admin.
	member *roster.ProjectMember
	priv   *roster.Privileges
	// token: authenticated by the project's API token, so API rights apply.
	token bool
}

// right is the actor's value of r. Administrators hold every right in full: 1 (for
// User Rights, 2 would mean read-only).
func (a *access) right(r roster.Right) int {
	if a.admin {
		return 1
	}
	return a.priv.Rights[r]
}

// dag is the DAG the actor is confined to, 0 for none.
func (a *access) dag() int64 {
	if a.admin {
		return 0
	}
	return a.member.DAGID
}

// apiRight refuses a token without the API right.
func (a *access) apiRight(r roster.Right, refusal error) error {
	if a.token && a.priv.Rights[r] == 0 {
		return refusal
	}
	return nil
}

func mayAdministerProjects(a roster.Actor) bool { return a.Project == nil && a.Can("project_admin") }

func (s *Service) today() string { return s.cfg.Now().UTC().Format(time.DateOnly) }

// projectAccess finds what the actor in ctx may do in the project. Read through rd: the
// store, or a transaction that has locked the project.
func (s *Service) projectAccess(ctx context.Context, rd roster.Reader, projectID int64, write bool) (*access, error) {
	actor := roster.ActorFromContext(ctx)
	if err := requireSignedIn(actor, write); err != nil {
		return nil, err
	}
	if actor.Project != nil && actor.Project.ProjectID != projectID {
		return nil, errProjectNotFound
	}
	p, err := rd.GetProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	a := &access{project: p, actor: actor}
	if mayAdministerProjects(actor) {
		a.admin = true
		return a, nil
	}
	ms, err := rd.GetProjectMembers(ctx, projectID, []string{actor.Username})
	if err != nil {
		return nil, err
	}
	m := ms[roster.FoldKey(actor.Username)]
	if m == nil || (actor.Project != nil && m.ID != actor.Project.MemberID) {
		return nil, errProjectNotFound
	}
	if m.Expired(s.today()) {
		if actor.Project == nil {
			return nil, roster.Errorf(roster.EFORBIDDEN, "Your rights in this project expired on %s.", m.Expiration)
		}
		return nil, expiredError(m)
	}
	a.member, a.priv, a.token = m, m.Effective(), actor.Project != nil
	return a, nil
}

func expiredError(m *roster.ProjectMember) error {
	return apiRightsError(fmt.Sprintf("You do not have API rights because your privileges have expired for this project as of %s.", m.Expiration))
}

// projectTx runs fn in a transaction that holds the project's lock, with the actor's
// access read inside it.
func (s *Service) projectTx(ctx context.Context, projectID int64, check func(*access) error, fn func(tx roster.Tx, a *access, now time.Time) error) error {
	actor := roster.ActorFromContext(ctx)
	if err := requireSignedIn(actor, true); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.LockProject(ctx, projectID); err != nil {
			if roster.ErrorCode(err) == roster.ENOTFOUND {
				return errProjectNotFound
			}
			return err
		}
		a, err := s.projectAccess(ctx, tx, projectID, true)
		if err != nil {
			return err
		}
		if err := check(a); err != nil {
			return err
		}
		return fn(tx, a, s.now())
	})
}

func projectAudit(ctx context.Context, at time.Time, action string, p *roster.Project, changes []roster.Change) *roster.AuditEntry {
	return audit(ctx, at, action, "project", p.ID, p.Title, changes)
}

var formName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

const maxProjectTitle = 500

// CreateProject creates a project with its forms. System and project administrators may.
func (s *Service) CreateProject(ctx context.Context, p *roster.Project) (*roster.Project, error) {
	actor := roster.ActorFromContext(ctx)
	if err := requireSignedIn(actor, true); err != nil {
		return nil, err
	}
	if !mayAdministerProjects(actor) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Only project administrators may create projects.")
	}
	now := s.now()
	np := &roster.Project{Title: strings.TrimSpace(p.Title), Purpose: p.Purpose, PurposeOther: p.PurposeOther, Notes: p.Notes,
		CreatedAt: now, UpdatedAt: now}
	var ps []roster.Problem
	if err := roster.CheckText("title", np.Title, "purpose_other", np.PurposeOther, "notes", np.Notes); err != nil {
		return nil, err
	}
	switch n := len([]rune(np.Title)); {
	case n == 0:
		ps = append(ps, roster.Problem{Field: "title", Code: roster.PRequired, Message: "The project title is required."})
	case n > maxProjectTitle:
		ps = append(ps, roster.Problem{Field: "title", Code: roster.PTooLong, Limit: maxProjectTitle, Message: "The project title may have at most 500 characters."})
	}
	if np.Purpose < 0 || np.Purpose > roster.MaxProjectPurpose {
		ps = append(ps, roster.Problem{Field: "purpose", Code: roster.PRange, Message: "The purpose must be 0 (practice), 1 (other), 2 (research), 3 (quality improvement) or 4 (operational support)."})
	}
	forms, fps := checkForms(p.Forms, nil)
	np.Forms = forms
	ps = append(ps, fps...)
	if len(np.Forms) == 0 && len(fps) == 0 {
		ps = append(ps, roster.Problem{Field: "forms", Code: roster.PRequired, Message: "A project needs at least one form."})
	}
	if len(ps) > 0 {
		return nil, roster.Invalid(ps...)
	}
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.CreateProject(ctx, np); err != nil {
			return err
		}
		names := make([]string, len(np.Forms))
		for i, f := range np.Forms {
			names[i] = f.Name
		}
		return tx.AppendAudit(ctx, projectAudit(ctx, now, "project.create", np, []roster.Change{
			{Field: "title", New: np.Title}, {Field: "forms", New: strings.Join(names, ",")}}))
	})
	if err != nil {
		return nil, err
	}
	return np, nil
}

// checkForms checks new forms against each other and the existing ones, and labels those
// without a label after their name.
func checkForms(in, existing []roster.Form) ([]roster.Form, []roster.Problem) {
	var ps []roster.Problem
	seen := map[string]bool{}
	for _, f := range existing {
		seen[f.Name] = true
	}
	out := make([]roster.Form, 0, len(in))
	for _, f := range in {
		f.Name, f.Label = strings.TrimSpace(f.Name), strings.TrimSpace(f.Label)
		switch {
		case !roster.ValidText(f.Label):
			ps = append(ps, roster.Problem{Field: "forms", Code: roster.PFormat, Message: "A form label: " + roster.TextMessage})
		case !formName.MatchString(f.Name):
			ps = append(ps, roster.Problem{Field: "forms", Code: roster.PFormat, Value: f.Name,
				Message: fmt.Sprintf("The form name %q must start with a lower-case letter and hold only lower-case letters, digits and underscores (at most 64).", f.Name)})
		case seen[f.Name]:
			ps = append(ps, roster.Problem{Field: "forms", Code: roster.PDuplicate, Value: f.Name, Message: fmt.Sprintf("The form %q is listed twice.", f.Name)})
		}
		seen[f.Name] = true
		if f.Label == "" {
			f.Label = formLabel(f.Name)
		}
		out = append(out, f)
	}
	return out, ps
}

// formLabel is REDCap's way of naming a form after its variable name in reverse:
// "day_3_visit" → "Day 3 Visit".
func formLabel(name string) string {
	words := strings.Split(name, "_")
	for i, w := range words {
		if w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.TrimSpace(strings.Join(words, " "))
}

// GetProject returns a project the actor administers or belongs to.
func (s *Service) GetProject(ctx context.Context, id int64) (*roster.Project, error) {
	a, err := s.projectAccess(ctx, s.store, id, false)
	if err != nil {
		return nil, err
	}
	return a.project, nil
}

// ProjectInfo returns a project for REDCap's project and metadata exports, which need
// API export rights.
func (s *Service) ProjectInfo(ctx context.Context, id int64) (*roster.Project, error) {
	a, err := s.projectAccess(ctx, s.store, id, false)
	if err != nil {
		return nil, err
	}
	if err := a.apiRight(roster.RightAPIExport, errNoAPIExport); err != nil {
		return nil, err
	}
	return a.project, nil
}

// ListProjects lists the projects the actor administers or belongs to.
func (s *Service) ListProjects(ctx context.Context) ([]*roster.Project, error) {
	actor := roster.ActorFromContext(ctx)
	if err := requireSignedIn(actor, false); err != nil {
		return nil, err
	}
	if actor.Project != nil {
		p, err := s.store.GetProject(ctx, actor.Project.ProjectID)
		if err != nil {
			return nil, err
		}
		return []*roster.Project{p}, nil
	}
	if mayAdministerProjects(actor) {
		return s.store.ListProjects(ctx)
	}
	return s.store.ListMemberProjects(ctx, actor.Username)
}

// AddProjectForms appends forms to a project. Project administrators and members with
// the design right may.
func (s *Service) AddProjectForms(ctx context.Context, id int64, forms []roster.Form) (*roster.Project, error) {
	var out *roster.Project
	err := s.projectTx(ctx, id, func(a *access) error {
		if a.token || a.right(roster.RightDesign) != 1 {
			return roster.Errorf(roster.EFORBIDDEN, "You need the Project Design and Setup right to add forms.")
		}
		return nil
	}, func(tx roster.Tx, a *access, now time.Time) error {
		if len(forms) == 0 {
			return roster.Invalid(roster.Problem{Field: "forms", Code: roster.PRequired, Message: "Send at least one form to add."})
		}
		add, ps := checkForms(forms, a.project.Forms)
		if len(ps) > 0 {
			return roster.Invalid(ps...)
		}
		p := *a.project
		p.Forms = append(append([]roster.Form(nil), p.Forms...), add...)
		p.UpdatedAt = now
		if err := tx.UpdateProject(ctx, &p); err != nil {
			return err
		}
		out = &p
		names := make([]string, len(add))
		for i, f := range add {
			names[i] = f.Name
		}
		return tx.AppendAudit(ctx, projectAudit(ctx, now, "project.forms.add", &p, []roster.Change{{Field: "forms", New: strings.Join(names, ",")}}))
	})
	return out, err
}

// newProjectToken returns a REDCap API token: 32 upper-case hex digits (128 bits).
func newProjectToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

// IssueProjectToken gives a member a new API token for the project, replacing any they
// had; the token is returned this once. Project administrators may issue tokens, and
// members with an API right may issue their own. Only members with an active account
// may hold one: the account is who acts.
func (s *Service) IssueProjectToken(ctx context.Context, id int64, username string) (*roster.NewProjectToken, error) {
	token, err := newProjectToken()
	if err != nil {
		return nil, roster.Internal("core.IssueProjectToken", err)
	}
	var out *roster.NewProjectToken
	err = s.tokenTx(ctx, id, username, func(tx roster.Tx, a *access, m *roster.ProjectMember, now time.Time) error {
		if m.AccountID == 0 || m.Suspended {
			return roster.Errorf(roster.ECONFLICT, "Only members with an active account may hold an API token; %q has none.", m.Username)
		}
		if err := tx.SetProjectToken(ctx, m.ID, secret.HashToken(token), now); err != nil {
			return err
		}
		m.HasToken = true
		m.Account = nil // surfaces show the member's username only
		out = &roster.NewProjectToken{Token: token, Member: m}
		return tx.AppendAudit(ctx, projectAudit(ctx, now, "project.token.issue", a.project, []roster.Change{
			{Field: "member", New: m.Username}, {Field: "token", Redacted: true}}))
	})
	return out, err
}

// RevokeProjectToken revokes a member's API token.
func (s *Service) RevokeProjectToken(ctx context.Context, id int64, username string) error {
	return s.tokenTx(ctx, id, username, func(tx roster.Tx, a *access, m *roster.ProjectMember, now time.Time) error {
		if !m.HasToken {
			return roster.Errorf(roster.ENOTFOUND, "%s has no API token in this project.", m.Username)
		}
		if err := tx.SetProjectToken(ctx, m.ID, nil, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, projectAudit(ctx, now, "project.token.revoke", a.project, []roster.Change{
			{Field: "member", Old: m.Username}, {Field: "token", Redacted: true}}))
	})
}

func (s *Service) tokenTx(ctx context.Context, id int64, username string, fn func(roster.Tx, *access, *roster.ProjectMember, time.Time) error) error {
	return s.projectTx(ctx, id, func(a *access) error {
		if a.token {
			return roster.Errorf(roster.EFORBIDDEN, "API tokens cannot manage API tokens.")
		}
		return nil
	}, func(tx roster.Tx, a *access, now time.Time) error {
		self := !a.admin && a.member.Username == roster.FoldKey(username)
		if !a.admin && !(self && (a.priv.Rights[roster.RightAPIExport] == 1 || a.priv.Rights[roster.RightAPIImport] == 1)) {
			return roster.Errorf(roster.EFORBIDDEN, "Only project administrators, or members with an API right for their own token, may manage API tokens.")
		}
		ms, err := tx.GetProjectMembers(ctx, id, []string{username})
		if err != nil {
			return err
		}
		m := ms[roster.FoldKey(username)]
		if m == nil {
			return roster.Errorf(roster.ENOTFOUND, "%s is not a member of this project.", roster.FoldKey(username))
		}
		return fn(tx, a, m, now)
	})
}

// tokenFormat is what REDCap accepts as a token before looking it up.
var tokenFormat = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// AuthenticateProjectToken returns the actor a project API token stands for: its member,
// confined to the project. Unknown tokens, and tokens of members without an active
// account, are EUNAUTHENTICATED; expired rights are EFORBIDDEN. Like bad API keys, bad
// tokens from one client address are slowed down.
func (s *Service) AuthenticateProjectToken(ctx context.Context, token string, c roster.Client) (roster.Actor, error) {
	ipKey := "key:ip:" + c.IP
	fail := func() (roster.Actor, error) {
		if err := s.blocked(ctx, ipKey); err != nil {
			return roster.Actor{}, err
		}
		return roster.Actor{}, s.fail(ctx, roster.Errorf(roster.EUNAUTHENTICATED, "Invalid API token."), budget{ipKey, s.cfg.KeyFailuresAllowed})
	}
	if len(token) > 128 || !tokenFormat.MatchString(token) {
		return fail()
	}
	m, err := s.store.GetProjectMemberByToken(ctx, secret.HashToken(strings.ToUpper(token)))
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return fail()
		}
		return roster.Actor{}, err
	}
	if m.AccountID == 0 || m.Suspended {
		return fail()
	}
	if m.Expired(s.today()) {
		return roster.Actor{}, expiredError(m)
	}
	return roster.Actor{AccountID: m.AccountID, Username: m.Username, ClientIP: c.IP,
		Project: &roster.ProjectGrant{ProjectID: m.ProjectID, MemberID: m.ID}}, nil
}
