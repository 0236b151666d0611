package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

const groupCols = "g.id, g.name, g.description, g.created_at, g.updated_at"

func scanGroup(row scanner) (*roster.Group, error) {
	var g roster.Group
	if err := row.Scan(&g.ID, &g.Name, &g.Description, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = utc(g.CreatedAt), utc(g.UpdatedAt)
	return &g, nil
}

func (q *q) CreateGroup(ctx context.Context, g *roster.Group) error {
	err := q.w.QueryRowContext(ctx, `INSERT INTO groups (name, name_key, description, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		g.Name, roster.FoldKey(g.Name), g.Description, dbTime(g.CreatedAt), dbTime(g.UpdatedAt)).Scan(&g.ID)
	return q.wrap("store.CreateGroup", err)
}

func (q *q) getGroup(ctx context.Context, cond string, arg any) (*roster.Group, error) {
	g, err := scanGroup(q.r.QueryRowContext(ctx, "SELECT "+groupCols+" FROM groups g WHERE "+cond, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("Group")
	}
	return g, q.wrap("store.GetGroup", err)
}

func (q *q) GetGroup(ctx context.Context, id int64) (*roster.Group, error) {
	return q.getGroup(ctx, "g.id = $1", id)
}

func (q *q) GetGroupByName(ctx context.Context, name string) (*roster.Group, error) {
	return q.getGroup(ctx, "g.name_key = $1", roster.FoldKey(name))
}

func (q *q) ListGroups(ctx context.Context) ([]*roster.Group, error) {
	rows, err := q.r.QueryContext(ctx, "SELECT "+groupCols+" FROM groups g ORDER BY g.id")
	if err != nil {
		return nil, q.wrap("store.ListGroups", err)
	}
	defer rows.Close()
	var out []*roster.Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, q.wrap("store.ListGroups", err)
		}
		out = append(out, g)
	}
	return out, q.wrap("store.ListGroups", rows.Err())
}

func (q *q) UpdateGroup(ctx context.Context, g *roster.Group) error {
	return q.execOne(ctx, "store.UpdateGroup", "Group", "UPDATE groups SET name = $1, name_key = $2, description = $3, updated_at = $4 WHERE id = $5",
		g.Name, roster.FoldKey(g.Name), g.Description, dbTime(g.UpdatedAt), g.ID)
}

func (q *q) DeleteGroup(ctx context.Context, id int64) error {
	if _, err := q.w.ExecContext(ctx, "DELETE FROM group_members WHERE group_id = $1", id); err != nil {
		return q.wrap("store.DeleteGroup", err)
	}
	return q.execOne(ctx, "store.DeleteGroup", "Group", "DELETE FROM groups WHERE id = $1", id)
}

func (q *q) SetGroupMember(ctx context.Context, groupID, accountID int64, role roster.GroupRole, at time.Time) error {
	_, err := q.w.ExecContext(ctx, `INSERT INTO group_members (group_id, account_id, role, added_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (group_id, account_id) DO UPDATE SET role = $3`, groupID, accountID, string(role), dbTime(at))
	return q.wrap("store.SetGroupMember", err)
}

func (q *q) RemoveGroupMember(ctx context.Context, groupID, accountID int64) error {
	return q.execOne(ctx, "store.RemoveGroupMember", "Membership", "DELETE FROM group_members WHERE group_id = $1 AND account_id = $2", groupID, accountID)
}

const membershipQuery = `SELECT m.group_id, g.name, m.account_id, a.username, m.role, m.added_at
	FROM group_members m JOIN groups g ON g.id = m.group_id JOIN accounts a ON a.id = m.account_id`

func (q *q) memberships(ctx context.Context, query string, a args) ([]roster.GroupMembership, error) {
	rows, err := q.r.QueryContext(ctx, query, a.vals...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []roster.GroupMembership
	for rows.Next() {
		var m roster.GroupMembership
		var role string
		if err := rows.Scan(&m.GroupID, &m.GroupName, &m.AccountID, &m.Username, &role, &m.AddedAt); err != nil {
			return nil, err
		}
		m.Role, m.AddedAt = roster.GroupRole(role), utc(m.AddedAt)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (q *q) ListGroupMembers(ctx context.Context, groupID int64) ([]roster.GroupMembership, error) {
	ms, err := q.memberships(ctx, membershipQuery+" WHERE m.group_id = $1 ORDER BY a.username_key", args{vals: []any{groupID}})
	return ms, q.wrap("store.ListGroupMembers", err)
}

func (q *q) ListMemberships(ctx context.Context, accountIDs []int64) (map[int64][]roster.GroupMembership, error) {
	out := make(map[int64][]roster.GroupMembership, len(accountIDs))
	for start := 0; start < len(accountIDs); start += batchSize {
		chunk := accountIDs[start:min(start+batchSize, len(accountIDs))]
		a := q.args()
		ph := make([]string, len(chunk))
		for i, id := range chunk {
			ph[i] = a.add(id)
		}
		ms, err := q.memberships(ctx, membershipQuery+" WHERE m.account_id IN ("+strings.Join(ph, ",")+") ORDER BY m.account_id, m.group_id", a)
		if err != nil {
			return nil, q.wrap("store.ListMemberships", err)
		}
		for _, m := range ms {
			out[m.AccountID] = append(out[m.AccountID], m)
		}
	}
	return out, nil
}
