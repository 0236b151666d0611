package roster

import "time"

// Change is one field's old and new value in an audit entry. Secret fields are recorded
// as changed with Redacted set and no values.
type Change struct {
	Field    string `json:"field"`
	Old      any    `json:"old,omitempty"`
	New      any    `json:"new,omitempty"`
	Redacted bool   `json:"redacted,omitempty"`
}

// AuditEntry records one mutation. Seq is assigned by the store when the entry is
// appended, in commit order and without gaps, so a reader paging with after=Seq misses
// nothing.
type AuditEntry struct {
	Seq        int64     `json:"seq"`
	At         time.Time `json:"at"`
	ActorID    int64     `json:"actor_id,omitempty"`
	ActorName  string    `json:"actor,omitempty"`
	KeyID      int64     `json:"key_id,omitempty"`
	Via        string    `json:"via"`
	RequestID  string    `json:"request_id,omitempty"`
	ClientIP   string    `json:"client_ip,omitempty"`
	Action     string    `json:"action"`
	TargetType string    `json:"target_type"`
	TargetID   int64     `json:"target_id,omitempty"`
	TargetName string    `json:"target_name,omitempty"`
	Changes    []Change  `json:"changes,omitempty"`
}

// AuditFilter selects audit entries, oldest first.
type AuditFilter struct {
	After      int64 // entries with Seq > After
	ActorID    int64
	TargetType string
	TargetID   int64
	Action     string
	Since      time.Time
	Until      time.Time
	Limit      int
}
