package core

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// mayManageGroups: system administrators and holders of the group_admin capability.
func mayManageGroups(a roster.Actor) bool { return a.Can("group_admin") }

// mayManageGroup adds the group's owners.
func (s *Service) mayManageGroup(ctx context.Context, tx roster.Tx, actor roster.Actor, groupID int64) (bool, error) {
	if mayManageGroups(actor) {
		return true, nil
	}
	ms, err := tx.ListMemberships(ctx, []int64{actor.AccountID})
	if err != nil {
		return false, err
	}
	for _, m := range ms[actor.AccountID] {
		if m.GroupID == groupID && m.Role == roster.GroupOwner {
			return true, nil
		}
	}
	return false, nil
}

func checkGroup(g *roster.Group) error {
	g.Name = strings.TrimSpace(g.Name)
	if err := roster.CheckText("name", g.Name, "description", g.Description); err != nil {
		return err
	}
	var ps []roster.Problem
	switch n := len([]rune(g.Name)); {
	case n == 0:
		ps = append(ps, roster.Problem{Field: "name", Code: roster.PRequired, Message: "This field is required."})
	case n > 150:
		ps = append(ps, roster.Problem{Field: "name", Code: roster.PTooLong, Limit: 150, Message: "Ensure this field has no more than 150 characters."})
	}
	if len([]rune(g.Description)) > 2000 {
		ps = append(ps, roster.Problem{Field: "description", Code: roster.PTooLong, Limit: 2000, Message: "Ensure this field has no more than 2000 characters."})
	}
	if len(ps) > 0 {
		return roster.Invalid(ps...)
	}
	return nil
}

// CreateGroup creates a group; the creator becomes its owner when it has an account.
func (s *Service) CreateGroup(ctx context.Context, name, description string) (*roster.Group, error) {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, true); err != nil {
		return nil, err
	}
	if !mayManageGroups(actor) {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Only group administrators may create groups.")
	}
	now := s.now()
	g := &roster.Group{Name: name, Description: description, CreatedAt: now, UpdatedAt: now}
	if err := checkGroup(g); err != nil {
		return nil, err
	}
	err := s.store.InTx(ctx, func(tx roster.Tx) error {
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		if actor.AccountID != 0 {
			if err := tx.SetGroupMember(ctx, g.ID, actor.AccountID, roster.GroupOwner, now); err != nil {
				return err
			}
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "group.create", "group", g.ID, g.Name,
			[]roster.Change{{Field: "name", New: g.Name}, {Field: "description", New: g.Description}}))
	})
	return g, err
}

// GetGroup returns a group and its members. Anyone signed in may.
func (s *Service) GetGroup(ctx context.Context, id int64) (*roster.Group, []roster.GroupMembership, error) {
	if err := RequireSignedIn(roster.ActorFromContext(ctx), false); err != nil {
		return nil, nil, err
	}
	g, err := s.store.GetGroup(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	ms, err := s.store.ListGroupMembers(ctx, id)
	return g, ms, err
}

// ListGroups lists every group. Anyone signed in may.
func (s *Service) ListGroups(ctx context.Context) ([]*roster.Group, error) {
	if err := RequireSignedIn(roster.ActorFromContext(ctx), false); err != nil {
		return nil, err
	}
	return s.store.ListGroups(ctx)
}

// UpdateGroup renames or redescribes a group. Group administrators and its owners may.
func (s *Service) UpdateGroup(ctx context.Context, id int64, up roster.GroupUpdate) (*roster.Group, error) {
	var out *roster.Group
	err := s.groupTx(ctx, id, func(tx roster.Tx, g *roster.Group, now time.Time) error {
		var changes []roster.Change
		next := *g
		if up.Name != nil {
			next.Name = *up.Name
		}
		if up.Description != nil {
			next.Description = *up.Description
		}
		if err := checkGroup(&next); err != nil {
			return err
		}
		if next.Name != g.Name {
			changes = append(changes, roster.Change{Field: "name", Old: g.Name, New: next.Name})
		}
		if next.Description != g.Description {
			changes = append(changes, roster.Change{Field: "description", Old: g.Description, New: next.Description})
		}
		out = &next
		if len(changes) == 0 {
			return nil
		}
		next.UpdatedAt = now
		if err := tx.UpdateGroup(ctx, &next); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "group.update", "group", id, next.Name, changes))
	})
	return out, err
}

// DeleteGroup deletes a group and its memberships.
func (s *Service) DeleteGroup(ctx context.Context, id int64) error {
	return s.groupTx(ctx, id, func(tx roster.Tx, g *roster.Group, now time.Time) error {
		if err := tx.DeleteGroup(ctx, id); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "group.delete", "group", id, g.Name,
			[]roster.Change{{Field: "name", Old: g.Name}}))
	})
}

// SetGroupMember adds an account to a group or changes its role.
func (s *Service) SetGroupMember(ctx context.Context, id int64, ref roster.AccountRef, role roster.GroupRole) error {
	if !role.Valid() {
		return roster.Invalid(roster.Problem{Field: "role", Code: roster.PChoice, Message: "The role must be owner or member.", Value: string(role)})
	}
	if err := checkRefText(ref); err != nil {
		return err
	}
	return s.groupTx(ctx, id, func(tx roster.Tx, g *roster.Group, now time.Time) error {
		a, err := tx.GetAccount(ctx, ref)
		if err != nil {
			return err
		}
		if a.State == roster.StateDeleted {
			return roster.Errorf(roster.ENOTFOUND, "Account not found.")
		}
		if err := tx.SetGroupMember(ctx, id, a.ID, role, now); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "group.member.set", "group", id, g.Name,
			[]roster.Change{{Field: "member", New: a.Username}, {Field: "role", New: string(role)}}))
	})
}

// RemoveGroupMember takes an account out of a group.
func (s *Service) RemoveGroupMember(ctx context.Context, id int64, ref roster.AccountRef) error {
	if err := checkRefText(ref); err != nil {
		return err
	}
	return s.groupTx(ctx, id, func(tx roster.Tx, g *roster.Group, now time.Time) error {
		a, err := tx.GetAccount(ctx, ref)
		if err != nil {
			return err
		}
		if err := tx.RemoveGroupMember(ctx, id, a.ID); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "group.member.remove", "group", id, g.Name,
			[]roster.Change{{Field: "member", Old: a.Username}}))
	})
}

// groupTx runs fn on a group the actor may manage, in a transaction.
func (s *Service) groupTx(ctx context.Context, id int64, fn func(tx roster.Tx, g *roster.Group, now time.Time) error) error {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, true); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx roster.Tx) error {
		g, err := tx.GetGroup(ctx, id)
		if err != nil {
			return err
		}
		ok, err := s.mayManageGroup(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if !ok {
			return roster.Errorf(roster.EFORBIDDEN, "Only the group's owners and group administrators may change it.")
		}
		return fn(tx, g, s.now())
	})
}

// Memberships returns the groups of each account, in one read (BrainSTEM's
// groups_own_json on a list of users).
func (s *Service) Memberships(ctx context.Context, accountIDs []int64) (map[int64][]roster.GroupMembership, error) {
	return s.store.ListMemberships(ctx, accountIDs)
}

// OwnedGroups returns, in one read, the groups each account owns (BrainSTEM's
// groups_own_json), to callers who may read groups: anyone signed in, as GetGroup. For
// other callers shown is false and the map empty: the groups are not theirs to see.
func (s *Service) OwnedGroups(ctx context.Context, accountIDs []int64) (owned map[int64][]roster.GroupMembership, shown bool, err error) {
	if RequireSignedIn(roster.ActorFromContext(ctx), false) != nil {
		return nil, false, nil
	}
	ms, err := s.store.ListMemberships(ctx, accountIDs)
	if err != nil {
		return nil, false, err
	}
	owned = make(map[int64][]roster.GroupMembership, len(ms))
	for id, list := range ms {
		for _, m := range list {
			if m.Role == roster.GroupOwner {
				owned[id] = append(owned[id], m)
			}
		}
	}
	return owned, true, nil
}

// leaveGroups takes a deleted account out of every group, in the transaction that
// deletes it. A group it owned with no other owner is handed to its longest-standing
// member (then by username); one with no other member is left without an owner. It
// returns the audit entries of each group's change and the names of the groups the
// account owned, which the account's own entry records.
func leaveGroups(ctx context.Context, tx roster.Tx, a *roster.Account, now time.Time) ([]*roster.AuditEntry, []any, error) {
	ms, err := tx.ListMemberships(ctx, []int64{a.ID})
	if err != nil {
		return nil, nil, err
	}
	var entries []*roster.AuditEntry
	var owned []any
	for _, m := range ms[a.ID] {
		if err := tx.RemoveGroupMember(ctx, m.GroupID, a.ID); err != nil {
			return nil, nil, err
		}
		changes := []roster.Change{{Field: "member", Old: a.Username}}
		if m.Role == roster.GroupOwner {
			owned = append(owned, m.GroupName)
			rest, err := tx.ListGroupMembers(ctx, m.GroupID)
			if err != nil {
				return nil, nil, err
			}
			coOwned := slices.ContainsFunc(rest, func(o roster.GroupMembership) bool { return o.Role == roster.GroupOwner })
			switch {
			case coOwned:
				// Its other owners keep it.
			case len(rest) == 0:
				changes = append(changes, roster.Change{Field: "owner", Old: a.Username, New: nil})
			default:
				heir := slices.MinFunc(rest, func(x, y roster.GroupMembership) int {
					if c := x.AddedAt.Compare(y.AddedAt); c != 0 {
						return c
					}
					return strings.Compare(x.Username, y.Username)
				})
				if err := tx.SetGroupMember(ctx, m.GroupID, heir.AccountID, roster.GroupOwner, now); err != nil {
					return nil, nil, err
				}
				changes = append(changes, roster.Change{Field: "owner", Old: a.Username, New: heir.Username})
			}
		}
		entries = append(entries, roster.NewAuditEntry(ctx, now, "group.member.remove", "group", m.GroupID, m.GroupName, changes))
	}
	return entries, owned, nil
}
