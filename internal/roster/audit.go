package roster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Change is one field's old and new value in an audit entry. Secret fields are recorded
// as changed with Redacted set and no values.
type Change struct {
	Field    string
	Old      any
	New      any
	Redacted bool
}

// AuditEntry records one mutation. Seq is assigned by the store when the entry is
// appended, in commit order and without gaps, so a reader paging with after=Seq misses
// nothing.
type AuditEntry struct {
	Seq        int64
	At         time.Time
	ActorID    int64
	ActorName  string
	KeyID      int64
	Via        string
	RequestID  string
	ClientIP   string
	Action     string
	TargetType string
	TargetID   int64
	TargetName string
	Changes    []Change
	// EncodedChanges, when set, is MarshalChanges(Changes), already done by the caller
	// (an import encodes on its checking goroutine); stores then skip encoding.
	EncodedChanges []byte
}

// NewAuditEntry builds an audit entry for the actor in ctx. Work no surface asked for
// is recorded as the system's, and the operator at the command line, who has no
// account, by that name.
func NewAuditEntry(ctx context.Context, at time.Time, action, targetType string, targetID int64, targetName string, changes []Change) *AuditEntry {
	a := ActorFromContext(ctx)
	via := a.Via
	if via == "" {
		via = ViaSystem
	}
	name := a.Username
	if a.Trusted && name == "" {
		name = "(operator)"
	}
	return &AuditEntry{At: at, ActorID: a.AccountID, ActorName: name, KeyID: a.KeyID, Via: via, RequestID: a.RequestID,
		ClientIP: a.ClientIP, Action: action, TargetType: targetType, TargetID: targetID, TargetName: targetName, Changes: changes}
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

// MarshalChanges encodes changes for storage, compactly: [["field", old, new], …], and a
// redacted change as ["field"]. On a bulk import the audit log holds one entry per
// account, so its size is felt.
func MarshalChanges(cs []Change) ([]byte, error) {
	if len(cs) == 0 {
		return []byte("[]"), nil
	}
	buf := make([]byte, 0, 32*len(cs))
	buf = append(buf, '[')
	for i, c := range cs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(append(buf, '['), c.Field)
		if !c.Redacted {
			var err error
			for _, v := range [2]any{c.Old, c.New} {
				if buf, err = appendJSON(append(buf, ','), v); err != nil {
					return nil, err
				}
			}
		}
		buf = append(buf, ']')
	}
	return append(buf, ']'), nil
}

// UnmarshalChanges decodes what MarshalChanges encoded.
func UnmarshalChanges(b []byte) ([]Change, error) {
	var raw [][]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, err
	}
	out := make([]Change, 0, len(raw))
	for _, r := range raw {
		var c Change
		switch len(r) {
		case 1:
			c.Redacted = true
		case 3:
			for i, dst := range []*any{&c.Old, &c.New} {
				dec := json.NewDecoder(bytes.NewReader(r[i+1]))
				dec.UseNumber()
				if err := dec.Decode(dst); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("roster: audit change of %d elements", len(r))
		}
		if err := json.Unmarshal(r[0], &c.Field); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
