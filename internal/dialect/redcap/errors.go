package redcap

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

var contentTypes = map[string]string{
	"json": "application/json; charset=utf-8",
	"csv":  "text/csv; charset=utf-8",
	"xml":  "text/xml; charset=utf-8",
}

func writeBody(w http.ResponseWriter, status int, format string, body []byte) {
	w.Header().Set("Content-Type", contentTypes[format])
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeError writes an error body as REDCap does for returnFormat: {"error":…},
// "ERROR: …" or an XML hash. REDCap does not escape the message in XML; neither does
// Roster, so clients see the same bytes.
func writeError(w http.ResponseWriter, returnFormat string, status int, msg string) {
	var b bytes.Buffer
	switch returnFormat {
	case "json":
		b.WriteString(`{"error":`)
		appendJSONString(&b, msg)
		b.WriteByte('}')
	case "csv":
		b.WriteString("ERROR: ")
		b.WriteString(msg)
	default:
		b.WriteString(`<?xml version="1.0" encoding="UTF-8" ?><hash><error>`)
		b.WriteString(msg)
		b.WriteString(`</error></hash>`)
	}
	writeBody(w, status, returnFormat, b.Bytes())
}

// REDCap's default messages.
const (
	msgNoPermission = "You do not have permissions to use the API"
	msgServerError  = "The server encountered an error processing your request."
)

// writeCoreError answers a refusal from the project service with REDCap's status and
// message.
func (h *Handler) writeCoreError(req *request, err error) {
	e := roster.AsError(err)
	status, msg := http.StatusBadRequest, req.message(e)
	switch e.Code {
	case roster.EUNAUTHENTICATED:
		status, msg = http.StatusForbidden, msgNoPermission
	case roster.ETOOMANY:
		req.w.Header().Set("Retry-After", strconv.Itoa(max(1, e.RetryAfter)))
		status, msg = http.StatusForbidden, msgNoPermission
	case roster.EFORBIDDEN:
		switch e.Reason {
		case roster.RTokenRight, roster.RInDAG, roster.RExpired: // refused before the call
			status = http.StatusForbidden
		}
	case roster.ETOOLARGE:
		status = http.StatusRequestEntityTooLarge
		if e.Reason == roster.RHeaders {
			status = http.StatusRequestHeaderFieldsTooLarge
		}
	case roster.EUNAVAILABLE: // the database is unreachable, busy or read-only: the message says which
		status = http.StatusServiceUnavailable
		if msg == "" {
			msg = "The database is unavailable; try again shortly."
		}
	case roster.EINTERNAL:
		status, msg = http.StatusInternalServerError, msgServerError
		if httpx.ClientGone(req.r) {
			break
		}
		h.log.Error("REDCap API call failed", "content", req.content, "action", req.action, "err", err,
			"request_id", httpx.RequestIDFrom(req.r.Context()))
	}
	if msg == "" {
		msg = roster.ErrorMessage(err)
	}
	writeError(req.w, req.returnFormat, status, msg)
}

// REDCap's words for the refusals it has words for. The project service words refusals
// in Roster's words and says why in Reason, Subject and each problem's fields; REDCap's
// clients, and the people using them, know REDCap's words, so they are put back here,
// byte for byte. A refusal REDCap has no words for keeps Roster's.

// Refusals for the rights a call needs: REDCap words them by the call.
const (
	msgUsersExport = "Insufficient user privileges: You must have 'API Export' privileges and 'User Rights' privileges (Full Access or Read Only) in the project."
	msgUsersImport = "Insufficient user privileges: You must have 'API Import/Update' privileges and 'User Rights' privileges in the project in order to import/update users via the API Import Users method."
	msgRolesImport = "Insufficient user privileges: You must have 'API Import/Update' privileges and 'User Rights' privileges in the project in order to import/update user roles via the API Import User Roles method."
	msgDAGsExport  = "Insufficient user privileges: You must have 'API Export' privileges and 'Data Access Groups' privileges in the project."
	msgDAGsImport  = "Insufficient user privileges: You must have 'API Import/Update' privileges and 'Data Access Groups' privileges in the project."
)

// message is a refusal in REDCap's words.
func (req *request) message(e *roster.Error) string {
	if e.Code == roster.EINVALID && len(e.Problems) > 0 {
		return req.problemsMessage(e)
	}
	switch e.Reason {
	case roster.RTokenRight:
		switch e.Subject {
		case "api_export":
			return "You do not have API Export privileges"
		case "api_import":
			return "You do not have API Import/Update privileges"
		case "record_delete":
			return "You do not have Delete Record privileges"
		}
	case roster.RNoRight:
		switch {
		case e.Subject == "user_rights" && req.action == "export":
			return msgUsersExport
		case e.Subject == "user_rights" && req.content == "userRole":
			return msgRolesImport
		case e.Subject == "user_rights":
			return msgUsersImport
		case e.Subject == "data_access_groups" && req.action == "export":
			return msgDAGsExport
		case e.Subject == "data_access_groups":
			return msgDAGsImport
		}
	case roster.RInDAG:
		return "You do not have permission to export/import/delete Data Access Groups because you have been assigned to a Data Access Group."
	case roster.RExpired:
		return "You do not have API rights because your privileges have expired for this project as of " + e.Subject + "."
	// The DAG switcher's own short answers.
	case roster.RNotMember:
		return "Invalid user"
	case roster.RUnknownDAG:
		return "Invalid DAG"
	case roster.RDAGSwitchNotAssigned:
		return "User/DAG assignment not permitted"
	}
	return e.Message
}

// problemsMessage is a refusal of bulk input in REDCap's words: one line per problem.
func (req *request) problemsMessage(e *roster.Error) string {
	lines := make([]string, 0, len(e.Problems)+1)
	worded := false
	for _, p := range e.Problems {
		msg, ok := req.problemWords(p)
		if !ok {
			msg = p.Message
		}
		worded = worded || ok
		lines = append(lines, msg)
	}
	if !worded {
		return e.Message
	}
	if e.Unlisted > 0 {
		lines = append(lines, fmt.Sprintf("(%d more problems not listed)", e.Unlisted))
	}
	return strings.Join(lines, "\n")
}

// problemWords is one problem in REDCap's words, if REDCap has words for it.
func (req *request) problemWords(p roster.Problem) (string, bool) {
	// Rows of a role import are roles; any other rows are users.
	subject := fmt.Sprintf("user %q", p.Subject)
	if req.content == "userRole" {
		subject = fmt.Sprintf("user role %q", p.Subject)
	}
	formKind := "form-level"
	if p.Field == "forms_export" {
		formKind = "data export"
	}
	switch p.Reason {
	case roster.RMissingColumn:
		return "One or more components are missing in your input data. The following attributes are required: " + strings.Join(p.Expected, ", "), true
	case roster.RBadRight:
		if f, ok := p.Value.(roster.RawFormRight); ok {
			return fmt.Sprintf("The form named %q with value %q is not a valid %s rights value. It must be 0, 1, 2 or 3.", f.Form, f.Value, formKind), true
		}
		if p.Field == "forms" || p.Field == "forms_export" {
			return fmt.Sprintf(`The field named %q for %s  with value %q is not valid. It must be an object of form names and %s rights, or REDCap's CSV form "form_1:1,form_2:0".`,
				p.Field, subject, p.Value, formKind), true
		}
		if r, ok := roster.RightByName(p.Field); ok {
			allowed := "It must be 0 or 1."
			if roster.ProjectRights[r].Max == 2 {
				allowed = "It must be 0, 1, or 2."
			}
			return fmt.Sprintf("The field named %q for %s  with value %q is not a valid rights value. %s", p.Field, subject, p.Value, allowed), true
		}
	case roster.RUnknownForm:
		if f, ok := p.Value.(roster.RawFormRight); ok {
			return fmt.Sprintf("The form named %q is incorrect for the %s The form does not exist in this project.", f.Form, subject), true
		}
	case roster.RInRole:
		return fmt.Sprintf("The user %q cannot have their user privileges modified because the user belongs to a user role. Users in roles cannot have their privileges modified via the 'Import User' API method.", p.Subject), true
	case roster.ROutsideDAG:
		return fmt.Sprintf("The user %q is not in your Data Access Group, so you may not change their privileges or role.", p.Subject), true
	case roster.RInDAG:
		return "You have been assigned to a Data Access Group, so you may only assign users to your own Data Access Group.", true
	case roster.RNotMember:
		switch p.Field {
		case "users":
			return "One or more of the users provided are not valid usernames that do not exist in this project. Note: No users were deleted. Users that do not exist: " + names(p.Value), true
		case "username":
			return fmt.Sprintf("The username %q does not exist in the project.", p.Value), true
		}
	case roster.RUnknownRole:
		switch p.Field {
		case "roles":
			return "One or more of the roles provided are not valid rolenames that do not exist in this project. Note: No roles were deleted. Roles that do not exist: " + names(p.Value), true
		case "unique_role_name":
			return "Invalid Unique Role Names: " + names(p.Value), true
		}
	case roster.RUnknownDAG:
		switch p.Field {
		case "dags":
			return "One or more of the dags provided are not valid unique group names that do not exist in this project. Note: No dags were deleted. DAGs that do not exist: " + names(p.Value), true
		case "data_access_group":
			return fmt.Sprintf("data_access_group %q is not a valid unique Data Access Group name for this project.", p.Value), true
		case "unique_group_name":
			return fmt.Sprintf("Unique group name %q does not exist in the project. NOTE: The unique group name is auto-generated from the data access group name; to create a new data access group, leave unique_group_name blank.", p.Value), true
		default:
			return fmt.Sprintf("Unique group name %q does not exist in the project.", p.Value), true
		}
	}
	switch p.Field + " " + p.Code {
	case "username " + roster.PRequired:
		return fmt.Sprintf("The username is missing for user #%d in the list of users provided.", p.Line), true
	case "username " + roster.PFormat:
		return fmt.Sprintf("username %q is not in a valid username format. User names can only contain letters, numbers, underscores, hyphens, periods, spaces, apostrophes, and @ symbols.", p.Value), true
	case "username " + roster.PDuplicate:
		return fmt.Sprintf("The username %q occurs in more than one record.", p.Value), true
	case "role_label " + roster.PType:
		return fmt.Sprintf("The Role Label %q is not text.", p.Value), true
	case "role_label " + roster.PFormat:
		return "The Role Label: " + roster.TextMessage, true
	case "role_label " + roster.PRequired:
		return "The Role Label is blank.", true
	case "role_label " + roster.PTooLong:
		return fmt.Sprintf("The Role Label %q is longer than %d characters.", p.Value, p.Limit), true
	case "data_access_group_name " + roster.PRequired:
		return fmt.Sprintf("The data access group name for unique group name %q is blank. A data access group must have a name.", p.Subject), true
	case "data_access_group_name " + roster.PTooLong:
		return fmt.Sprintf("The data access group name %q must be less than or equal to %d characters in length.", p.Value, p.Limit), true
	}
	return "", false
}

// names is a problem's list of names, as REDCap lists them.
func names(v any) string {
	list, _ := v.([]string)
	return strings.Join(list, ", ")
}
