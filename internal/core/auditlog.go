package core

import (
	"context"

	"github.com/rosterhq/roster/internal/roster"
)

// ListAudit returns audit entries after f.After, oldest first. Staff and system
// administrators may read the log.
func (s *Service) ListAudit(ctx context.Context, f roster.AuditFilter) ([]*roster.AuditEntry, error) {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, false); err != nil {
		return nil, err
	}
	if !actor.IsStaff() {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Only staff may read the audit log.")
	}
	if err := roster.CheckText("target_type", f.TargetType, "action", f.Action); err != nil {
		return nil, err
	}
	return s.store.ListAudit(ctx, f)
}

// Roles lists the roles (sysadmin, staff) and the capabilities of the schema.
func (s *Service) Roles(ctx context.Context) ([]roster.Role, error) {
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	out := []roster.Role{}
	for _, a := range p.schema.Attrs() {
		switch {
		case a.Name == "sysadmin" || a.Name == "staff":
			out = append(out, roster.Role{Name: a.Name, Kind: "role", Description: a.Description})
		case a.Storage == roster.StoreCapability:
			out = append(out, roster.Role{Name: a.Name, Kind: "capability", Description: a.Description})
		}
	}
	return out, nil
}
