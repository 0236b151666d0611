package roster

import "time"

// EmailChange is an account's pending change of email: the new address waits until
// someone follows the link mailed to it, which proves the mailbox is the account
// owner's. An account has at most one; a new request replaces it. Only the hash of the
// link's key is kept, so that the store (or a backup of it) cannot confirm a change.
type EmailChange struct {
	AccountID int64
	NewEmail  string
	KeyHash   []byte // SHA-256 of the key in the link
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ConfirmEmailPath is where the links confirming a change of email point: the path,
// then the key.
const ConfirmEmailPath = "/email_confirm/"

// MessageState is where a message of the outbox stands.
type MessageState string

const (
	// MessagePending: waiting to be delivered (or to be tried again).
	MessagePending MessageState = "pending"
	// MessageSent: the mail server accepted it.
	MessageSent MessageState = "sent"
	// MessageFailed: the mail server refused it for good (the recipient does not exist).
	MessageFailed MessageState = "failed"
	// MessageExpired: it was not delivered before it stopped being worth sending.
	MessageExpired MessageState = "expired"
)

// Valid reports whether s is a state Roster knows.
func (s MessageState) Valid() bool {
	switch s {
	case MessagePending, MessageSent, MessageFailed, MessageExpired:
		return true
	}
	return false
}

// Kinds of message.
const (
	// MessageEmailConfirm carries the link that confirms a change of email, to the new
	// address.
	MessageEmailConfirm = "email_confirm"
	// MessageEmailChangedOld tells the old address that the account's email changed.
	MessageEmailChangedOld = "email_changed_old"
	// MessageEmailChangedNew tells the new address that it is now the account's.
	MessageEmailChangedNew = "email_changed_new"
)

// Message is an email in the outbox. It is written in the transaction of the change it
// tells of, and delivered afterwards by a worker, which leases it first so that no other
// worker sends it meanwhile. Its body (which may hold a confirmation link) is purged once
// it is sent, refused or expired; the rest stays as a record.
type Message struct {
	ID int64
	// MessageID is the Message-ID header, fixed when the message is queued, so that a
	// message sent twice (a worker that died between the mail server's acceptance and
	// recording it) carries the same one, and mail clients show it once.
	MessageID string
	Kind      string
	AccountID int64 // the account it is about
	To        string
	Subject   string
	Body      string // "" once purged
	State     MessageState
	// Attempts counts the leases taken to deliver it.
	Attempts      int
	CreatedAt     time.Time
	NextAttemptAt time.Time // not leased before then (backoff after a failure)
	ExpiresAt     time.Time // not sent after then
	SentAt        time.Time // when the mail server accepted it, or when it was given up
	// LeaseOwner and LeaseUntil: the worker delivering it, and until when no other
	// worker may take it. An expired lease is no lease.
	LeaseOwner string
	LeaseUntil time.Time
	LastError  string
}

// MessageFilter selects messages of the outbox, by id ascending.
type MessageFilter struct {
	State MessageState // "" for every state
	After int64        // ids above this
	Limit int
}

// MessageRelease is a worker's outcome of delivering a leased message.
type MessageRelease struct {
	// State is MessageSent, MessageFailed, or MessagePending to try again at
	// NextAttemptAt.
	State         MessageState
	At            time.Time
	NextAttemptAt time.Time
	Error         string
}
