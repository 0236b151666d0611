// Package roster holds Roster's domain: accounts and their profile schema, roles,
// groups, API keys, sessions, the audit log, the Store contract and the error type.
// It depends on the standard library only; every other package points inward to it.
package roster

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Error codes. Each HTTP surface maps them to its own statuses and bodies in one table.
const (
	EINVALID         = "invalid"         // Problems say which fields
	ENOTFOUND        = "not_found"       // the thing does not exist (or the caller may not know it does)
	ECONFLICT        = "conflict"        // duplicate username or email, lost update, last sysadmin
	EUNAUTHENTICATED = "unauthenticated" // who are you?
	EFORBIDDEN       = "forbidden"       // you may not
	ETOOMANY         = "too_many"        // slowed down after repeated failures
	EPRECONDITION    = "precondition"    // the thing changed since the version the client named
	EUNAVAILABLE     = "unavailable"     // the database cannot be reached
	ETOOLARGE        = "too_large"       // the request is larger than the server reads (Reason: RBody or RHeaders)
	EINTERNAL        = "internal"
)

// Problem codes: machine-readable reasons a field was refused, so each dialect can word
// the message the way its platform does.
const (
	PRequired  = "required"
	PTooLong   = "too_long"
	PTooShort  = "too_short"
	PChoice    = "invalid_choice"
	PFormat    = "invalid_format"
	PType      = "invalid_type"
	PRange     = "out_of_range"
	PTaken     = "taken"
	PReadOnly  = "read_only"
	PForbidden = "forbidden"
	PUnknown   = "unknown_field"
	PDuplicate = "duplicate"
)

// Problem is one reason an input was refused.
type Problem struct {
	Field   string `json:"field"`          // canonical attribute name (or input column)
	Code    string `json:"code"`           // one of the P… codes
	Message string `json:"message"`        // English, safe to show
	Line    int    `json:"line,omitempty"` // 1-based input line for bulk input; 0 otherwise
	Limit   int    `json:"limit,omitempty"`
	// Value is the refused value, for dialects that echo it (Open edX does). It is never
	// set for secret attributes.
	Value any `json:"-"`
}

// Error is Roster's error type. Message and Problems are safe to show to a client; Op and
// Err are for logs only.
type Error struct {
	Code     string
	Message  string
	Problems []Problem
	Op       string
	Err      error
	// RetryAfter is set with ETOOMANY: seconds until the client may try again.
	RetryAfter int
	// Reason refines the code for surfaces that answer differently by cause: see the
	// R… constants.
	Reason string
}

// Reasons.
const (
	// RAPIRights: an EFORBIDDEN that a project's API rights decide (API export/import,
	// record deletion, DAG restriction). REDCap checks these before the call itself and
	// answers 403; the rights the call needs are refused with 400.
	RAPIRights = "api_rights"
	// RBody and RHeaders: an ETOOLARGE for the request's body (413), or for its URL and
	// headers (431).
	RBody    = "body"
	RHeaders = "headers"
	// RCSRF: an EFORBIDDEN because a cookie-authenticated change lacks its session's
	// CSRF token.
	RCSRF = "csrf"
)

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, p := range e.Problems {
		b.WriteString("; ")
		if p.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		b.WriteString(p.Field)
		b.WriteString(": ")
		b.WriteString(p.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// FieldMessages returns field → message, the first message per field.
func (e *Error) FieldMessages() map[string]string {
	if len(e.Problems) == 0 {
		return nil
	}
	m := make(map[string]string, len(e.Problems))
	for _, p := range e.Problems {
		if _, ok := m[p.Field]; !ok {
			m[p.Field] = p.Message
		}
	}
	return m
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds an EINVALID error from problems, sorted by line then field.
func Invalid(problems ...Problem) *Error {
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].Line != problems[j].Line {
			return problems[i].Line < problems[j].Line
		}
		return problems[i].Field < problems[j].Field
	})
	msg := "Invalid input."
	if len(problems) == 1 {
		msg = problems[0].Message
	}
	return &Error{Code: EINVALID, Message: msg, Problems: problems}
}

// Internal wraps an unexpected error from op.
func Internal(op string, err error) *Error {
	return &Error{Code: EINTERNAL, Op: op, Err: err}
}

// ErrorCode returns the code of err, EINTERNAL for anything that is not an *Error and ""
// for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) && e.Code != EINTERNAL {
		if e.Message != "" {
			return e.Message
		}
		return defaultMessages[e.Code]
	}
	return "Internal error."
}

// AsError returns err as an *Error, wrapping anything else as EINTERNAL.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal("", err)
}

var defaultMessages = map[string]string{
	EINVALID:         "Invalid input.",
	ENOTFOUND:        "Not found.",
	ECONFLICT:        "Conflict.",
	EUNAUTHENTICATED: "Authentication required.",
	EFORBIDDEN:       "Permission denied.",
	ETOOMANY:         "Too many failed attempts; try again later.",
	EPRECONDITION:    "The resource has changed since you read it.",
	EUNAVAILABLE:     "Service unavailable.",
	ETOOLARGE:        "The request is larger than this server accepts.",
}
