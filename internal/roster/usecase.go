package roster

import "time"

// The inputs and outputs of the core's use cases, shared by every surface that calls it.

// ReadOptions change how an account is shown.
type ReadOptions struct {
	// AsOthers shows the account as another ordinary user would see it, even to its
	// owner or to staff (Open edX's view=shared).
	AsOthers bool
}

// WriteOptions qualify a change.
type WriteOptions struct {
	// IfVersion applies the change only if the account is still at this version (its
	// Record.Version when the client read it; HTTP's If-Match). 0: whatever the version.
	IfVersion int64
	// CheckOnly decides and checks the change, and writes nothing: a surface that found
	// faults of its own in a request asks for the core's too, to report them all at once.
	CheckOnly bool
	// Origin is the scheme and host the caller reached Roster at ("https://host"), for
	// the links the change mails (an email confirmation). The configured public address,
	// when there is one, is used instead.
	Origin string
}

// PendingEmail is a pending change of email as its confirmation page shows it.
type PendingEmail struct {
	Username  string
	OldEmail  string
	NewEmail  string
	ExpiresAt time.Time
}

// Client says where a request comes from, for throttling and the audit log.
type Client struct {
	IP        string
	UserAgent string
}

// RecordPage is a page of accounts as the reader may see them.
type RecordPage struct {
	Records    []*Record
	NextCursor string
	Total      int // -1 unless asked for
}

// SessionInfo is a new sign-in: the cookie token (shown once) and its CSRF token.
type SessionInfo struct {
	Token     string
	CSRFToken string
	ExpiresAt time.Time
	Account   *Record
	// DeviceToken, when set, is a new token that marks this browser as one the account
	// signed in from (a cookie): failed sign-ins from it count apart from everyone
	// else's, so no one elsewhere can lock the owner out.
	DeviceToken string
}

// Credentials are what a sign-in presents.
type Credentials struct {
	Login       string // username or email address
	Password    string
	DeviceToken string // the browser's device cookie, if any
}

// KeyRequest describes a new API key.
type KeyRequest struct {
	Label     string
	ExpiresAt time.Time // zero: never
	ReadOnly  bool
}

// NewKey is a created key: the secret, shown this once, and its record.
type NewKey struct {
	Secret string
	Key    *APIKey
}

// Role is a role or capability that accounts can hold.
type Role struct {
	Name        string
	Kind        string // "role" or "capability"
	Description string
}

// GroupUpdate changes a group; nil fields stay.
type GroupUpdate struct {
	Name        *string
	Description *string
}

// ImportRow is one account of an import file: attribute values by canonical name (CSV
// cells arrive as strings; the schema reads every type from a string) and the line the
// row starts on.
type ImportRow struct {
	Line   int
	Values map[string]any
}

// ImportOptions control an import.
type ImportOptions struct {
	DryRun   bool           // check everything, write nothing
	Progress func(rows int) // called as rows are checked
}

// ImportResult counts what an import did (or, in a dry run, would do).
type ImportResult struct {
	Rows      int
	Created   int
	Updated   int
	Unchanged int
}
