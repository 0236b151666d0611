package core_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/rosterhq/roster/internal/roster"
)

// Deleting an account takes it out of its groups in the same transaction: a group it
// owned alone goes to its longest-standing member, one with another owner stays with
// that owner, one with no other member is left without an owner; the audit log says
// each, and the account's own entry names the groups it owned.
func TestDeleteHandsOverOwnedGroups(t *testing.T) {
	e := newEnv(t)
	owner := e.user(t, "owner", nil)
	e.user(t, "early", nil)
	e.user(t, "late", nil)
	e.user(t, "co", nil)
	ctx := operator()
	alone, err := e.svc.CreateGroup(ctx, "Alone", "")
	mustNil(t, err)
	shared, err := e.svc.CreateGroup(ctx, "Shared", "")
	mustNil(t, err)
	empty, err := e.svc.CreateGroup(ctx, "Empty", "")
	mustNil(t, err)
	set := func(g int64, who string, role roster.GroupRole) {
		mustNil(t, e.svc.SetGroupMember(ctx, g, roster.AccountRef{Username: who}, role))
	}
	set(alone.ID, "owner", roster.GroupOwner)
	e.clock.advance(1)
	set(alone.ID, "early", roster.GroupMember)
	e.clock.advance(1)
	set(alone.ID, "late", roster.GroupMember)
	set(shared.ID, "owner", roster.GroupOwner)
	set(shared.ID, "co", roster.GroupOwner)
	set(shared.ID, "early", roster.GroupMember)
	set(empty.ID, "owner", roster.GroupOwner)

	_, err = e.svc.SetState(ctx, roster.RefID(owner.AccountID), roster.StateDeleted, roster.WriteOptions{})
	mustNil(t, err)

	roles := func(g int64) string {
		ms, err := e.store.ListGroupMembers(context.Background(), g)
		mustNil(t, err)
		var out []string
		for _, m := range ms {
			out = append(out, m.Username+":"+string(m.Role))
		}
		return fmt.Sprint(out)
	}
	if got := roles(alone.ID); got != "[early:owner late:member]" {
		t.Errorf("Alone: %s", got)
	}
	if got := roles(shared.ID); got != "[co:owner early:member]" {
		t.Errorf("Shared: %s", got)
	}
	if got := roles(empty.ID); got != "[]" {
		t.Errorf("Empty: %s", got)
	}
	log := auditLog(t, e)
	var del *roster.AuditEntry
	handed := map[string]any{}
	for _, a := range log {
		if a.Action == "account.delete" {
			del = a
		}
		if a.Action == "group.member.remove" {
			for _, c := range a.Changes {
				if c.Field == "owner" {
					handed[a.TargetName] = c.New
				}
			}
		}
	}
	if del == nil {
		t.Fatal("no account.delete entry")
	}
	i := slices.IndexFunc(del.Changes, func(c roster.Change) bool { return c.Field == "groups_owned" })
	if i < 0 || fmt.Sprint(del.Changes[i].Old) != "[Alone Shared Empty]" {
		t.Errorf("account.delete changes %+v", del.Changes)
	}
	if fmt.Sprint(handed) != "map[Alone:early Empty:<nil>]" {
		t.Errorf("handed over %v", handed)
	}
}
