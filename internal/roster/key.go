package roster

import "time"

// APIKey is a long-lived credential of one account. Only a hash of the key is stored; the
// key itself is shown once, when it is created.
type APIKey struct {
	ID         int64
	AccountID  int64
	Label      string
	Prefix     string // the first characters of the key, to recognise it in lists
	Hash       []byte `json:"-"`
	ReadOnly   bool
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never
	RevokedAt  time.Time // zero: live
	// PolicyVersion is the version of the stored policy when the key was read for a
	// request (GetAPIKeyByHash reads both at once, so a replica learns of a policy change
	// without asking separately).
	PolicyVersion int64 `json:"-"`
}

// Live reports whether the key can authenticate at instant now.
func (k *APIKey) Live(now time.Time) bool {
	return k.RevokedAt.IsZero() && (k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt))
}

// Session is a signed-in browser. The cookie carries a random token; the store keeps
// only its hash, so any replica can serve the session and a database leak reveals none.
type Session struct {
	ID         int64
	AccountID  int64
	Hash       []byte `json:"-"`
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	ClientIP   string
	UserAgent  string
	// PolicyVersion: as for APIKey, when read by GetSessionByHash.
	PolicyVersion int64 `json:"-"`
}

// LoginDevice is a browser that signed in to an account with its password. It holds a
// random token in a cookie; the store keeps only the token's hash.
type LoginDevice struct {
	ID         int64
	AccountID  int64
	Hash       []byte `json:"-"`
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// Throttle counts failed authentication attempts for one key (a client address or a
// username) across every replica.
type Throttle struct {
	Key          string
	Failures     int
	WindowStart  time.Time
	BlockedUntil time.Time
}
