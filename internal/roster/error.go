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
	Field   string // canonical attribute name (or input column)
	Code    string // one of the P… codes
	Message string // English, safe to show
	Line    int    // 1-based input line for bulk input; 0 otherwise
	Limit   int
	// Value is the refused value, for dialects that echo it (Open edX does, and REDCap).
	// It is never set for secret attributes. The R… constants say what it holds where it
	// is not the field's value.
	Value any
	// Reason is the cause, one of the R… constants, where Field and Code do not say it
	// all, so that a dialect can word the problem in its platform's words.
	Reason string
	// Subject names what a row of bulk input is about: a username, a role's label, a
	// DAG's unique name.
	Subject string
	// Expected is what the input should hold: with RMissingColumn, every column it
	// requires.
	Expected []string
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
	// Reason refines the code for surfaces that answer differently by cause, or word the
	// cause in their platform's words: see the R… constants.
	Reason string
	// Subject is what Reason is about, as the R… constants say.
	Subject string
	// Unlisted counts the problems found beyond those in Problems: bulk input reports
	// only so many.
	Unlisted int
}

// Reasons, for Error.Reason and Problem.Reason. Message is always Roster's own wording;
// a surface whose platform has its own words for a cause (the REDCap dialect) words it
// from the reason and what it names.
const (
	// RBody and RHeaders: an ETOOLARGE for the request's body (413), or for its URL and
	// headers (431).
	RBody    = "body"
	RHeaders = "headers"
	// RCSRF: an EFORBIDDEN because a cookie-authenticated change lacks its session's
	// CSRF token.
	RCSRF = "csrf"
	// RCrossOrigin: an EFORBIDDEN because a change requested by GET through a session
	// cookie did not come from this site's own pages.
	RCrossOrigin = "cross_origin"
	// OAuth2 refusals (RFC 6749, section 5.2), for the token endpoint: a surface words
	// them as its platform does. RInvalidClient is an EUNAUTHENTICATED; the others are
	// EINVALID, or ETOOMANY when throttled.
	RInvalidRequest       = "invalid_request"
	RInvalidClient        = "invalid_client"
	RInvalidGrant         = "invalid_grant"
	RUnauthorizedClient   = "unauthorized_client"
	RUnsupportedGrantType = "unsupported_grant_type"
	RInvalidScope         = "invalid_scope"
	// Refusals of a bearer token (EUNAUTHENTICATED): it is no token Roster issued, or
	// its signature does not verify (RTokenInvalid); it has expired (RTokenExpired); its
	// grant, application or signing key was revoked or retired (RTokenRevoked); its
	// account is not active (RAccountInactive).
	RTokenInvalid    = "token_invalid"
	RTokenExpired    = "token_expired"
	RTokenRevoked    = "token_revoked"
	RAccountInactive = "account_inactive"
	// RLastSysadmin: an ECONFLICT because the change would leave no active system
	// administrator.
	RLastSysadmin = "last_sysadmin"
	// RSameEmail: a problem of email, the address offered is the account's already.
	RSameEmail = "same_email"
	// RLinkExpired: ENOTFOUND, the link mailed (an email confirmation) has expired.
	RLinkExpired = "link_expired"
	// RQueue: EUNAVAILABLE, a message the change sends could not be queued, so the change
	// was not made (Open edX answers a mail it could not send so).
	RQueue = "queue"
	// REmailTaken: ECONFLICT, confirming a change of email found the new address held by
	// another account meanwhile; nothing changed.
	REmailTaken = "email_taken"
	// RTokenRight: EFORBIDDEN, the member a project API token stands for lacks an API
	// right the call needs; Subject names the right (api_export, api_import,
	// record_delete). REDCap checks these before the call and answers 403.
	RTokenRight = "token_right"
	// RNoRight: EFORBIDDEN, the caller lacks a project right the call needs; Subject
	// names the right (user_rights, data_access_groups, design).
	RNoRight = "no_right"
	// RExpired: EFORBIDDEN, the caller's rights in the project expired; Subject is the
	// date, YYYY-MM-DD.
	RExpired = "expired"
	// RInDAG: the caller is assigned to a Data Access Group, which confines it:
	// EFORBIDDEN for calls on the project's DAGs; on a problem, a member it may put in
	// its own DAG only.
	RInDAG = "in_dag"
	// RNotMember: a username is not a member of the project. On a problem, Value holds
	// it, or the list of them; as an EINVALID without problems, the caller is not one.
	RNotMember = "not_member"
	// RUnknownDAG, RUnknownRole, RUnknownForm: a unique DAG name, unique role name or
	// form name the project does not have. On a problem, Value holds it, or the list of
	// them; for a form, the roster.RawFormRight sent. As an EINVALID without problems,
	// Subject holds the name.
	RUnknownDAG  = "unknown_dag"
	RUnknownRole = "unknown_role"
	RUnknownForm = "unknown_form"
	// RDAGSwitchNotAssigned: EFORBIDDEN, a member asked to switch to a DAG (Subject, ""
	// for none) that it was not assigned.
	RDAGSwitchNotAssigned = "dag_switch_not_assigned"

	// Problems only.

	// RBadRight: a value a right does not take. Value is as sent: a roster.RawFormRight
	// for one form's right, the whole text for forms or forms_export of the wrong shape.
	RBadRight = "bad_right"
	// RInRole: the member is in a role, whose rights it has: its own cannot be set.
	RInRole = "in_role"
	// ROutsideDAG: the member is in another DAG than the caller, who may not change it.
	ROutsideDAG = "outside_dag"
	// RMissingColumn: bulk input lacks a column it requires; Expected lists them all.
	RMissingColumn = "missing_column"

	// A profile image refused (a problem of field "file"), each checked in this order:
	// RImageTooLarge, its size is over Limit bytes; RImageTooSmall, under Limit bytes;
	// RImageType, its file name does not end in an image type's extension;
	// RImageMediaType, its declared media type is not one of that type's;
	// RImageSignature, its first bytes are not that type's; RImagePixels, its declared
	// dimensions hold more than Limit pixels; RImageUndecodable, it does not decode.
	RImageTooLarge    = "image_too_large"
	RImageTooSmall    = "image_too_small"
	RImageType        = "image_type"
	RImageMediaType   = "image_media_type"
	RImageSignature   = "image_signature"
	RImagePixels      = "image_pixels"
	RImageUndecodable = "image_undecodable"
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
