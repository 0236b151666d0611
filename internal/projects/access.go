package projects

import (
	"context"

	"github.com/rosterhq/roster/internal/roster"
)

// ProjectAccess answers what the caller may do in a project, right by right, and why:
// a project administrator holds every right; a member holds its role's rights, or its
// own; a project token is confined to its project and gated by its API rights; a member
// in a DAG sees that DAG only.
//
// A system administrator may ask on behalf of another caller (as: a username, or
// "anonymous"); a caller who is no member is then answered, right by right, rather than
// told the project does not exist.
func (s *Service) ProjectAccess(ctx context.Context, id int64, as string) (*roster.ProjectAccess, error) {
	if as != "" {
		actor := roster.ActorFromContext(ctx)
		if !actor.IsSysadmin() {
			return nil, roster.Errorf(roster.EFORBIDDEN, "Only system administrators may ask on behalf of another caller.")
		}
		if _, err := s.store.GetProject(ctx, id); err != nil {
			return nil, err
		}
		caller, err := s.accounts.ActorAs(ctx, as)
		if err != nil {
			return nil, err
		}
		caller.Via = actor.Via
		ctx = roster.NewContextWithActor(ctx, caller)
	}
	a, err := s.projectAccess(ctx, s.store, id, false)
	if err != nil {
		if code := roster.ErrorCode(err); as == "" || code != roster.ENOTFOUND && code != roster.EUNAUTHENTICATED {
			return nil, err
		}
		out := &roster.ProjectAccess{ProjectID: id, Caller: roster.ActorFromContext(ctx).CallerName(), SeesDAGs: "none"}
		for r := roster.Right(0); r < roster.NumRights; r++ {
			out.Rights = append(out.Rights, roster.RightAccess{Right: r.String(), Decision: roster.Decision{
				Rule: roster.RuleNoProjectRight, Detail: "the caller is not a member of the project"}})
		}
		return out, nil
	}
	out := &roster.ProjectAccess{ProjectID: id, Caller: a.actor.CallerName(), Token: a.token, SeesDAGs: "all"}
	var source string
	switch {
	case a.admin && a.actor.IsSysadmin():
		source = "the caller is a system administrator, with every right"
	case a.admin:
		source = "the caller administers projects (project_admin), with every right"
	case a.member.Role != nil:
		out.Member, out.Role = true, a.member.RoleName
		source = "the member's role " + a.member.RoleName
	default:
		out.Member = true
		source = "the member's own rights"
	}
	if !a.admin && a.member.DAGID != 0 {
		dags, err := s.store.ListProjectDAGs(ctx, id)
		if err != nil {
			return nil, err
		}
		out.DAG = dagName(dags, a.member.DAGID)
		out.SeesDAGs = out.DAG
	}
	for r := roster.Right(0); r < roster.NumRights; r++ {
		v := a.right(r)
		d := roster.Decision{Allowed: v > 0, Rule: roster.RuleProjectRight, Detail: source}
		if v == 0 {
			d.Rule = roster.RuleNoProjectRight
		}
		if a.admin {
			d.Rule = roster.RuleSysadmin
			if !a.actor.IsSysadmin() {
				d.Rule = roster.RuleProjectRight
			}
		}
		out.Rights = append(out.Rights, roster.RightAccess{Right: r.String(), Value: v, Decision: d})
	}
	return out, nil
}
