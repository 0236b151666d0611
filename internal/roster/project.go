package roster

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Projects are research projects in the manner of REDCap: each has instruments (forms),
// members holding a set of rights, user roles whose rights members inherit, data access
// groups (DAGs) that partition who sees whom, and per-member API tokens. REDCap is the
// one platform Roster speaks that has projects, so its vocabulary (right names, value
// ranges, the messages that refuse bad input) is the domain's own.

// Project is one project.
type Project struct {
	ID           int64
	Title        string
	Purpose      int // REDCap's: 0 practice, 1 other, 2 research, 3 quality improvement, 4 operational support
	PurposeOther string
	Notes        string
	Forms        []Form
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Form is one instrument of a project.
type Form struct {
	Name  string // unique in the project: lower-case letters, digits and underscores
	Label string
}

// HasForm reports whether the project has a form of that name.
func (p *Project) HasForm(name string) bool {
	for _, f := range p.Forms {
		if f.Name == name {
			return true
		}
	}
	return false
}

// MaxProjectPurpose is the highest value of Project.Purpose.
const MaxProjectPurpose = 4

// Right is one of a member's project rights, by its position in ProjectRights.
type Right int

// The rights, in the order REDCap exports users' rights. The order is also their
// position in stored rights strings, so new rights are only ever appended.
const (
	RightDesign Right = iota
	RightAlerts
	RightUserRights
	RightDataAccessGroups
	RightReports
	RightStatsAndCharts
	RightManageSurveyParticipants
	RightCalendar
	RightDataImportTool
	RightDataComparisonTool
	RightLogging
	RightEmailLogging
	RightFileRepository
	RightDataQualityCreate
	RightDataQualityExecute
	RightAPIExport
	RightAPIImport
	RightAPIModules
	RightMobileApp
	RightMobileAppDownloadData
	RightRecordCreate
	RightRecordRename
	RightRecordDelete
	RightLockRecordsAllForms
	RightLockRecords
	RightLockRecordsCustomization
	NumRights
)

// RightDef declares a right: its name and the highest value it takes (values run from 0).
type RightDef struct {
	Name  string
	Max   int
	Label string
}

// ProjectRights declares every right, indexed by Right.
var ProjectRights = [NumRights]RightDef{
	RightDesign:                   {"design", 1, "Project Design and Setup"},
	RightAlerts:                   {"alerts", 1, "Alerts & Notifications"},
	RightUserRights:               {"user_rights", 2, "User Rights (0 no access, 1 full access, 2 read only)"},
	RightDataAccessGroups:         {"data_access_groups", 1, "Data Access Groups"},
	RightReports:                  {"reports", 1, "Add/Edit/Organize Reports"},
	RightStatsAndCharts:           {"stats_and_charts", 1, "Stats & Charts"},
	RightManageSurveyParticipants: {"manage_survey_participants", 1, "Survey Distribution Tools"},
	RightCalendar:                 {"calendar", 1, "Calendar"},
	RightDataImportTool:           {"data_import_tool", 1, "Data Import Tool"},
	RightDataComparisonTool:       {"data_comparison_tool", 1, "Data Comparison Tool"},
	RightLogging:                  {"logging", 1, "Logging"},
	RightEmailLogging:             {"email_logging", 1, "Email Logging"},
	RightFileRepository:           {"file_repository", 1, "File Repository"},
	RightDataQualityCreate:        {"data_quality_create", 1, "Data Quality (create/edit rules)"},
	RightDataQualityExecute:       {"data_quality_execute", 1, "Data Quality (execute rules)"},
	RightAPIExport:                {"api_export", 1, "API Export"},
	RightAPIImport:                {"api_import", 1, "API Import/Update"},
	RightAPIModules:               {"api_modules", 1, "API Modules"},
	RightMobileApp:                {"mobile_app", 1, "REDCap Mobile App"},
	RightMobileAppDownloadData:    {"mobile_app_download_data", 1, "Mobile App: download data"},
	RightRecordCreate:             {"record_create", 1, "Create Records"},
	RightRecordRename:             {"record_rename", 1, "Rename Records"},
	RightRecordDelete:             {"record_delete", 1, "Delete Records"},
	RightLockRecordsAllForms:      {"lock_records_all_forms", 1, "Lock/Unlock *Entire* Records"},
	RightLockRecords:              {"lock_records", 2, "Record Locking (0 disabled, 1 lock/unlock, 2 with e-signature)"},
	RightLockRecordsCustomization: {"lock_records_customization", 1, "Record Locking Customization"},
}

var rightsByName = func() map[string]Right {
	m := make(map[string]Right, NumRights)
	for i, d := range ProjectRights {
		m[d.Name] = Right(i)
	}
	return m
}()

// RightByName returns the right of that name.
func RightByName(name string) (Right, bool) {
	r, ok := rightsByName[name]
	return r, ok
}

func (r Right) String() string { return ProjectRights[r].Name }

// Form-level rights. Legacy values: 0 no access, 2 read only, 1 view & edit, 3 edit
// survey responses. REDCap 15.6 added a bitmask: 128 no access, 129 read only, 130 view
// & edit, +8 edit survey responses, +16 delete.
var validFormRights = map[int]bool{0: true, 1: true, 2: true, 3: true, 128: true, 129: true, 130: true, 138: true, 146: true, 154: true}

// ValidFormRight reports whether v is a form-level right.
func ValidFormRight(v int) bool { return validFormRights[v] }

// MaxFormExportRight is the highest export right on a form: 0 no access, 2
// de-identified, 3 remove identifier fields, 1 full data set.
const MaxFormExportRight = 3

// FormRight is a right on one form.
type FormRight struct {
	Form  string
	Value int
}

// Privileges are the rights of a member or role.
type Privileges struct {
	Rights      [NumRights]int
	Forms       []FormRight // form-level rights
	FormsExport []FormRight // export rights
}

// FormValue returns the right on form in rights, 0 when it is not listed.
func FormValue(rights []FormRight, form string) int {
	for _, f := range rights {
		if f.Form == form {
			return f.Value
		}
	}
	return 0
}

// EncodeRights is the stored form of rights: one decimal digit per right, in Right order.
func (p *Privileges) EncodeRights() string {
	var b [NumRights]byte
	for i, v := range p.Rights {
		b[i] = byte('0' + v)
	}
	return string(b[:])
}

// DecodeRights reads EncodeRights' output. Rights added after the string was written read
// as 0.
func (p *Privileges) DecodeRights(s string) {
	for i := range p.Rights {
		p.Rights[i] = 0
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			p.Rights[i] = int(s[i] - '0')
		}
	}
}

// EncodeFormRights writes form rights as REDCap writes them in CSV: "form:right,…".
func EncodeFormRights(rights []FormRight) string {
	var b strings.Builder
	for i, f := range rights {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.Form)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(f.Value))
	}
	return b.String()
}

// DecodeFormRights reads EncodeFormRights' output.
func DecodeFormRights(s string) []FormRight {
	if s == "" {
		return nil
	}
	out := make([]FormRight, 0, strings.Count(s, ",")+1)
	for s != "" {
		var pair string
		pair, s, _ = strings.Cut(s, ",")
		name, val, _ := strings.Cut(pair, ":")
		n, _ := strconv.Atoi(val)
		out = append(out, FormRight{Form: name, Value: n})
	}
	return out
}

// ProjectMember is one user of a project. A member is named by username and need not
// have an account (REDCap lets rights be granted ahead of the account); the account's
// email and names are joined when it has one.
type ProjectMember struct {
	ID         int64
	ProjectID  int64
	Username   string // lower-case
	Expiration string // "" or YYYY-MM-DD: the rights end on that day
	DAGID      int64  // 0: in no DAG, sees every record
	RoleID     int64  // 0: no role; otherwise the role's privileges apply
	Privileges Privileges
	HasToken   bool
	AddedAt    time.Time
	UpdatedAt  time.Time

	// Read-only, joined on read.
	AccountID int64
	// Account is the member's account as stored, joined on read (nil without one). The
	// core renders it into Record for the caller and clears it: no surface sees it.
	Account *Account
	// Record is the member's account as the caller may see it, through the schema's read
	// rules (nil without an account).
	Record    *Record
	Suspended bool // the account exists but is not active
	// RoleName is the role's unique name, Role its privileges, when RoleID ≠ 0.
	RoleName string
	Role     *Privileges
	// DAGName is the DAG's unique name, set by the core on exports.
	DAGName string
	// DAGSwitch are the unique names of the DAGs the member may switch among, "" for no
	// DAG, set by the core when it reads one member (never nil then); nil otherwise.
	DAGSwitch []string
}

// Effective returns the privileges that apply: the role's when the member has one.
func (m *ProjectMember) Effective() *Privileges {
	if m.Role != nil {
		return m.Role
	}
	return &m.Privileges
}

// Expired reports whether the member's rights have ended by the given day.
func (m *ProjectMember) Expired(today string) bool {
	return m.Expiration != "" && m.Expiration <= today
}

// ProjectRole is a named set of privileges members can be assigned to.
type ProjectRole struct {
	ID         int64
	ProjectID  int64
	UniqueName string // U- and ten characters, generated on creation
	Label      string
	Privileges Privileges
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// DAG is a data access group.
type DAG struct {
	ID         int64
	ProjectID  int64
	Label      string
	UniqueName string // derived from the label on every read: see UniqueDAGNames
	CreatedAt  time.Time
}

// UniqueDAGNames derives REDCap's unique group names from the labels, in place, and sorts
// dags by label as REDCap lists them: the name is the label trimmed, stripped of all but
// [0-9A-Za-z_ ], with spaces as underscores, lower-cased, cut to 18 characters and
// without one trailing underscore; an empty result becomes the first ten hex digits of
// the label's MD5; repeats, in label order, get b, c, … appended.
func UniqueDAGNames(dags []*DAG) {
	sortDAGs(dags)
	seen := make(map[string]int, len(dags))
	for _, d := range dags {
		base := dagBaseName(d.Label)
		n := seen[base]
		seen[base] = n + 1
		if n > 0 {
			base += dagSuffix(n)
		}
		d.UniqueName = base
	}
}

func sortDAGs(dags []*DAG) {
	// Insertion sort: projects have few DAGs, and it keeps this file free of sort's import.
	for i := 1; i < len(dags); i++ {
		for j := i; j > 0 && dagLess(dags[j], dags[j-1]); j-- {
			dags[j], dags[j-1] = dags[j-1], dags[j]
		}
	}
}

func dagLess(a, b *DAG) bool {
	la, lb := strings.TrimSpace(a.Label), strings.TrimSpace(b.Label)
	if la != lb {
		return la < lb
	}
	return a.ID < b.ID
}

func dagBaseName(label string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(label) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		case r == ' ':
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 18 {
		s = s[:18]
	}
	s = strings.TrimSuffix(s, "_")
	if s == "" {
		sum := md5.Sum([]byte(label))
		s = hex.EncodeToString(sum[:])[:10]
	}
	return s
}

// dagSuffix is the suffix of the nth repeat: 1 → b, 25 → z, 26 → aa, ….
func dagSuffix(n int) string {
	var out []byte
	for n >= 0 {
		out = append([]byte{byte('a' + n%26)}, out...)
		n = n/26 - 1
	}
	return string(out)
}

// Unique role names: "U-", three digits 1–9 and seven characters of REDCap's alphabet.
const (
	RoleNameDigits   = "123456789"
	RoleNameAlphabet = "34789ACDEFHJKLMNPRTWXY"
)

// ProjectGrant is what a project API token authenticated: the member acting in one
// project. The core reads the member's privileges afresh for each call.
type ProjectGrant struct {
	ProjectID int64
	MemberID  int64
}

// MemberRow is one row of a member import, as the client sent it: raw values by right
// or attribute name, so that the core validates them all.
type MemberRow struct {
	Fields map[string]string
	// Forms and FormsExport are nil when the row does not carry them.
	Forms, FormsExport []RawFormRight
	// Malformed lists the keys whose value had the wrong shape for a REDCap value: a list
	// or object where a single value belongs (any key but forms and forms_export), or a
	// number or boolean for forms or forms_export, which take an object of form rights or
	// REDCap's CSV string. Fields holds each such value as sent, for messages, and the
	// core refuses the row; reading the value as text would make it 0, or "", and clear
	// a right.
	Malformed []string
	// DAGSwitch, when not nil, replaces the DAGs the member may switch among: unique DAG
	// names, "" for no DAG. Only Roster's own API and command line set it, one member at
	// a time (core.PutProjectMember); REDCap has no such column.
	DAGSwitch []string
}

// IsMalformed reports whether the row's value for key had the wrong shape.
func (r *MemberRow) IsMalformed(key string) bool {
	for _, k := range r.Malformed {
		if k == key {
			return true
		}
	}
	return false
}

// RawFormRight is a form right as sent.
type RawFormRight struct {
	Form, Value string
	// Malformed: the value was a list or object; Value holds it as sent.
	Malformed bool
}

// RoleRow is one row of a role import.
type RoleRow = MemberRow

// Mapping is one row of a role-mapping or DAG-mapping import: a username and the unique
// name of a role or DAG, "" for none; HasDAG says whether the row carried a DAG.
type Mapping struct {
	Username string
	Name     string
	DAG      string // role mappings may also assign a DAG
	HasDAG   bool
	// Malformed lists the keys whose value was a list or an object, where one value
	// belongs: the core refuses the row rather than read it as empty.
	Malformed []string
}

// DAGRow is one row of a DAG import.
type DAGRow struct {
	Label      string
	UniqueName string // "" creates a DAG; an existing name renames it
}

// Rows is a stream of import rows, parsed as they are read. Next returns false at the
// end or on error; Err then says which.
type Rows[T any] interface {
	Next() (T, bool)
	Err() error
	// Keys are the keys the first row carried (REDCap checks required columns on it).
	Keys() []string
}

// MemberFilter selects members to stream.
type MemberFilter struct {
	ProjectID int64
	// DAGID, when not 0, keeps members of that DAG only; RoleID of that role.
	DAGID  int64
	RoleID int64
	// ByUsername orders by username; otherwise members come in the order they were added.
	ByUsername bool
}

// ProjectView is what an export needs besides its rows: the project, its DAGs (with
// unique names, sorted by label) and its roles (oldest first).
type ProjectView struct {
	// Schema is the profile schema in force, which names the members' account fields.
	Schema  *Schema
	Project *Project
	DAGs    []*DAG
	Roles   []*ProjectRole
}

// NewProjectToken is a member's new API token, shown this once.
type NewProjectToken struct {
	Token  string
	Member *ProjectMember
}

// SliceRows serves rows held in memory as Rows.
type SliceRows[T any] struct {
	rows []T
	keys []string
	i    int
}

// NewSliceRows returns rows over s; keys are the keys of the first row.
func NewSliceRows[T any](s []T, keys ...string) *SliceRows[T] {
	return &SliceRows[T]{rows: s, keys: keys}
}

func (r *SliceRows[T]) Next() (T, bool) {
	var zero T
	if r.i >= len(r.rows) {
		return zero, false
	}
	r.i++
	return r.rows[r.i-1], true
}

func (r *SliceRows[T]) Err() error     { return nil }
func (r *SliceRows[T]) Keys() []string { return r.keys }

// MemberRowFromJSON reads a member's (or role's) rights from decoded JSON, as Roster's
// own API and command line take them: {"design": 1, "forms": {"form_1": 2}, …}. forms
// and forms_export may also be REDCap's CSV strings, "form_1:2,form_2:1", or PHP's empty
// map, []. Values are kept as text for the core to check; values of the wrong shape are
// listed in Malformed. Form rights are sorted by form for stable messages.
func MemberRowFromJSON(in map[string]any) MemberRow {
	row := MemberRow{Fields: make(map[string]string, len(in))}
	for k, v := range in {
		switch k {
		case "forms", "forms_export":
			var fr []RawFormRight
			switch v := v.(type) {
			case map[string]any:
				fr = make([]RawFormRight, 0, len(v))
				for f, x := range v {
					fr = append(fr, RawFormRight{Form: f, Value: JSONText(x), Malformed: !isJSONScalar(x)})
				}
				sortFormRights(fr)
			case string:
				fr = ParseFormRights(v)
			case nil:
				fr = []RawFormRight{}
			case []any:
				if len(v) == 0 {
					fr = []RawFormRight{}
					break
				}
				row.malformed(k, v)
				continue
			default:
				row.malformed(k, v)
				continue
			}
			if k == "forms" {
				row.Forms = fr
			} else {
				row.FormsExport = fr
			}
		case "dag_switch":
			if row.DAGSwitch = jsonStrings(v); row.DAGSwitch == nil {
				row.malformed(k, v)
			}
		default:
			if !isJSONScalar(v) {
				row.malformed(k, v)
				continue
			}
			row.Fields[k] = JSONText(v)
		}
	}
	return row
}

// malformed records key's value as having the wrong shape, kept as JSON for messages.
func (r *MemberRow) malformed(key string, v any) {
	r.Malformed = append(r.Malformed, key)
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprint(v))
	}
	r.Fields[key] = string(b)
}

// jsonStrings reads a JSON list of strings (null: an empty one); nil when v is anything
// else.
func jsonStrings(v any) []string {
	if v == nil {
		return []string{}
	}
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, len(list))
	for i, x := range list {
		if out[i], ok = x.(string); !ok {
			return nil
		}
	}
	return out
}

func isJSONScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func sortFormRights(fr []RawFormRight) {
	for i := 1; i < len(fr); i++ {
		for j := i; j > 0 && fr[j].Form < fr[j-1].Form; j-- {
			fr[j], fr[j-1] = fr[j-1], fr[j]
		}
	}
}

// ParseFormRights reads REDCap's CSV form of form rights, "form:right,form:right".
func ParseFormRights(s string) []RawFormRight {
	out := []RawFormRight{}
	for _, pair := range strings.Split(s, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, val, _ := strings.Cut(pair, ":")
		out = append(out, RawFormRight{Form: strings.TrimSpace(name), Value: strings.TrimSpace(val)})
	}
	return out
}

// JSONText is a decoded JSON scalar as text: numbers without a fraction as integers,
// booleans as 1 and 0, null as "".
func JSONText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "1"
		}
		return "0"
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	case interface{ String() string }: // json.Number
		return v.String()
	case map[string]any, []any:
		if b, err := json.Marshal(v); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}
