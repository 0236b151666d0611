package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

func testGroups(t *testing.T, s roster.Store) {
	ctx := context.Background()
	a := MustCreate(t, s, newAccount(1))
	b := MustCreate(t, s, newAccount(2))
	c := MustCreate(t, s, newAccount(3))
	g1 := &roster.Group{Name: "Lab One", Description: "first", CreatedAt: base, UpdatedAt: base}
	g2 := &roster.Group{Name: "lab two", CreatedAt: base, UpdatedAt: base}
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateGroup(ctx, g1) })
	inTx(t, s, func(tx roster.Tx) error { return tx.CreateGroup(ctx, g2) })
	err := write(s, func(tx roster.Tx) error {
		return tx.CreateGroup(ctx, &roster.Group{Name: "LAB ONE", CreatedAt: base, UpdatedAt: base})
	})
	wantCode(t, err, roster.ECONFLICT)
	if p := roster.AsError(err).Problems; len(p) != 1 || p[0].Field != "name" {
		t.Fatalf("duplicate group problems = %+v", p)
	}
	got, err := s.GetGroupByName(ctx, "lab one")
	mustNil(t, err)
	if got.ID != g1.ID || got.Description != "first" {
		t.Fatalf("GetGroupByName = %+v", got)
	}
	got.Description = "renamed"
	got.Name = "Lab 1"
	got.UpdatedAt = base.Add(time.Hour)
	inTx(t, s, func(tx roster.Tx) error { return tx.UpdateGroup(ctx, got) })
	again, _ := s.GetGroup(ctx, g1.ID)
	if again.Name != "Lab 1" || again.Description != "renamed" || !again.UpdatedAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("after update: %+v", again)
	}

	inTx(t, s, func(tx roster.Tx) error { return tx.SetGroupMember(ctx, g1.ID, a.ID, roster.GroupOwner, base) })
	inTx(t, s, func(tx roster.Tx) error { return tx.SetGroupMember(ctx, g1.ID, b.ID, roster.GroupMember, base) })
	inTx(t, s, func(tx roster.Tx) error { return tx.SetGroupMember(ctx, g2.ID, a.ID, roster.GroupMember, base) })
	inTx(t, s, func(tx roster.Tx) error { return tx.SetGroupMember(ctx, g1.ID, b.ID, roster.GroupOwner, base) }) // role change, not a second row
	ms, err := s.ListGroupMembers(ctx, g1.ID)
	mustNil(t, err)
	if len(ms) != 2 || ms[0].AccountID != a.ID || ms[1].Role != roster.GroupOwner || ms[0].GroupName != "Lab 1" || ms[1].Username != b.Username {
		t.Fatalf("ListGroupMembers = %+v", ms)
	}
	by, err := s.ListMemberships(ctx, []int64{a.ID, b.ID, c.ID})
	mustNil(t, err)
	if len(by[a.ID]) != 2 || len(by[b.ID]) != 1 || len(by[c.ID]) != 0 || by[a.ID][0].GroupID != g1.ID || by[a.ID][1].Role != roster.GroupMember {
		t.Fatalf("ListMemberships = %+v", by)
	}
	inTx(t, s, func(tx roster.Tx) error { return tx.RemoveGroupMember(ctx, g1.ID, b.ID) })
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.RemoveGroupMember(ctx, g1.ID, b.ID) }), roster.ENOTFOUND)
	inTx(t, s, func(tx roster.Tx) error { return tx.DeleteGroup(ctx, g1.ID) })
	_, err = s.GetGroup(ctx, g1.ID)
	wantCode(t, err, roster.ENOTFOUND)
	by, _ = s.ListMemberships(ctx, []int64{a.ID})
	if len(by[a.ID]) != 1 || by[a.ID][0].GroupID != g2.ID {
		t.Fatalf("memberships after deleting a group: %+v", by)
	}
	gs, err := s.ListGroups(ctx)
	mustNil(t, err)
	if len(gs) != 1 || gs[0].ID != g2.ID {
		t.Fatalf("ListGroups = %+v", gs)
	}
	wantCode(t, write(s, func(tx roster.Tx) error { return tx.DeleteGroup(ctx, g1.ID) }), roster.ENOTFOUND)
}
