// Package projects holds Roster's project use cases, in the manner of REDCap: projects
// and their forms, members and their rights, user roles, data access groups (DAGs) and
// the DAG switcher, and the project API tokens members act by. It is the only place
// that decides who may do what in a project. It builds on the accounts core
// (core.Service): members' accounts are shown through the core's decisions about
// accounts, and bad tokens are throttled by its counts. Every change is written in the
// same transaction as its audit entry.
//
// Refusals are worded in Roster's own words, and say why in their Reason, Subject and
// problems (roster.Error, roster.Problem), so that a surface can word them as its
// platform does: the REDCap dialect gives REDCap's clients REDCap's messages.
package projects

import (
	"context"
	"fmt"
	"time"

	"github.com/rosterhq/roster/internal/core"
	"github.com/rosterhq/roster/internal/roster"
)

// Config tunes the service. Zero values take the defaults noted.
type Config struct {
	// Now is the clock (default time.Now). Give the core's, if it has another: the core
	// also decides by members' expirations, when it finds who manages whose account.
	Now func() time.Time
}

// Service runs the project use cases over a store.
type Service struct {
	store    roster.Store
	accounts *core.Service
	clock    func() time.Time
}

// New returns the project service over store, showing members' accounts through
// accounts, the core over the same store.
func New(store roster.Store, accounts *core.Service, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{store: store, accounts: accounts, clock: cfg.Now}
}

// Who may do what in a project follows REDCap. System administrators and holders of the
// project_admin capability administer every project. A member acts with the privileges
// of their role, or their own when they have none; a member assigned to a DAG sees only
// that DAG's members. A project API token authenticates its member in that project only,
// and its API rights gate it: api_export for every export, api_import for imports and
// user deletions, record_delete for deleting roles (REDCap's quirk, kept).

// Refusals of a project API token whose member lacks an API right the call needs,
// which REDCap makes before looking at the call.
var (
	errNoAPIExport    = tokenRight(roster.RightAPIExport)
	errNoAPIImport    = tokenRight(roster.RightAPIImport)
	errNoRecordDelete = tokenRight(roster.RightRecordDelete)
)

func tokenRight(r roster.Right) *roster.Error {
	return &roster.Error{Code: roster.EFORBIDDEN, Reason: roster.RTokenRight, Subject: r.String(),
		Message: fmt.Sprintf("Calls with a project API token need the %s right, which its member lacks.", roster.ProjectRights[r].Label)}
}

// Refusals for the rights a call needs.
var (
	errReadUsers  = needRight(roster.RightUserRights, "You need the User Rights right (full or read-only) in this project.")
	errWriteUsers = needRight(roster.RightUserRights, "You need full User Rights in this project to change its members.")
	errWriteRoles = needRight(roster.RightUserRights, "You need full User Rights in this project to change its roles.")
	errDAGs       = needRight(roster.RightDataAccessGroups, "You need the Data Access Groups right in this project.")
	errDesign     = needRight(roster.RightDesign, "You need the Project Design and Setup right to add forms.")
	errInDAG      = &roster.Error{Code: roster.EFORBIDDEN, Reason: roster.RInDAG,
		Message: "You are assigned to a Data Access Group, so you may not list or change the project's Data Access Groups, nor move members between them."}
)

func needRight(r roster.Right, msg string) *roster.Error {
	return &roster.Error{Code: roster.EFORBIDDEN, Reason: roster.RNoRight, Subject: r.String(), Message: msg}
}

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

// now is the service's clock, truncated to what the store keeps.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// today is the date by the service's clock, as expirations are written.
func (s *Service) today() string { return s.clock().UTC().Format(time.DateOnly) }

// projectAccess finds what the actor in ctx may do in the project. Read through rd: the
// store, or a transaction that has locked the project.
func (s *Service) projectAccess(ctx context.Context, rd roster.Reader, projectID int64, write bool) (*access, error) {
	actor := roster.ActorFromContext(ctx)
	if err := core.RequireSignedIn(actor, write); err != nil {
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
	if actor.AdministersProjects() {
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
		return nil, expiredError(m)
	}
	a.member, a.priv, a.token = m, m.Effective(), actor.Project != nil
	return a, nil
}

func expiredError(m *roster.ProjectMember) error {
	return &roster.Error{Code: roster.EFORBIDDEN, Reason: roster.RExpired, Subject: m.Expiration,
		Message: fmt.Sprintf("Your rights in this project expired on %s.", m.Expiration)}
}

// projectTx runs fn in a transaction that holds the project's lock, with the actor's
// access read inside it.
func (s *Service) projectTx(ctx context.Context, projectID int64, check func(*access) error, fn func(tx roster.Tx, a *access, now time.Time) error) error {
	actor := roster.ActorFromContext(ctx)
	if err := core.RequireSignedIn(actor, true); err != nil {
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
	return roster.NewAuditEntry(ctx, at, action, "project", p.ID, p.Title, changes)
}
