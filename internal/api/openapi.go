package api

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/internal/roster"
)

type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }

func jsonBody(schema obj) obj {
	return obj{"content": obj{"application/json": obj{"schema": schema}}}
}

func resp(desc string, schema obj) obj {
	r := obj{"description": desc}
	if schema != nil {
		r["content"] = obj{"application/json": obj{"schema": schema}}
	}
	return r
}

// errs are the error responses an operation can give, all in the Error shape.
func errs(codes ...string) obj {
	out := obj{}
	text := map[string]string{"400": "Invalid input: every problem is listed.", "401": "No or bad credentials.",
		"403": "Not allowed, or CSRF check failed.", "404": "No such thing (or not visible to you).",
		"409": "Conflict: duplicate username or email, concurrent change, last system administrator.",
		"412": "If-Match named another version of the account: read it again.",
		"429": "Too many failed attempts; see Retry-After."}
	for _, c := range codes {
		out[c] = resp(text[c], ref("Error"))
	}
	return out
}

func op(summary, desc string, responses obj, more ...obj) obj {
	o := obj{"summary": summary, "responses": responses}
	if desc != "" {
		o["description"] = desc
	}
	for _, m := range more {
		for k, v := range m {
			o[k] = v
		}
	}
	return o
}

func merge(a obj, bs ...obj) obj {
	for _, b := range bs {
		for k, v := range b {
			a[k] = v
		}
	}
	return a
}

func qparam(name, typ, desc string) obj {
	return obj{"name": name, "in": "query", "required": false, "description": desc, "schema": obj{"type": typ}}
}

var (
	pRef = obj{"name": "ref", "in": "path", "required": true, "schema": obj{"type": "string"},
		"description": "The account's numeric id, UUID or username."}
	pID = obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "integer"}}
	// pIfMatch makes a change conditional on the version read (the ETag of a GET).
	pIfMatch = obj{"name": "If-Match", "in": "header", "required": false, "schema": obj{"type": "string"},
		"description": "The ETag of the account as you read it (either view), or *. Another version gives 412 and changes nothing."}

	pProject  = obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "integer"}, "description": "The project's id."}
	pApp      = obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "integer"}, "description": "The application's id (not its client id)."}
	pKID      = obj{"name": "kid", "in": "path", "required": true, "schema": obj{"type": "string"}, "description": "The key's id, as JWTs name it in their header."}
	pUsername = obj{"name": "username", "in": "path", "required": true, "schema": obj{"type": "string"},
		"description": "The member's username (case-insensitive). It need not have an account."}
)

// rightsSchema lists every project right by REDCap's name with its allowed values.
func rightsSchema() obj {
	props := obj{}
	for _, d := range roster.ProjectRights {
		props[d.Name] = obj{"type": "integer", "minimum": 0, "maximum": d.Max, "description": d.Label}
	}
	return props
}

// formRightsSchema is a form → right map.
func formRightsSchema(desc string) obj {
	return obj{"type": "object", "additionalProperties": obj{"type": "integer"}, "description": desc}
}

const (
	formsRightsDesc  = "Form-level rights by form name, every form of the project listed: 0 no access, 2 read only, 1 view & edit, 3 edit survey responses; or REDCap 15.6's 128 no access, 129 read only, 130 view & edit, +8 edit survey responses, +16 delete."
	formsExportDesc  = "Data export rights by form name, every form of the project listed: 0 no access, 2 de-identified, 3 remove identifier fields, 1 full data set."
	formsInputDesc   = `Form names, or {"name", "label"} objects; a form without a label is labelled after its name ("day_3" → "Day 3").`
	memberInputDesc  = "The rights to set, by REDCap's names, flat as REDCap takes them; keys not sent keep their value (a new member starts with none). The rights object of a member as read is also accepted. username (taken from the path), email, firstname, lastname and unknown keys are ignored. Members in a role cannot have rights set."
	dagSwitchDesc    = `The DAGs the member may move itself among with REDCap's DAG switch (REDCap's DAG Switcher), by unique name; "" is no DAG. A switch to any other is refused.`
	forbiddenProject = "Not allowed in this project: the rights the call needs are missing, or the membership has expired."
)

func projectErrs(codes ...string) obj {
	out := errs(codes...)
	if _, has := out["403"]; has {
		out["403"] = resp(forbiddenProject, ref("Error"))
	}
	if _, has := out["404"]; has {
		out["404"] = resp("No such project, or you are not a member of it (or, where the path names one, no such member).", ref("Error"))
	}
	return out
}

// attrSchema describes one profile attribute for the OpenAPI document.
func attrSchema(a *roster.Attribute) obj {
	var s obj
	switch a.Type {
	case roster.TypeBool:
		s = obj{"type": []string{"boolean", "null"}}
	case roster.TypeInt:
		s = obj{"type": []string{"integer", "null"}}
	case roster.TypeList:
		s = obj{"type": []string{"array", "null"}, "items": obj{"type": "string"}}
	case roster.TypeObject:
		s = obj{"type": []string{"object", "null"}}
	case roster.TypeTime:
		s = obj{"type": []string{"string", "null"}, "format": "date-time"}
	default:
		s = obj{"type": []string{"string", "null"}}
		if a.MaxLength > 0 {
			s["maxLength"] = a.MaxLength
		}
		if a.MinLength > 0 {
			s["minLength"] = a.MinLength
		}
		if len(a.Enum) > 0 {
			s["enum"] = append(append([]any{}, toAny(a.Enum)...), nil)
		}
		switch a.Format {
		case "email":
			s["format"] = "email"
		case "url":
			s["format"] = "uri"
		}
	}
	desc := a.Description
	var names []string
	for _, d := range roster.Dialects {
		if w := a.WireName(d); w != "" {
			names = append(names, d+": "+w)
		}
	}
	if len(names) > 0 {
		desc += " Dialect names: " + strings.Join(names, ", ") + "."
	}
	s["description"] = strings.TrimSpace(desc)
	s["x-roster-read"] = a.Read.String()
	s["x-roster-write"] = string(a.Write)
	if a.Write == roster.WriteNone {
		s["readOnly"] = true
	}
	if a.Default != nil {
		s["default"] = a.Default
	}
	return s
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// appGrants are the grants an application may be allowed.
var appGrants = []string{roster.GrantClientCredentials, roster.GrantPassword}

func (h *Handler) buildOpenAPI(schema *roster.Schema) obj {
	props := obj{}
	for _, a := range schema.Attrs() {
		if a.Readable() {
			props[a.Name] = attrSchema(a)
		}
	}
	account := obj{"type": "object", "properties": props, "description": "An account as the caller may see it: " +
		"only the attributes the caller may read are present (x-roster-read gives each one's level: public, shared, custom, self, staff)."}
	writeProps := obj{"password": obj{"type": "string", "minLength": 8, "writeOnly": true, "description": "Write-only; never returned."}}
	for _, a := range schema.Attrs() {
		if a.Readable() && a.Write != roster.WriteNone {
			writeProps[a.Name] = attrSchema(a)
		}
	}
	timeOrNull := obj{"type": []string{"string", "null"}, "format": "date-time"}
	schemas := obj{
		"Error": obj{"type": "object", "required": []string{"error"}, "properties": obj{"error": obj{
			"type": "object", "required": []string{"code", "message"},
			"properties": obj{
				"code":    obj{"type": "string", "enum": []string{"invalid", "not_found", "conflict", "unauthenticated", "forbidden", "too_many", "unavailable", "internal", "method_not_allowed"}},
				"message": obj{"type": "string"},
				"fields":  obj{"type": "object", "additionalProperties": obj{"type": "string"}, "description": "Field → the first problem with it."},
				"problems": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
					"field": obj{"type": "string"}, "code": obj{"type": "string"}, "message": obj{"type": "string"},
					"line": obj{"type": "integer"}, "limit": obj{"type": "integer"}}}},
			}}}},
		"Account":      account,
		"AccountWrite": obj{"type": "object", "properties": writeProps, "description": "Attributes to set, by canonical name. In a PATCH, null clears an attribute and objects are merged (RFC 7396)."},
		"UserList": obj{"type": "object", "properties": obj{
			"users":       obj{"type": "array", "items": ref("Account")},
			"next_cursor": obj{"type": "string", "description": "Pass as cursor for the next page; absent on the last page."},
			"total":       obj{"type": "integer", "description": "Present with total=true."}}},
		"APIKey": obj{"type": "object", "properties": obj{
			"id": obj{"type": "integer"}, "label": obj{"type": "string"}, "prefix": obj{"type": "string"}, "read_only": obj{"type": "boolean"},
			"created_at": timeOrNull, "expires_at": timeOrNull, "last_used_at": timeOrNull, "revoked_at": timeOrNull,
			"key": obj{"type": "string", "description": "The secret key: only in the response that created it."}}},
		"OAuthGrant": obj{"type": "object", "description": "A token family: what one token request through an application, or one browser session's JWT cookies, started. Revoking it ends every token in it, JWTs included.", "properties": obj{
			"id":         obj{"type": "integer"},
			"client_id":  obj{"type": "string", "description": `The application's client id; "" for a browser session's tokens.`},
			"app_name":   obj{"type": "string", "description": `The application's name; "" for a browser session's tokens.`},
			"grant_type": obj{"type": "string", "enum": []string{roster.GrantClientCredentials, roster.GrantPassword, roster.GrantSession, roster.GrantBrainSTEMPassword, roster.GrantBrainSTEMDevice}},
			"scopes":     obj{"type": "array", "items": obj{"type": "string", "enum": roster.Scopes}},
			"created_at": timeOrNull, "revoked_at": timeOrNull}},
		"OAuthApp": obj{"type": "object", "description": "An OAuth2 application (client) registered by a system administrator. Never its secret, but in the answer that made it.", "properties": obj{
			"id": obj{"type": "integer"}, "client_id": obj{"type": "string"}, "name": obj{"type": "string"},
			"owner_id":      obj{"type": "integer"},
			"owner":         obj{"type": "string", "description": "The username of the account a client-credentials token acts as."},
			"public":        obj{"type": "boolean", "description": "A client without a secret (a mobile app): it may use the password grant only."},
			"secret_prefix": obj{"type": "string", "description": `The first characters of the client secret, to recognise it by; "" for a public client.`},
			"grants":        obj{"type": "array", "items": obj{"type": "string", "enum": appGrants}, "description": "The grants it may use; refresh tokens come with the password grant."},
			"redirect_uris": obj{"type": "array", "items": obj{"type": "string", "format": "uri"}},
			"scopes":        obj{"type": "array", "items": obj{"type": "string", "enum": roster.Scopes}, "description": "The most a token of the application may carry."},
			"created_at":    timeOrNull, "updated_at": timeOrNull,
			"revoked_at":    obj{"type": []string{"string", "null"}, "format": "date-time", "description": "When it was revoked: it obtains no tokens, and those it obtained do not work."},
			"client_secret": obj{"type": "string", "description": "The client secret: only in the answer that made it (creation, rotation); never shown again."}}},
		"OAuthAppWrite": obj{"type": "object", "additionalProperties": false, "properties": obj{
			"name":          obj{"type": "string", "maxLength": 100},
			"client_id":     obj{"type": "string", "pattern": "^[A-Za-z0-9._~-]{1,100}$", "description": "On creation only. Default: 40 random hex digits."},
			"owner":         obj{"type": []string{"string", "integer"}, "description": "On creation only: the account a client-credentials token acts as, by username, UUID or id. It must be active."},
			"public":        obj{"type": "boolean", "default": false, "description": "On creation only: a client without a secret, which may use the password grant only."},
			"grants":        obj{"type": "array", "minItems": 1, "items": obj{"type": "string", "enum": appGrants}},
			"redirect_uris": obj{"type": "array", "maxItems": 20, "items": obj{"type": "string", "format": "uri", "maxLength": 500}, "description": "Absolute http or https addresses without a fragment."},
			"scopes":        obj{"type": "array", "items": obj{"type": "string", "enum": roster.Scopes}, "description": "Default on creation (absent or empty): read, write, email, profile."}}},
		"SigningKey": obj{"type": "object", "description": "A key that signs JWTs: its public half only.", "properties": obj{
			"kid": obj{"type": "string"}, "algorithm": obj{"type": "string", "enum": []string{"RS512"}},
			"created_at": timeOrNull,
			"retire_at":  obj{"type": []string{"string", "null"}, "format": "date-time", "description": "When it stops verifying (null: not retiring). The newest key not retiring signs."},
			"public_jwk": obj{"type": "object", "description": "The public key as a JSON Web Key, as the JWKS publishes it."}}},
		"Group": obj{"type": "object", "properties": obj{
			"id": obj{"type": "integer"}, "name": obj{"type": "string"}, "description": obj{"type": "string"},
			"created_at": timeOrNull, "updated_at": timeOrNull,
			"members": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
				"id": obj{"type": "integer"}, "username": obj{"type": "string"}, "role": obj{"type": "string", "enum": []string{"owner", "member"}}, "added_at": timeOrNull}}}}},
		"Role": obj{"type": "object", "properties": obj{"name": obj{"type": "string"}, "kind": obj{"type": "string", "enum": []string{"role", "capability"}}, "description": obj{"type": "string"}}},
		"AuditEntry": obj{"type": "object", "properties": obj{
			"seq": obj{"type": "integer"}, "at": obj{"type": "string", "format": "date-time"}, "actor_id": obj{"type": "integer"},
			"actor": obj{"type": "string"}, "key_id": obj{"type": "integer"}, "via": obj{"type": "string"}, "request_id": obj{"type": "string"},
			"client_ip": obj{"type": "string"}, "action": obj{"type": "string"}, "target_type": obj{"type": "string"},
			"target_id": obj{"type": "integer"}, "target_name": obj{"type": "string"},
			"changes": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
				"field": obj{"type": "string"}, "old": obj{}, "new": obj{}, "redacted": obj{"type": "boolean"}}}}}},
		"Project": obj{"type": "object", "properties": obj{
			"id": obj{"type": "integer"}, "title": obj{"type": "string", "maxLength": 500},
			"purpose":       obj{"type": "integer", "minimum": 0, "maximum": roster.MaxProjectPurpose, "description": "REDCap's purpose: 0 practice, 1 other, 2 research, 3 quality improvement, 4 operational support."},
			"purpose_other": obj{"type": "string"}, "notes": obj{"type": "string"},
			"forms": obj{"type": "array", "description": "The project's forms (instruments), in order.", "items": obj{"type": "object", "properties": obj{
				"name":  obj{"type": "string", "pattern": "^[a-z][a-z0-9_]{0,63}$"},
				"label": obj{"type": "string"}}}},
			"created_at": obj{"type": "string", "format": "date-time"}, "updated_at": obj{"type": "string", "format": "date-time"}}},
		"Member": obj{"type": "object", "description": "A project member with the privileges that apply to it: its role's when it has one.", "properties": obj{
			"username":   obj{"type": "string"},
			"account_id": obj{"type": "integer", "description": "Absent when no account has the username yet."},
			"email":      obj{"type": "string"}, "first_name": obj{"type": "string"}, "last_name": obj{"type": "string"},
			"expiration":        obj{"type": "string", "description": `"" or YYYY-MM-DD: the rights end on that day.`},
			"data_access_group": obj{"type": "string", "description": `The unique name of the member's DAG; "" for none.`},
			"role":              obj{"type": "string", "description": `The unique name of the member's role; "" for none.`},
			"rights":            obj{"type": "object", "properties": rightsSchema()},
			"forms":             formRightsSchema(formsRightsDesc),
			"forms_export":      formRightsSchema(formsExportDesc),
			"has_token":         obj{"type": "boolean", "description": "Whether the member holds a project API token; the token itself is never shown again."},
			"added_at":          obj{"type": "string", "format": "date-time"},
			"dag_switch":        obj{"type": "array", "items": obj{"type": "string"}, "description": dagSwitchDesc + " Shown when one member is read, not in the list."}}},
		"MemberWrite": obj{"type": "object", "description": memberInputDesc, "properties": merge(rightsSchema(), obj{
			"expiration":        obj{"type": "string", "description": `YYYY-MM-DD (also YYYY/MM/DD, MM/DD/YYYY); "" for none.`},
			"data_access_group": obj{"type": "string", "description": `A DAG's unique name; "" for none.`},
			"forms":             obj{"type": []string{"object", "string"}, "additionalProperties": obj{"type": "integer"}, "description": "Form-level rights by form name, or REDCap's \"form:right,…\". Sent, they replace all form rights: forms left out get 0."},
			"forms_export":      obj{"type": []string{"object", "string"}, "additionalProperties": obj{"type": "integer"}, "description": "Export rights by form name, or \"form:right,…\". Sent, they replace all export rights."},
			"rights":            obj{"type": "object", "properties": rightsSchema(), "description": "The rights as a member reads them; the same as sending them flat."},
			"dag_switch": obj{"type": []string{"array", "null"}, "items": obj{"type": "string"}, "description": dagSwitchDesc +
				" Sent, it replaces them (null or [] for none). Project administrators may set it, and members with User Rights and Data Access Groups who are not assigned to a DAG; others get 403."}})},
		"ProjectRole": obj{"type": "object", "description": "A project's user role: a named set of privileges its members hold.", "properties": obj{
			"unique_role_name": obj{"type": "string", "pattern": "^U-[1-9]{3}[34789ACDEFHJKLMNPRTWXY]{7}$"},
			"role_label":       obj{"type": "string"},
			"rights":           obj{"type": "object", "properties": rightsSchema()},
			"forms":            formRightsSchema(formsRightsDesc),
			"forms_export":     formRightsSchema(formsExportDesc)}},
		"DAG": obj{"type": "object", "description": "A data access group.", "properties": obj{
			"id": obj{"type": "integer"}, "label": obj{"type": "string"},
			"unique_group_name": obj{"type": "string", "description": "Derived from the label, as REDCap derives it."}}},
		"ProjectToken": obj{"type": "object", "properties": obj{
			"token":    obj{"type": "string", "pattern": "^[0-9A-F]{32}$", "description": "The member's REDCap API token for this project: shown only in this response."},
			"username": obj{"type": "string"}}},
		"Decision": obj{"type": "object", "description": "One answer, and the rule behind it.", "properties": obj{
			"allowed": obj{"type": "boolean"},
			"rule": obj{"type": "string", "description": "public, signed_in, privacy_all_users, privacy_custom, self, staff, sysadmin, audience, project_right; " +
				"or, refusing: secret, nobody, anonymous, privacy, parental_consent, self_only, staff_only, surface, maintained, read_only_key, not_owner, sysadmin_only, not_visible, no_project_right."},
			"detail": obj{"type": "string", "description": "The rule in words."}}},
		"AccountAccess": obj{"type": "object", "description": "What a caller may do with an account, field by field, and why.", "properties": obj{
			"account_id": obj{"type": "integer"}, "uuid": obj{"type": "string"}, "username": obj{"type": "string"},
			"caller":  obj{"type": "string", "description": "The caller's username, anonymous, or (operator)."},
			"surface": obj{"type": "string", "description": "The surface the decision is for: v1, ckan, openedx, …"},
			"visible": ref("Decision"), "edit": ref("Decision"),
			"fields": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
				"field": obj{"type": "string"}, "read": ref("Decision"), "write": ref("Decision")}}}}},
		"ProjectAccess": obj{"type": "object", "description": "What the caller may do in a project, right by right, and why.", "properties": obj{
			"project_id": obj{"type": "integer"}, "caller": obj{"type": "string"}, "member": obj{"type": "boolean"},
			"role": obj{"type": "string"}, "dag": obj{"type": "string"}, "token": obj{"type": "boolean"},
			"sees_dags": obj{"type": "string", "description": "all, or the one DAG the caller sees."},
			"rights": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
				"right": obj{"type": "string"}, "value": obj{"type": "integer"}, "decision": ref("Decision")}}}}},
		"Policy": obj{"type": "object", "description": "The stored policy every replica decides by.", "properties": obj{
			"version": obj{"type": "integer", "description": "Grows with every change."},
			"settings": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
				"name":  obj{"type": "string", "enum": roster.Settings},
				"value": obj{"description": "The setting's JSON value."}, "version": obj{"type": "integer"},
				"updated_at": obj{"type": "string", "format": "date-time"}, "updated_by": obj{"type": "string"}}}}}},
		"Message": obj{"type": "object", "description": "A message of the outbox. Messages are written in the transaction of the change they tell of, and delivered by the mail workers.", "properties": obj{
			"id": obj{"type": "integer"}, "message_id": obj{"type": "string", "description": "The Message-ID header, the same on every attempt."},
			"kind":       obj{"type": "string", "enum": []string{roster.MessageEmailConfirm, roster.MessageEmailChangedOld, roster.MessageEmailChangedNew}},
			"account_id": obj{"type": "integer", "description": "The account it is about."},
			"to":         obj{"type": "string"}, "subject": obj{"type": "string"},
			"state":      obj{"type": "string", "enum": []string{"pending", "sent", "failed", "expired"}},
			"attempts":   obj{"type": "integer", "description": "Leases taken to deliver it."},
			"created_at": timeOrNull, "next_attempt_at": timeOrNull, "expires_at": timeOrNull,
			"sent_at":     obj{"type": []string{"string", "null"}, "format": "date-time", "description": "When the mail server accepted it, or it was given up."},
			"lease_owner": obj{"type": "string", "description": "The worker that last leased it, while it is pending."},
			"lease_until": timeOrNull, "last_error": obj{"type": "string"},
			"body": obj{"type": "string", "description": "Only when one message is read; empty once it is sent, refused or expired. It may hold a confirmation link."}}},
		"Session": obj{"type": "object", "properties": obj{
			"csrf_token": obj{"type": "string", "description": "Send in X-CSRF-Token on unsafe requests of this session."},
			"expires_at": timeOrNull, "account": ref("Account")}},
	}
	accountOK := merge(resp("The account.", ref("Account")), obj{"headers": obj{"ETag": obj{"schema": obj{"type": "string"},
		"description": "The account's version, \"7\" (\"7-shared\" for view=shared): send it back in If-Match."}}})
	paths := obj{
		"/v1/openapi.json": obj{"get": op("This document.", "", obj{"200": resp("OpenAPI 3.1 document.", obj{"type": "object"})}, obj{"security": []any{}})},
		"/v1/schema":       obj{"get": op("The profile schema: every attribute with its type, validation, read level, write rule and dialect names.", "", merge(obj{"200": resp("The schema.", obj{"type": "object"})}, errs("401")))},
		"/v1/session": obj{
			"post": op("Sign in with a username (or email) and password.", "Sets the roster_session cookie, and the roster_device cookie that marks the browser as one the account signed in from. "+
				"Repeated failures are slowed down (429) per account and address, per address, per account for browsers without its device cookie, and per device.",
				merge(obj{"201": resp("Signed in.", ref("Session"))}, errs("400", "401", "429")),
				obj{"security": []any{}, "requestBody": jsonBody(obj{"type": "object", "required": []string{"password"}, "properties": obj{
					"login": obj{"type": "string"}, "username": obj{"type": "string"}, "password": obj{"type": "string"}}})}),
			"get":    op("The signed-in account and the session's CSRF token.", "", merge(obj{"200": resp("The session.", ref("Session"))}, errs("401"))),
			"delete": op("Sign out.", "", merge(obj{"204": resp("Signed out.", nil)}, errs("403")), obj{"security": []any{}}),
		},
		"/v1/me": obj{
			"get": op("Your own account.", "", merge(obj{"200": accountOK}, errs("401")), obj{"parameters": []any{qparam("view", "string", "shared: show what others see.")}}),
			"patch": op("Change your own account (merge patch).", "", merge(obj{"200": accountOK}, errs("400", "401", "403", "409", "412")),
				obj{"requestBody": jsonBody(ref("AccountWrite")), "parameters": []any{pIfMatch}}),
		},
		"/v1/users": obj{
			"get": op("List accounts.", "Filtered, sorted and paged (keyset cursor, or offset). Non-staff callers may not filter or sort on attributes they can never see of others; "+
				"a search, filter or order on an attribute visible in some accounts only matches and orders by it in those (elsewhere it sorts as empty).",
				merge(obj{"200": resp("A page of accounts.", ref("UserList"))}, errs("400", "401", "403")),
				obj{"parameters": []any{
					qparam("q", "string", "Case-insensitive substring of username, name or email, each where you may read it."),
					qparam("ATTRIBUTE.LOOKUP", "string", "Filter by an attribute: ATTRIBUTE=V (exact) or ATTRIBUTE.LOOKUP=V, e.g. country.in=NO,SE, created.gte=2025-01-01T00:00:00Z, city.icontains=os. "+
						"Each attribute's schema entry (GET /v1/schema, filter) lists the lookups it takes: exact, iexact, startswith, istartswith, endswith, iendswith, icontains, gt, gte, lt, lte, in (comma-separated), range (two values), isnull (true/false). "+
						"A filter matches only accounts whose value you may read; one on an attribute you can read of no account is refused (403)."),
					qparam("username", "string", "Usernames, comma-separated or repeated (username.in)."),
					qparam("email", "string", "Emails (email.in): matches only accounts whose email you may read."),
					qparam("state", "string", "active, pending, deactivated, deleted or any (staff only; default: all but deleted)."),
					qparam("sysadmin", "boolean", "sysadmin=V (staff only)."), qparam("staff", "boolean", "staff=V (staff only)."),
					qparam("capability", "string", "Holders of a capability (staff only)."),
					qparam("created_after", "string", "RFC 3339 (created.gt)."), qparam("created_before", "string", "RFC 3339 (created.lt)."),
					qparam("sort", "string", "display_name, or an attribute whose schema entry declares sort (id, username, name, email, created, last_login, …); prefix - for descending. Accounts whose value you may not read sort as if it were empty."),
					qparam("limit", "integer", "1 to 1000, default 50."), qparam("cursor", "string", "next_cursor of the previous page."),
					qparam("offset", "integer", "Rows to skip (without a cursor)."), qparam("total", "boolean", "Count every match."),
					qparam("view", "string", "shared: show what others see."),
				}}),
			"post": op("Create an account (system administrators).", "", merge(obj{"201": resp("Created.", ref("Account"))}, errs("400", "401", "403", "409")),
				obj{"requestBody": jsonBody(merge(obj{"required": []string{"username", "email"}}, ref("AccountWrite")))}),
		},
		"/v1/users/{ref}": obj{
			"parameters": []any{pRef},
			"get":        op("One account.", "", merge(obj{"200": accountOK}, errs("401", "404")), obj{"parameters": []any{qparam("view", "string", "shared: show what others see.")}}),
			"patch": op("Change an account (merge patch).", "Owners change the attributes whose write rule is self; system administrators any writable one. One refused attribute refuses the whole patch. "+
				"Concurrent changes of one account are applied one after the other; send If-Match to apply yours only to the version you read.",
				merge(obj{"200": accountOK}, errs("400", "401", "403", "404", "409", "412")), obj{"requestBody": jsonBody(ref("AccountWrite")), "parameters": []any{pIfMatch}}),
			"delete": op("Delete an account (soft: state deleted; the username and email stay reserved).", "", merge(obj{"200": accountOK}, errs("401", "403", "404", "409", "412")),
				obj{"parameters": []any{pIfMatch}}),
		},
		"/v1/users/{ref}/deactivate": obj{"parameters": []any{pRef}, "post": op("Deactivate an account: it can no longer sign in, and its sessions end.", "",
			merge(obj{"200": accountOK}, errs("401", "403", "404", "409", "412")), obj{"parameters": []any{pIfMatch}})},
		"/v1/users/{ref}/activate": obj{"parameters": []any{pRef}, "post": op("Reactivate an account.", "", merge(obj{"200": accountOK}, errs("401", "403", "404", "412")),
			obj{"parameters": []any{pIfMatch}})},
		"/v1/users/{ref}/password": obj{"parameters": []any{pRef}, "put": op("Set a password.", "Owners give current_password; system administrators need not.",
			merge(obj{"204": resp("Set.", nil)}, errs("400", "401", "403", "404")),
			obj{"requestBody": jsonBody(obj{"type": "object", "required": []string{"password"}, "properties": obj{
				"password": obj{"type": "string", "minLength": 8}, "current_password": obj{"type": "string"}}})})},
		"/v1/users/{ref}/access": obj{"parameters": []any{pRef}, "get": op("What you may read and change of an account, field by field, and the rule behind each answer.",
			"System administrators may ask for another caller (as: an id, UUID or username, or anonymous) and for another surface (surface: v1, ckan, openedx, pybossa, brainstem, redcap, console).",
			merge(obj{"200": resp("The decisions.", ref("AccountAccess"))}, errs("400", "401", "403", "404")),
			obj{"parameters": []any{qparam("as", "string", "Decide for this caller instead (system administrators)."),
				qparam("surface", "string", "Decide for this surface instead (system administrators).")}})},
		"/v1/users/{ref}/keys": obj{
			"parameters": []any{pRef},
			"get":        op("List an account's API keys (never their secrets).", "", merge(obj{"200": resp("Keys.", obj{"type": "object", "properties": obj{"keys": obj{"type": "array", "items": ref("APIKey")}}})}, errs("401", "403", "404"))),
			"post": op("Create an API key. The response carries the key; it is never shown again.", "",
				merge(obj{"201": resp("Created.", ref("APIKey"))}, errs("400", "401", "403", "404")),
				obj{"requestBody": jsonBody(obj{"type": "object", "properties": obj{"label": obj{"type": "string", "maxLength": 100},
					"expires_at": obj{"type": "string", "format": "date-time"}, "read_only": obj{"type": "boolean"}}})}),
		},
		"/v1/keys/{id}": obj{"parameters": []any{pID}, "delete": op("Revoke an API key.", "", merge(obj{"200": resp("Revoked.", ref("APIKey"))}, errs("401", "404")))},
		"/v1/users/{ref}/oauth2-grants": obj{"parameters": []any{pRef},
			"get": op("List an account's live OAuth2 token families (never their tokens). Owners, staff and system administrators.", "",
				merge(obj{"200": resp("Grants.", obj{"type": "object", "properties": obj{"grants": obj{"type": "array", "items": ref("OAuthGrant")}}})}, errs("401", "403", "404")))},
		"/v1/oauth2/grants/{id}": obj{"parameters": []any{pID},
			"delete": op("Revoke an OAuth2 token family: its tokens, JWTs included, stop working on the next request. Its account's owner and system administrators.",
				"Revoking one that is revoked already changes nothing. Audited (oauth2_grant.revoke).",
				merge(obj{"200": resp("Revoked.", ref("OAuthGrant"))}, errs("401", "403", "404")))},
		"/v1/roles": obj{"get": op("Roles and capabilities.", "", merge(obj{"200": resp("Roles.", obj{"type": "object", "properties": obj{"roles": obj{"type": "array", "items": ref("Role")}}})}, errs("401")))},
		"/v1/groups": obj{
			"get": op("List groups.", "", merge(obj{"200": resp("Groups.", obj{"type": "object", "properties": obj{"groups": obj{"type": "array", "items": ref("Group")}}})}, errs("401"))),
			"post": op("Create a group (system and group administrators); the creator becomes an owner.", "",
				merge(obj{"201": resp("Created.", ref("Group"))}, errs("400", "401", "403", "409")),
				obj{"requestBody": jsonBody(obj{"type": "object", "required": []string{"name"}, "properties": obj{"name": obj{"type": "string"}, "description": obj{"type": "string"}}})}),
		},
		"/v1/groups/{id}": obj{
			"parameters": []any{pID},
			"get":        op("A group and its members.", "", merge(obj{"200": resp("The group.", ref("Group"))}, errs("401", "404"))),
			"patch": op("Rename or redescribe a group (its owners, group administrators).", "", merge(obj{"200": resp("The group.", ref("Group"))}, errs("400", "401", "403", "404", "409")),
				obj{"requestBody": jsonBody(obj{"type": "object", "properties": obj{"name": obj{"type": "string"}, "description": obj{"type": "string"}}})}),
			"delete": op("Delete a group.", "", merge(obj{"204": resp("Deleted.", nil)}, errs("401", "403", "404"))),
		},
		"/v1/groups/{id}/members/{ref}": obj{
			"parameters": []any{pID, pRef},
			"put": op("Add a member or change its role.", "", merge(obj{"204": resp("Done.", nil)}, errs("400", "401", "403", "404")),
				obj{"requestBody": merge(jsonBody(obj{"type": "object", "properties": obj{"role": obj{"type": "string", "enum": []string{"owner", "member"}, "default": "member"}}}), obj{"required": false})}),
			"delete": op("Remove a member.", "", merge(obj{"204": resp("Done.", nil)}, errs("401", "403", "404"))),
		},
		"/v1/projects": obj{
			"get": op("List projects: all of them for system and project administrators, else those you are a member of.", "",
				merge(obj{"200": resp("Projects.", obj{"type": "object", "properties": obj{"projects": obj{"type": "array", "items": ref("Project")}}})}, errs("401"))),
			"post": op("Create a project (system administrators and project_admin holders).", "",
				merge(obj{"201": resp("Created; Location names it.", ref("Project"))}, errs("400", "401", "403")),
				obj{"requestBody": jsonBody(obj{"type": "object", "required": []string{"title", "forms"}, "properties": obj{
					"title": obj{"type": "string", "maxLength": 500}, "purpose": obj{"type": "integer", "minimum": 0, "maximum": roster.MaxProjectPurpose, "default": 0},
					"purpose_other": obj{"type": "string"}, "notes": obj{"type": "string"},
					"forms": obj{"type": "array", "minItems": 1, "description": formsInputDesc, "items": obj{"oneOf": []any{
						obj{"type": "string"}, obj{"type": "object", "required": []string{"name"}, "properties": obj{"name": obj{"type": "string"}, "label": obj{"type": "string"}}}}}}}})}),
		},
		"/v1/projects/{id}": obj{"parameters": []any{pProject},
			"get": op("A project you administer or are a member of.", "", merge(obj{"200": resp("The project.", ref("Project"))}, projectErrs("401", "403", "404")))},
		"/v1/projects/{id}/forms": obj{"parameters": []any{pProject},
			"post": op("Add forms to a project (project administrators, members with Project Design and Setup).", "",
				merge(obj{"200": resp("The project.", ref("Project"))}, projectErrs("400", "401", "403", "404")),
				obj{"requestBody": jsonBody(obj{"type": "object", "required": []string{"forms"}, "properties": obj{
					"forms": obj{"type": "array", "minItems": 1, "description": formsInputDesc, "items": obj{"oneOf": []any{
						obj{"type": "string"}, obj{"type": "object", "required": []string{"name"}, "properties": obj{"name": obj{"type": "string"}, "label": obj{"type": "string"}}}}}}}})})},
		"/v1/projects/{id}/members": obj{"parameters": []any{pProject},
			"get": op("A project's members, in the order they were added (User Rights, full or read-only).",
				"Streamed as the members are read. A member confined to a DAG sees that DAG's members only. Should the listing fail after it began, the response ends early, with the JSON unterminated.",
				merge(obj{"200": resp("Members.", obj{"type": "object", "properties": obj{"members": obj{"type": "array", "items": ref("Member")}}})}, projectErrs("401", "403", "404")))},
		"/v1/projects/{id}/members/{username}": obj{"parameters": []any{pProject, pUsername},
			"get": op("One member, with the DAGs it may switch among (User Rights, full or read-only).", "A member confined to a DAG finds only that DAG's members.",
				merge(obj{"200": resp("The member.", ref("Member"))}, projectErrs("401", "403", "404"))),
			"put": op("Add a member, or change the rights sent (full User Rights).", "REDCap's Import Users for one user. Every bad value is listed, one per line of the message.",
				merge(obj{"200": resp("The member.", ref("Member")), "204": resp("Done; the member is outside your DAG, so not shown.", nil)},
					projectErrs("400", "401", "403", "404", "409")),
				obj{"requestBody": merge(jsonBody(ref("MemberWrite")), obj{"required": false})}),
			"delete": op("Remove a member and its API token (full User Rights).", "", merge(obj{"204": resp("Removed.", nil)}, projectErrs("401", "403", "404"))),
		},
		"/v1/projects/{id}/members/{username}/token": obj{"parameters": []any{pProject, pUsername},
			"post": op("Issue the member a project API token, replacing any it had. The response carries the token; it is never shown again.",
				"Project administrators may, and members with API Export or API Import/Update for their own token.",
				merge(obj{"201": resp("Issued.", ref("ProjectToken"))}, projectErrs("401", "403", "404"),
					obj{"409": resp("The member has no active account to act as.", ref("Error"))})),
			"delete": op("Revoke the member's project API token.", "", merge(obj{"204": resp("Revoked.", nil)}, projectErrs("401", "403", "404"))),
		},
		"/v1/projects/{id}/roles": obj{"parameters": []any{pProject},
			"get": op("A project's user roles, oldest first (User Rights, full or read-only).", "",
				merge(obj{"200": resp("Roles.", obj{"type": "object", "properties": obj{"roles": obj{"type": "array", "items": ref("ProjectRole")}}})}, projectErrs("401", "403", "404")))},
		"/v1/projects/{id}/dags": obj{"parameters": []any{pProject},
			"get": op("A project's data access groups, by label (Data Access Groups right, and not confined to a DAG).", "",
				merge(obj{"200": resp("DAGs.", obj{"type": "object", "properties": obj{"dags": obj{"type": "array", "items": ref("DAG")}}})}, projectErrs("401", "403", "404")))},
		"/v1/projects/{id}/access": obj{"parameters": []any{pProject},
			"get": op("What you may do in a project, right by right, and why.", "", merge(obj{"200": resp("The decisions.", ref("ProjectAccess"))}, projectErrs("400", "401", "403", "404")),
				obj{"parameters": []any{qparam("as", "string", `Decide for this caller instead: a username, or "anonymous" (system administrators). A caller who is no member gets every right refused.`)}})},
		"/v1/policy": obj{"get": op("The stored policy: the operator's schema extension, the default privacy, the parental-consent age and surface restrictions (staff).",
			"Every replica and command decides by it; each change is versioned and audited.", merge(obj{"200": resp("The policy.", ref("Policy"))}, errs("401", "403")))},
		"/v1/policy/{name}": obj{"parameters": []any{obj{"name": "name", "in": "path", "required": true, "schema": obj{"type": "string", "enum": roster.Settings}}},
			"put": op("Set one setting (system administrators).", "The body is the setting's JSON value. The new policy is checked against the stored accounts first: a schema under which a stored value would be invalid, or that drops an attribute accounts hold values of, is refused with the values named, and nothing changes.",
				merge(obj{"200": resp("The policy.", ref("Policy"))}, errs("400", "401", "403")), obj{"requestBody": jsonBody(obj{})}),
			"delete": op("Unset a setting: Roster's default applies again (system administrators).", "", merge(obj{"200": resp("The policy.", ref("Policy"))}, errs("400", "401", "403")))},
		"/v1/audit": obj{"get": op("Read the audit log (staff).", "Entries oldest first. Sequence numbers have no gaps and follow commit order: keep the last seq you saw and ask for after=seq to miss nothing.",
			merge(obj{"200": resp("Entries.", obj{"type": "object", "properties": obj{"entries": obj{"type": "array", "items": ref("AuditEntry")}, "last_seq": obj{"type": "integer"}}})}, errs("400", "401", "403")),
			obj{"parameters": []any{qparam("after", "integer", "Entries after this seq."), qparam("actor", "integer", "Actor account id."),
				qparam("target_type", "string", "account, api_key, group, …"), qparam("target", "integer", "Target id."),
				qparam("action", "string", "e.g. account.update"), qparam("since", "string", "RFC 3339."), qparam("until", "string", "RFC 3339."),
				qparam("limit", "integer", "1 to 1000, default 100.")}})},
		"/v1/outbox": obj{"get": op("List the outbox (system administrators).", "Messages oldest first, without their bodies. Each read is audited (outbox.list, naming the messages listed).",
			merge(obj{"200": resp("Messages.", obj{"type": "object", "properties": obj{"messages": obj{"type": "array", "items": ref("Message")}, "last_id": obj{"type": "integer"}}})}, errs("400", "401", "403")),
			obj{"parameters": []any{qparam("state", "string", "pending, sent, failed or expired."), qparam("after", "integer", "Messages after this id."),
				qparam("limit", "integer", "1 to 1000, default 100.")}})},
		"/v1/oauth2/applications": obj{
			"get": op("List the OAuth2 applications, revoked ones too (system administrators).", "",
				merge(obj{"200": resp("Applications.", obj{"type": "object", "properties": obj{"applications": obj{"type": "array", "items": ref("OAuthApp")}}})}, errs("401", "403"))),
			"post": op("Register an OAuth2 application (system administrators). The answer carries its client_secret; it is never shown again.",
				"Audited (oauth2_app.create), without the secret. Unknown fields are refused, each named.",
				merge(obj{"201": resp("Registered; Location names it.", ref("OAuthApp"))}, errs("400", "401", "403"),
					obj{"409": resp("An application has that client id already.", ref("Error"))}),
				obj{"requestBody": jsonBody(merge(obj{"required": []string{"name", "owner", "grants"}}, ref("OAuthAppWrite")))}),
		},
		"/v1/oauth2/applications/{id}": obj{"parameters": []any{pApp},
			"get": op("One OAuth2 application (system administrators).", "", merge(obj{"200": resp("The application.", ref("OAuthApp"))}, errs("401", "403", "404"))),
			"patch": op("Change an application's name, grants, redirect URIs or scopes (system administrators).",
				"The fields sent replace the application's; client_id, owner and public cannot be changed (400, read_only). Tokens issued keep their scopes until they expire; a grant taken away stops new tokens and refreshes at once. Audited (oauth2_app.update).",
				merge(obj{"200": resp("The application.", ref("OAuthApp"))}, errs("400", "401", "403", "404"),
					obj{"409": resp("The application is revoked.", ref("Error"))}),
				obj{"requestBody": jsonBody(ref("OAuthAppWrite"))}),
			"delete": op("Revoke an application (system administrators): it obtains no more tokens, and every token it obtained stops working on the next request.",
				"Revoking it again changes nothing and answers alike. Audited (oauth2_app.revoke).",
				merge(obj{"200": resp("Revoked.", ref("OAuthApp"))}, errs("401", "403", "404"))),
		},
		"/v1/oauth2/applications/{id}/secret": obj{"parameters": []any{pApp},
			"post": op("Give an application a new client secret (system administrators). The answer carries it; it is never shown again.",
				"The old secret stops working at once; tokens already issued stay valid. Audited (oauth2_app.rotate_secret), with the new secret's prefix only.",
				merge(obj{"200": resp("The application, with its new client_secret.", ref("OAuthApp"))}, errs("401", "403", "404"),
					obj{"409": resp("A public client has no secret, or the application is revoked.", ref("Error"))}))},
		"/v1/oauth2/signing-keys": obj{
			"get": op("List the keys that sign and verify JWTs, oldest first: their public halves only (system administrators).", "",
				merge(obj{"200": resp("Keys.", obj{"type": "object", "properties": obj{"keys": obj{"type": "array", "items": ref("SigningKey")}}})}, errs("401", "403"))),
			"post": op("Rotate the signing keys (system administrators): a new key signs from now on, and the others retire once the tokens they signed have expired.",
				"Audited (signing_key.rotate).", merge(obj{"201": resp("The new key.", ref("SigningKey"))}, errs("401", "403")))},
		"/v1/oauth2/signing-keys/{kid}": obj{"parameters": []any{pKID},
			"delete": op("Retire a signing key now (system administrators), for a key that may have leaked: every token it signed stops working.",
				"Where it was the key signing, the next token is signed by a new one. Retiring a retired key changes nothing. Audited (signing_key.retire).",
				merge(obj{"200": resp("The key, retired.", ref("SigningKey"))}, errs("401", "403", "404")))},
		"/v1/outbox/{id}": obj{"parameters": []any{pID}, "get": op("Read one message of the outbox, with its body while it is pending (system administrators).",
			"Where no mail server is configured, messages wait here: this is how an administrator passes a confirmation link on. Each read is audited (outbox.read).",
			merge(obj{"200": resp("The message.", ref("Message"))}, errs("401", "403", "404")))},
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "Roster API", "version": "1",
			"description": "Roster's own API: the canonical interface its platform dialects (today CKAN/EDX at /api/3/action/, REDCap at POST /api/, PYBOSSA at /admin/users and /account/, and Open edX at /api/user/v1/) translate to. " +
				"Authenticate with an API key (Authorization: Bearer KEY; also Token KEY, a bare key, X-CKAN-API-Key or EDX-API-Key) or a session cookie from POST /v1/session or the sign-in page /account/signin."},
		"servers":  []any{obj{"url": "/"}},
		"security": []any{obj{"bearer": []any{}}, obj{"session": []any{}}},
		"components": obj{
			"securitySchemes": obj{
				"bearer":  obj{"type": "http", "scheme": "bearer", "description": "A Roster API key."},
				"session": obj{"type": "apiKey", "in": "cookie", "name": "roster_session", "description": "Unsafe requests also need X-CSRF-Token."},
			},
			"schemas": schemas,
		},
		"paths": paths,
	}
}

// openapi serves the OpenAPI document. Its Account schema follows the profile schema in
// force, so the document is rebuilt when the policy changes it.
func (h *Handler) openapi(w http.ResponseWriter, r *http.Request) error {
	sch, err := h.dir.Schema(r.Context())
	if err != nil {
		return err
	}
	h.openapiMu.Lock()
	if h.openapiSchema != sch {
		h.openapiJSON, _ = json.MarshalIndent(h.buildOpenAPI(sch), "", " ")
		h.openapiSchema = sch
	}
	doc := h.openapiJSON
	h.openapiMu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
	return nil
}

func (h *Handler) schema(w http.ResponseWriter, r *http.Request) error {
	sch, err := h.dir.Schema(r.Context())
	if err != nil {
		return err
	}
	return ok(w, http.StatusOK, sch)
}
