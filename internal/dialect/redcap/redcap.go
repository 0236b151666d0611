// Package redcap serves REDCap's API for project users (POST /api/) over Roster's
// project service, so that PyCap and other REDCap clients work unchanged.
//
// Translation table (content, action → project service):
//
//	version                    → the REDCap version Roster answers as
//	project (export)           ProjectInfo
//	metadata (export)          ProjectInfo → one field per form (see metadata.go)
//	formEventMapping           ProjectInfo → 400: Roster's projects are classic
//	user export|import|delete  ExportProjectUsers | ImportProjectUsers | DeleteProjectUsers
//	userRole …                 ExportProjectRoles | ImportProjectRoles | DeleteProjectRoles
//	userRoleMapping …          ExportRoleMappings | ImportRoleMappings
//	dag export|import|delete   ExportProjectDAGs | ImportProjectDAGs | DeleteProjectDAGs
//	dag switch                 SwitchDAG
//	userDagMapping …           ExportDAGMappings | ImportDAGMappings
//
// The token form field authenticates the member (AuthenticateProjectToken). The project
// service decides what the member may do and checks every value; this package reads and
// writes REDCap's formats and picks REDCap's status for each refusal.
package redcap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/authn"
	"github.com/rosterhq/roster/internal/httpx"
	"github.com/rosterhq/roster/internal/roster"
)

// Version is the REDCap version Roster answers as: the one whose API it follows.
const Version = "15.7.6"

// Directory is what the REDCap dialect needs from the project service.
type Directory interface {
	AuthenticateProjectToken(ctx context.Context, token string, c roster.Client) (roster.Actor, error)
	ProjectInfo(ctx context.Context, id int64) (*roster.Project, error)
	ExportProjectUsers(ctx context.Context, id int64, fn func(*roster.ProjectView, *roster.ProjectMember) error) (*roster.ProjectView, error)
	ImportProjectUsers(ctx context.Context, id int64, rows roster.Rows[roster.MemberRow]) (int, error)
	DeleteProjectUsers(ctx context.Context, id int64, usernames []string) (int, error)
	ExportProjectRoles(ctx context.Context, id int64) (*roster.ProjectView, error)
	ImportProjectRoles(ctx context.Context, id int64, rows roster.Rows[roster.RoleRow]) (int, error)
	DeleteProjectRoles(ctx context.Context, id int64, names []string) (int, error)
	ExportRoleMappings(ctx context.Context, id int64, fn func(*roster.ProjectView, *roster.ProjectMember) error) (*roster.ProjectView, error)
	ImportRoleMappings(ctx context.Context, id int64, rows roster.Rows[roster.Mapping]) (int, error)
	ExportProjectDAGs(ctx context.Context, id int64) ([]*roster.DAG, error)
	ImportProjectDAGs(ctx context.Context, id int64, rows roster.Rows[roster.DAGRow]) (int, error)
	DeleteProjectDAGs(ctx context.Context, id int64, names []string) (int, error)
	SwitchDAG(ctx context.Context, id int64, name string) error
	ExportDAGMappings(ctx context.Context, id int64, fn func(*roster.ProjectView, *roster.ProjectMember) error) (*roster.ProjectView, error)
	ImportDAGMappings(ctx context.Context, id int64, rows roster.Rows[roster.Mapping]) (int, error)
}

// Handler serves REDCap's API.
type Handler struct {
	dir     Directory
	auth    *authn.Authenticator
	tokens  authn.Verifier
	log     *slog.Logger
	surface *httpx.Surface
}

// Options configure the dialect.
type Options struct {
	// MaxImportBytes bounds a request's body: imports arrive whole in one request.
	MaxImportBytes int64
}

// credentials are what REDCap accepts: a project API token, sent as the token form
// field, checked by the dialect's verifier as the body is read (earlyAuth).
var credentials = authn.Policy{Via: roster.ViaREDCap}

// New returns the dialect over dir, authenticating with auth.
func New(dir Directory, auth *authn.Authenticator, log *slog.Logger, opts Options) *Handler {
	h := &Handler{dir: dir, auth: auth, tokens: authn.VerifierFunc(dir.AuthenticateProjectToken), log: log}
	h.surface = &httpx.Surface{Name: roster.ViaREDCap, WriteError: h.surfaceError, BodyLimit: opts.MaxImportBytes,
		Operations: slices.Sorted(maps.Keys(operations))}
	return h
}

// Path is where REDCap's API lives; clients (PyCap) insist on the trailing slash.
const Path = "/api/"

// Surface is the dialect as the router knows it: its name and error format.
func (h *Handler) Surface() *httpx.Surface { return h.surface }

// Register adds the dialect's route to the router.
func (h *Handler) Register(mux *httpx.Router) {
	mux.HandleFunc(h.surface, Path+"{$}", h.serve)
}

// surfaceError writes an error found before the form was read (a body or headers over
// the limit, a panic) in the format the query string asks for, else REDCap's default.
func (h *Handler) surfaceError(w http.ResponseWriter, r *http.Request, err error) {
	q := r.URL.Query()
	h.writeCoreError(&request{w: w, r: r, returnFormat: returnFormatOf(q.Get("format"), q.Get("returnFormat"))}, err)
}

// request is one API call, its form read.
type request struct {
	form         *httpx.Form
	content      string
	action       string
	format       string // json, csv or xml: the format of exports and of sent data
	returnFormat string // json, csv or xml: the format of errors and counts
	project      int64
	w            http.ResponseWriter
	r            *http.Request
	ctx          context.Context
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		rf := returnFormatOf(r.URL.Query().Get("format"), r.URL.Query().Get("returnFormat"))
		writeError(w, rf, http.StatusNotImplemented, "The requested method is not implemented.")
		return
	}
	auth := &earlyAuth{h: h, r: r}
	form, err := httpx.ReadForm(r, httpx.FormOptions{Spool: "data", Field: auth.field})
	if err != nil {
		// Answer in the format asked, if it was asked before the reading stopped.
		req := &request{w: w, r: r, returnFormat: returnFormatOf(auth.format, auth.returnFormat)}
		switch {
		case httpx.IsTooLarge(err):
			writeError(w, req.returnFormat, http.StatusRequestEntityTooLarge, tooLargeMessage(err))
		case roster.ErrorCode(err) != "":
			h.writeCoreError(req, err) // the token, refused before the data was read
		default:
			writeError(w, req.returnFormat, http.StatusBadRequest, "There were errors with your request. If you are sending data, then it might be due to the data being misformatted. ")
		}
		return
	}
	defer form.Close()
	req := &request{form: form, w: w, r: r, content: form.Get("content"), action: form.Get("action")}
	req.format = formatOf(form.Get("format"))
	req.returnFormat = returnFormatOf(req.format, form.Get("returnFormat"))

	actor, err := auth.check(form.Get("token"))
	if err != nil {
		h.writeCoreError(req, err)
		return
	}
	req.project = actor.Project.ProjectID
	req.ctx = roster.NewContextWithActor(r.Context(), actor)

	handle, err := route(req)
	if err != nil {
		h.writeCoreError(req, err)
		return
	}
	if err := handle(h, req); err != nil {
		h.writeCoreError(req, err)
	}
}

// earlyAuth checks the token while the form is being read. REDCap's token is a form field
// like any other, and data (an import, up to ROSTER_MAX_IMPORT_BYTES) may come after it:
// PyCap sends the token first. When a token has been read by the time data begins, it is
// checked then, and a bad one stops the reading, so an anonymous client cannot make the
// server spool data at all. The fields before data are still read (ReadForm bounds them),
// so the refusal comes in the returnFormat asked. Data sent before any token is spooled,
// on disk, within the import limit, and the token checked once the body has been read.
type earlyAuth struct {
	h            *Handler
	r            *http.Request
	format       string
	returnFormat string
	token        string
	hasToken     bool
	// The last check, kept so that a token is checked once.
	checked      bool
	checkedToken string
	actor        roster.Actor
	err          error
}

func (a *earlyAuth) field(name, value string) error {
	switch name {
	case "format":
		a.format = value
	case "returnFormat":
		a.returnFormat = value
	case "token":
		a.token, a.hasToken = value, true
	case "data":
		if a.hasToken {
			_, err := a.check(a.token)
			return err
		}
	}
	return nil
}

// check authenticates token, once: the last token sent is the one that counts, as in
// PHP, so a token sent again after data is checked again.
func (a *earlyAuth) check(token string) (roster.Actor, error) {
	if !a.checked || token != a.checkedToken {
		a.actor, a.err = a.h.authenticate(a.r, token)
		a.checked, a.checkedToken = true, token
	}
	return a.actor, a.err
}

// tooLargeMessage words a refusal at one of the body's limits.
func tooLargeMessage(err error) string {
	switch {
	case errors.Is(err, httpx.ErrTooManyFields):
		return fmt.Sprintf("The request has more than %d fields, more than this server accepts.", httpx.MaxFormFields)
	case errors.Is(err, httpx.ErrFormTooLarge):
		return fmt.Sprintf("The request's fields other than data hold more than %d bytes, more than this server accepts.", httpx.MaxFormBytes)
	case errors.Is(err, httpx.ErrFieldTooLong):
		return fmt.Sprintf("A field of the request other than data is longer than %d bytes, more than this server accepts.", httpx.MaxFieldBytes)
	}
	return "The request is larger than this server accepts."
}

// formatOf is REDCap's reading of format: json, csv or xml (the default; odm, which
// Roster does not produce for users, reads as xml too).
func formatOf(f string) string {
	switch f {
	case "json", "csv":
		return f
	}
	return "xml"
}

// returnFormatOf is returnFormat lower-cased when sent, else format.
func returnFormatOf(format, rf string) string {
	if rf == "" {
		return formatOf(format)
	}
	switch rf = strings.ToLower(rf); rf {
	case "json", "csv":
		return rf
	}
	return "xml"
}

func (h *Handler) authenticate(r *http.Request, token string) (roster.Actor, error) {
	return h.auth.Token(r, credentials, h.tokens, token)
}

type handler func(h *Handler, req *request) error

// REDCap's contents that Roster knows but does not serve: its records, files, surveys
// and the rest belong to REDCap itself.
var otherContents = map[string]bool{
	"record": true, "file": true, "repeatingFormsEvents": true, "instrument": true, "event": true, "arm": true,
	"fieldNames": true, "exportFieldNames": true, "participantList": true, "surveyLink": true, "surveyQueueLink": true,
	"surveyReturnCode": true, "report": true, "pdf": true, "project_settings": true, "generateNextRecordName": true,
	"projectXml": true, "log": true, "fileRepository": true, "appRightsCheck": true, "attachment": true, "mycap": true,
	"tableau": true, "mobileApp": true, "mobileAppFile": true, "dataQuality": true, "instrumentMapping": true,
}

var validActions = map[string]bool{"export": true, "delete": true, "import": true, "switch": true, "list": true, "createFolder": true}

// operations are the calls the dialect serves, by content and action.
var operations = map[string]handler{
	"version/export":          (*Handler).version,
	"project/export":          (*Handler).projectInfo,
	"metadata/export":         (*Handler).metadata,
	"formEventMapping/export": (*Handler).formEventMapping,
	"formEventMapping/import": (*Handler).formEventMapping,
	"user/export":             (*Handler).exportUsers,
	"user/import":             (*Handler).importUsers,
	"user/delete":             (*Handler).deleteUsers,
	"userRole/export":         (*Handler).exportRoles,
	"userRole/import":         (*Handler).importRoles,
	"userRole/delete":         (*Handler).deleteRoles,
	"userRoleMapping/export":  (*Handler).exportRoleMappings,
	"userRoleMapping/import":  (*Handler).importRoleMappings,
	"dag/export":              (*Handler).exportDAGs,
	"dag/import":              (*Handler).importDAGs,
	"dag/delete":              (*Handler).deleteDAGs,
	"dag/switch":              (*Handler).switchDAG,
	"userDagMapping/export":   (*Handler).exportDAGMappings,
	"userDagMapping/import":   (*Handler).importDAGMappings,
}

func badRequest(msg string) error { return &roster.Error{Code: roster.EINVALID, Message: msg} }

// route picks the handler of a call, defaulting the action as REDCap does.
func route(req *request) (handler, error) {
	action, hasData := req.action, req.form.Has("data")
	switch req.content {
	case "version", "dag", "user", "userRole", "userRoleMapping":
		if action == "" {
			action = "export"
		}
	}
	switch req.content {
	case "user", "userRole", "userRoleMapping":
		if hasData && action != "delete" {
			action = "import"
		}
	}
	switch req.content {
	case "dag", "user", "userRole":
		if !validActions[action] {
			return nil, badRequest(`The value of the parameter "action" is not valid`)
		}
	case "userDagMapping", "userRoleMapping", "project", "metadata", "formEventMapping":
		action = "export"
		if hasData {
			action = "import"
		}
	}
	if req.content == "version" {
		action = "export" // REDCap tells its version whatever the action
	}
	req.action = action
	if op, ok := operations[req.content+"/"+action]; ok {
		return op, nil
	}
	switch req.content {
	case "project":
		return nil, badRequest("Roster does not change project settings through the API.")
	case "metadata":
		return nil, badRequest("Roster keeps a project's instruments itself; the data dictionary cannot be imported.")
	case "dag", "user", "userRole":
		return nil, badRequest(`The value of the parameter "action" is not valid`)
	}
	if otherContents[req.content] {
		return nil, badRequest(`Roster serves REDCap's project users, user roles and data access groups only; content "` + req.content + `" is not available on this server.`)
	}
	return nil, badRequest(`The value of the parameter "content" is not valid`)
}

// arrayParam reads a PHP-style array parameter: name[0]=a&name[1]=b (ordered by index)
// or name[]=a&name[]=b (in the order sent). ok is false when it is missing or scalar.
func arrayParam(f *httpx.Form, name string) ([]string, bool) {
	type item struct {
		index int
		order int
		value string
	}
	var items []item
	prefix := name + "["
	for i, k := range f.Keys {
		if !strings.HasPrefix(k, prefix) || !strings.HasSuffix(k, "]") {
			continue
		}
		idx := k[len(prefix) : len(k)-1]
		n, err := strconv.Atoi(idx)
		if err != nil {
			n = -1 // name[] and name[key] keep the order sent
		}
		items = append(items, item{n, i, f.Values[k]})
	}
	if len(items) == 0 {
		return nil, false
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].index >= 0 && items[j].index >= 0 {
			return items[i].index < items[j].index
		}
		return items[i].order < items[j].order
	})
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.value
	}
	return out, true
}

// data returns the data field, for imports.
func (req *request) data() io.Reader {
	rd, ok := req.form.Spooled()
	if !ok {
		return strings.NewReader("")
	}
	return rd
}

func (h *Handler) version(req *request) error {
	writeBody(req.w, http.StatusOK, "csv", []byte(Version))
	return nil
}

// writeCount answers an import or delete with the bare count, in returnFormat.
func writeCount(req *request, n int) error {
	writeBody(req.w, http.StatusOK, req.returnFormat, []byte(strconv.Itoa(n)))
	return nil
}
