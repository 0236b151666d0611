package roster

import "time"

// Group is a named set of accounts with owners and members (BrainSTEM's groups; the
// owners feed groups_own_json).
type Group struct {
	ID          int64
	Name        string // unique without regard to case
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GroupRole is a member's role in a group.
type GroupRole string

const (
	GroupOwner  GroupRole = "owner"
	GroupMember GroupRole = "member"
)

// Valid reports whether r is a known group role.
func (r GroupRole) Valid() bool { return r == GroupOwner || r == GroupMember }

// GroupMembership is one account's place in a group.
type GroupMembership struct {
	GroupID   int64
	GroupName string
	AccountID int64
	Username  string
	Role      GroupRole
	AddedAt   time.Time
}
