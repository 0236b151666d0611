package roster

import (
	"context"
	"time"
)

// The Store contract. It is plain persistence: no permission checks, no validation beyond
// the database's own constraints. Every Get returns ENOTFOUND when nothing matches, never
// (nil, nil). Unique violations are ECONFLICT with a Problem naming the field. Times are
// UTC with microsecond precision.

// The Store contract is split three ways. Reads (the *Reader interfaces) are on Store and
// on Tx. Upkeep is a few bookkeeping writes that are not audited and must commit even when
// the request that caused them fails, so they are on Store too. Everything else that
// writes, with the locks taken before writing, is on Tx only (the *Writer interfaces):
// the compiler, not a check at run time, keeps a domain write or its audit entry out of
// any transaction but the one that commits them together.

// AccountReader reads accounts.
type AccountReader interface {
	GetAccount(ctx context.Context, ref AccountRef) (*Account, error)
	// GetAccounts returns the accounts the refs name, in no particular order; refs that
	// name nothing are skipped.
	GetAccounts(ctx context.Context, refs []AccountRef) ([]*Account, error)
	ListAccounts(ctx context.Context, f AccountSelection) (*AccountPage, error)
	// StreamAccounts calls fn for every account the selection holds, reading rows as it
	// goes, so memory does not grow with the number of accounts. Limit and Cursor apply.
	StreamAccounts(ctx context.Context, f AccountSelection, fn func(*Account) error) error
	CountAccounts(ctx context.Context, f AccountSelection) (int, error)
	GetPasswordHash(ctx context.Context, accountID int64) (string, error)
}

// AccountWriter changes accounts.
type AccountWriter interface {
	// GetAccountForUpdate is GetAccount for a transaction that is about to change the
	// account: the row stays locked until the transaction ends, so concurrent writers of
	// one account queue behind each other instead of failing on a stale Version.
	GetAccountForUpdate(ctx context.Context, ref AccountRef) (*Account, error)
	// LockSysadminGuard serializes the transactions that may leave no active system
	// administrator. Call it before counting them: a transaction that holds it sees every
	// such change committed before it.
	LockSysadminGuard(ctx context.Context) error
	// CreateAccount inserts a; it sets a.ID.
	CreateAccount(ctx context.Context, a *Account) error
	// CreateAccounts inserts many accounts at once (imports); it sets their IDs.
	CreateAccounts(ctx context.Context, as []*Account) error
	// UpdateAccount writes a over the stored row with the same ID, provided the stored
	// Version equals a.Version; it then increments a.Version. A stale Version is ECONFLICT.
	UpdateAccount(ctx context.Context, a *Account) error
	SetPasswordHash(ctx context.Context, accountID int64, hash string) error
	SetLastLogin(ctx context.Context, accountID int64, at time.Time) error
}

// KeyReader reads API keys.
type KeyReader interface {
	// GetAPIKeyByHash returns a key and its account in one read: it is on every
	// key-authenticated request. The key carries what authentication needs (ID,
	// AccountID, ReadOnly and its times, not Label, Prefix or Hash); the account what
	// authorisation needs (ID, UUID, Username, State, Sysadmin, Staff, Capabilities),
	// not its profile.
	GetAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, *Account, error)
	GetAPIKey(ctx context.Context, id int64) (*APIKey, error)
	ListAPIKeys(ctx context.Context, accountID int64) ([]*APIKey, error)
}

// KeyWriter issues and revokes API keys.
type KeyWriter interface {
	CreateAPIKey(ctx context.Context, k *APIKey) error
	RevokeAPIKey(ctx context.Context, id int64, at time.Time) error
}

// SessionReader reads browser sessions.
type SessionReader interface {
	// GetSessionByHash is GetAPIKeyByHash for sessions.
	GetSessionByHash(ctx context.Context, hash []byte) (*Session, *Account, error)
}

// SessionWriter starts and ends browser sessions.
type SessionWriter interface {
	CreateSession(ctx context.Context, s *Session) error
	// DeleteAccountSessions signs the account out everywhere but in session keep (0:
	// everywhere).
	DeleteAccountSessions(ctx context.Context, accountID, keep int64) error
}

// DeviceReader reads the browsers that signed in to an account before.
type DeviceReader interface {
	GetLoginDevice(ctx context.Context, hash []byte) (*LoginDevice, error)
}

// DeviceWriter records the browsers that sign in to an account.
type DeviceWriter interface {
	CreateLoginDevice(ctx context.Context, d *LoginDevice) error
	TouchLoginDevice(ctx context.Context, id int64, at time.Time) error
	DeleteAccountLoginDevices(ctx context.Context, accountID int64) error
}

// ThrottleReader reads the failed authentication attempts, shared by every replica. Its
// writes are Upkeep.
type ThrottleReader interface {
	GetThrottle(ctx context.Context, key string) (*Throttle, error)
}

// GroupReader reads groups and their members.
type GroupReader interface {
	GetGroup(ctx context.Context, id int64) (*Group, error)
	GetGroupByName(ctx context.Context, name string) (*Group, error)
	ListGroups(ctx context.Context) ([]*Group, error)
	ListGroupMembers(ctx context.Context, groupID int64) ([]GroupMembership, error)
	// ListMemberships returns the groups of each account, keyed by account id, in one read.
	ListMemberships(ctx context.Context, accountIDs []int64) (map[int64][]GroupMembership, error)
}

// GroupWriter changes groups and their members.
type GroupWriter interface {
	CreateGroup(ctx context.Context, g *Group) error
	UpdateGroup(ctx context.Context, g *Group) error
	DeleteGroup(ctx context.Context, id int64) error
	// SetGroupMember adds the account to the group or changes its role.
	SetGroupMember(ctx context.Context, groupID, accountID int64, role GroupRole, at time.Time) error
	RemoveGroupMember(ctx context.Context, groupID, accountID int64) error
}

// ProjectReader reads projects, their members, roles and DAGs.
type ProjectReader interface {
	GetProject(ctx context.Context, id int64) (*Project, error)
	ListProjects(ctx context.Context) ([]*Project, error)
	// ListMemberProjects lists the projects that have a member of that username.
	ListMemberProjects(ctx context.Context, username string) ([]*Project, error)
	// ListProjectMemberships returns, for each username, its memberships in every
	// project, with its role joined, keyed by the lower-cased username; usernames without
	// any are left out.
	ListProjectMemberships(ctx context.Context, usernames []string) (map[string][]*ProjectMember, error)

	// GetProjectMembers returns the members of the project with the given usernames,
	// keyed by lower-cased username, with their account and role joined.
	GetProjectMembers(ctx context.Context, projectID int64, usernames []string) (map[string]*ProjectMember, error)
	// StreamProjectMembers calls fn for each selected member as rows are read.
	StreamProjectMembers(ctx context.Context, f MemberFilter, fn func(*ProjectMember) error) error
	CountProjectMembers(ctx context.Context, projectID int64) (int, error)
	// ListMemberDAGSwitch returns the DAGs a member may switch among (REDCap's DAG
	// Switcher), by id in ascending order; 0 stands for no DAG.
	ListMemberDAGSwitch(ctx context.Context, memberID int64) ([]int64, error)
	// GetProjectMemberByToken returns the member holding the token of that hash, with its
	// account and role joined, in one read.
	GetProjectMemberByToken(ctx context.Context, hash []byte) (*ProjectMember, error)

	ListProjectRoles(ctx context.Context, projectID int64) ([]*ProjectRole, error)

	// ListProjectDAGs returns the project's DAGs with their unique names derived.
	ListProjectDAGs(ctx context.Context, projectID int64) ([]*DAG, error)
}

// ProjectWriter changes projects, their members, roles and DAGs.
type ProjectWriter interface {
	// CreateProject inserts p and its forms; it sets p.ID.
	CreateProject(ctx context.Context, p *Project) error
	// UpdateProject writes p's own fields and appends forms not yet stored.
	UpdateProject(ctx context.Context, p *Project) error
	// LockProject serializes the transactions that change one project: a second one
	// waits here until the first commits. Call it first in the transaction.
	LockProject(ctx context.Context, id int64) error

	// CreateProjectMembers inserts members (imports send thousands); it sets their IDs.
	CreateProjectMembers(ctx context.Context, ms []*ProjectMember) error
	// UpdateProjectMembers writes each member's expiration, DAG, role and privileges.
	UpdateProjectMembers(ctx context.Context, ms []*ProjectMember) error
	// DeleteProjectMembers deletes members, with their DAG switch assignments.
	DeleteProjectMembers(ctx context.Context, projectID int64, memberIDs []int64) error
	// SetMemberDAGSwitch replaces a member's DAG switch assignments with dagIDs: distinct
	// ids of the project's DAGs, or 0 for no DAG.
	SetMemberDAGSwitch(ctx context.Context, projectID, memberID int64, dagIDs []int64) error
	// SetProjectToken stores the hash of a member's API token, replacing any; a nil hash
	// revokes it.
	SetProjectToken(ctx context.Context, memberID int64, hash []byte, at time.Time) error

	CreateProjectRole(ctx context.Context, r *ProjectRole) error
	UpdateProjectRole(ctx context.Context, r *ProjectRole) error
	// DeleteProjectRoles deletes roles; their members must have been moved off them.
	DeleteProjectRoles(ctx context.Context, projectID int64, roleIDs []int64) error

	CreateProjectDAG(ctx context.Context, d *DAG) error
	RenameProjectDAG(ctx context.Context, d *DAG) error
	// DeleteProjectDAGs deletes DAGs, takes their members out of them and removes them
	// from every member's DAG switch assignments.
	DeleteProjectDAGs(ctx context.Context, projectID int64, dagIDs []int64) error
}

// PolicyReader reads the policy: the settings of roster.Settings.
type PolicyReader interface {
	// PolicyVersion is the version of the stored policy; it grows with every change, from
	// 1 (the built-in policy), so that 0 can mean "not read".
	PolicyVersion(ctx context.Context) (int64, error)
	// GetPolicy reads every setting and their version together.
	GetPolicy(ctx context.Context) (*StoredPolicy, error)
}

// PolicyWriter changes the policy.
type PolicyWriter interface {
	// LockPolicy takes the policy's write lock until commit, so that a change decides on
	// the policy no concurrent change is about to replace, and holds off writes to
	// accounts meanwhile, so that the stored values it checks stay as checked (reads go
	// on). Call it before GetPolicy.
	LockPolicy(ctx context.Context) error
	// SetPolicy stores settings (an empty Value deletes one) as the next version, which
	// it returns.
	SetPolicy(ctx context.Context, settings []PolicySetting) (int64, error)
}

// AuditReader reads the audit log.
type AuditReader interface {
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
}

// AuditWriter appends to the audit log.
type AuditWriter interface {
	// AppendAudit assigns the entries consecutive sequence numbers and stores them, as the
	// last write of the transaction: the numbering holds a lock until commit, which is
	// what keeps the sequence gap-free in commit order.
	AppendAudit(ctx context.Context, entries ...*AuditEntry) error
}

// EmailChangeReader reads pending changes of email.
type EmailChangeReader interface {
	// GetEmailChange returns the account's pending change.
	GetEmailChange(ctx context.Context, accountID int64) (*EmailChange, error)
	// GetEmailChangeByHash returns the pending change whose key has that hash.
	GetEmailChangeByHash(ctx context.Context, hash []byte) (*EmailChange, error)
}

// EmailChangeWriter records and ends pending changes of email.
type EmailChangeWriter interface {
	// SetEmailChange stores the account's pending change, replacing any it had (and with
	// it the key of the link mailed before).
	SetEmailChange(ctx context.Context, c *EmailChange) error
	// DeleteEmailChange deletes the account's pending change if its key has that hash,
	// and reports whether it did: of two transactions following one link, only one
	// deletes it, so a key is used once.
	DeleteEmailChange(ctx context.Context, accountID int64, hash []byte) (bool, error)
}

// OutboxReader reads the outbox.
type OutboxReader interface {
	GetMessage(ctx context.Context, id int64) (*Message, error)
	ListMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
}

// OutboxWriter queues messages and records their delivery.
type OutboxWriter interface {
	// QueueMessage stores a pending message; it sets m.ID. It is written in the
	// transaction of the change it tells of, so that the two commit together.
	QueueMessage(ctx context.Context, m *Message) error
	// LeaseMessages leases up to limit pending messages that are due (NextAttemptAt and
	// any lease passed by now, not expired) to owner until until, counting an attempt on
	// each, and returns them. Each is taken by one UPDATE whose condition is that no
	// lease holds, so of two workers leasing at once only one gets a message; a worker
	// that dies holding a lease holds it only until it expires.
	LeaseMessages(ctx context.Context, owner string, now, until time.Time, limit int) ([]*Message, error)
	// ReleaseMessage records the outcome of a leased message's delivery and ends the
	// lease, if owner still holds it (it reports whether). Sent and failed messages lose
	// their bodies.
	ReleaseMessage(ctx context.Context, id int64, owner string, r MessageRelease) (bool, error)
	// ExpireMessages gives up the pending messages that expired by now and are not leased,
	// purging their bodies, and returns how many.
	ExpireMessages(ctx context.Context, now time.Time) (int, error)
}

// Reader is every read of the store.
type Reader interface {
	AccountReader
	KeyReader
	SessionReader
	DeviceReader
	ThrottleReader
	GroupReader
	ProjectReader
	PolicyReader
	AuditReader
	ProfileImageReader
	EmailChangeReader
	OutboxReader
	OAuthReader
}

// Upkeep is the bookkeeping of authentication: unaudited writes, outside any transaction,
// that must commit even when the request that causes them fails (a failed sign-in must
// still count against its throttle) and that no one reviews afterwards (a session's last
// use). Nothing an administrator would look for in the audit log belongs here.
type Upkeep interface {
	TouchSession(ctx context.Context, id int64, at time.Time) error
	TouchAPIKey(ctx context.Context, id int64, at time.Time) error
	DeleteSession(ctx context.Context, id int64) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	// DeleteExpiredOAuthTokens removes opaque OAuth2 tokens past their expiry.
	DeleteExpiredOAuthTokens(ctx context.Context, now time.Time) (int, error)
	// RecordFailure adds one failure to key, starting a new window when the current one
	// began before windowStart, and sets BlockedUntil from block(failures). It returns
	// the updated record. It is atomic across replicas.
	RecordFailure(ctx context.Context, key string, now, windowStart time.Time, block func(failures int) time.Duration) (*Throttle, error)
	ClearThrottle(ctx context.Context, key string) error
}

// Writer is every write of the store but Upkeep, with the locks taken before writing.
type Writer interface {
	AccountWriter
	KeyWriter
	SessionWriter
	DeviceWriter
	GroupWriter
	ProjectWriter
	PolicyWriter
	EmailChangeWriter
	OutboxWriter
	AuditWriter
	ProfileImageWriter
	OAuthWriter
}

// Tx is what a transaction can do: read, write, and the upkeep a request needs alongside.
type Tx interface {
	Reader
	Upkeep
	Writer
}

// Store is a database of Roster. It has no Writer: a change and the audit entry that
// records it are made only on the Tx that InTx hands out, so that they commit together or
// not at all, and a write that forgets its transaction does not compile.
type Store interface {
	Reader
	Upkeep
	// InTx runs fn in one transaction: all its writes commit or none do. fn may run again
	// if the database reports a serialization failure, so it must not have effects outside
	// the transaction.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the database is reachable.
	Ping(ctx context.Context) error
	// Backup writes a consistent copy of the database to path, while the database stays
	// in use. The copy is an SQLite database file that Roster can serve directly.
	Backup(ctx context.Context, path string, progress func(table string, rows int64)) error
	// Check verifies the store: the engine's own checks of its data and catalogue, then
	// the invariants Roster keeps in every store (the bookkeeping rows, a gap-free audit
	// sequence, an active system administrator, well-formed account rows, references
	// the database does not enforce). It only reads, from one snapshot, so it runs beside
	// a server and on a read-only store. What it finds is in the results; the error is
	// for a check that could not run.
	Check(ctx context.Context) ([]CheckResult, error)
	// Kind is "sqlite" or "postgres".
	Kind() string
	Close() error
}
