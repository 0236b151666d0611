package roster

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // the time_zone format knows every zone on machines without zoneinfo
	"unicode/utf8"
)

// Type is the type of an attribute's values.
type Type string

const (
	TypeString Type = "string"   // one line, trimmed
	TypeText   Type = "text"     // free text, kept exactly as given
	TypeBool   Type = "bool"     // true/false (CSV and forms may say 1/0, yes/no)
	TypeInt    Type = "int"      // 64-bit integer
	TypeList   Type = "list"     // list of strings, each checked by Enum or Format
	TypeObject Type = "object"   // a JSON object
	TypeTime   Type = "datetime" // an instant, UTC, microsecond precision
)

// Storage says where an attribute's value lives.
type Storage string

const (
	StoreProfile    Storage = "profile"    // the account's profile document (the default)
	StoreColumn     Storage = "column"     // a field of Account, indexed by the store
	StoreCapability Storage = "capability" // a bool held as a named capability grant
	StoreComputed   Storage = "computed"   // derived by the core from other attributes
	StoreSecret     Storage = "secret"     // a write-only secret; never read, never logged
)

// Level is the least privileged audience that may read an attribute. Readers climb a
// ladder: anyone, anonymous callers too, sees public attributes; every signed-in caller
// sees signed_in ones; signed-in callers see shared ones when the owner's privacy is
// all_users, and custom ones (and shared ones) when the owner shares them one by one;
// the owner sees self and below; staff and sysadmins see everything below none. An
// attribute may also name audiences (Attribute.Audiences) that read it whatever the
// owner's privacy.
type Level int

const (
	LevelPublic Level = iota
	LevelSignedIn
	LevelShared
	LevelCustom
	LevelSelf
	LevelStaff
	LevelNone
)

var levelNames = [...]string{"public", "signed_in", "shared", "custom", "self", "staff", "none"}

// Audiences are the readers an attribute may grant beyond the ladder, by a relationship
// between the caller and the account.
const (
	// AudienceProjectManagers: callers who hold User Rights (full or read-only) in a
	// project the account is a member of (in its DAG, for a manager confined to one),
	// and project administrators. REDCap shows them a member's names and email.
	AudienceProjectManagers = "project_managers"
)

// Audiences lists every audience.
var Audiences = []string{AudienceProjectManagers}

func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a level's name.
func (l *Level) UnmarshalText(b []byte) error {
	for i, n := range levelNames {
		if n == string(b) {
			*l = Level(i)
			return nil
		}
	}
	return fmt.Errorf("unknown read level %q (want one of %s)", b, strings.Join(levelNames[:], ", "))
}

// WriteRule says who may change an attribute.
type WriteRule string

const (
	WriteSelf     WriteRule = "self"     // the owner, and sysadmins
	WriteSysadmin WriteRule = "sysadmin" // sysadmins only
	WriteNone     WriteRule = "none"     // nobody through the API; maintained by Roster
)

// Dialects are the foreign APIs an attribute can be named in.
var Dialects = []string{"ckan", "openedx", "pybossa", "brainstem", "redcap"}

// Attribute declares one account attribute: its type and validation, who may read and
// write it, where it is stored and what each dialect calls it.
type Attribute struct {
	Name        string            `json:"name"`
	Type        Type              `json:"type"`
	Description string            `json:"description,omitempty"`
	Storage     Storage           `json:"storage,omitempty"`
	Read        Level             `json:"read"`
	Write       WriteRule         `json:"write"`
	Required    bool              `json:"required,omitempty"`
	MinLength   int               `json:"minLength,omitempty"`
	MaxLength   int               `json:"maxLength,omitempty"`
	Minimum     *int64            `json:"minimum,omitempty"`
	Maximum     *int64            `json:"maximum,omitempty"`
	Pattern     string            `json:"pattern,omitempty"`
	Enum        []string          `json:"enum,omitempty"`
	Format      string            `json:"format,omitempty"`
	Default     any               `json:"default,omitempty"`
	Names       map[string]string `json:"names,omitempty"`
	// Audiences read the attribute whatever the owner's privacy (see Audiences).
	Audiences []string `json:"audiences,omitempty"`
	// Filter lists the lookups a list may filter the attribute by; Sort, whether it may
	// order by it. A caller's filter or order uses a value only where it may read it.
	Filter []Lookup `json:"filter,omitempty"`
	Sort   bool     `json:"sort,omitempty"`

	pattern *regexp.Regexp
	index   int // position in the schema
}

// WireName is the attribute's name in a dialect, or "" if the dialect does not carry it.
func (a *Attribute) WireName(dialect string) string { return a.Names[dialect] }

// Readable reports whether the attribute can ever be read.
func (a *Attribute) Readable() bool { return a.Read < LevelNone && a.Storage != StoreSecret }

// Schema is the set of account attributes. It is immutable once loaded.
type Schema struct {
	attrs  []*Attribute
	index  map[string]int
	byName map[string]*Attribute
	byWire map[string]map[string]*Attribute // dialect → wire name → attribute
}

//go:embed schema.json
var defaultSchemaJSON []byte

// DefaultSchemaJSON returns the embedded default schema document.
func DefaultSchemaJSON() []byte { return bytes.Clone(defaultSchemaJSON) }

type schemaDoc struct {
	Attributes []*Attribute `json:"attributes"`
}

// LoadSchema returns the default schema extended by the operator's documents. An entry
// whose name is new adds a profile attribute (or a capability). An entry that names an
// existing attribute and gives a type replaces a profile attribute or capability whole.
// An entry that names one without a type overrides only the keys it gives: any key of a
// profile attribute or capability but its storage and type; of a built-in attribute
// (column, computed, secret), which code depends on, only who reads it (read,
// audiences), its names, description, filter and sort, and its write rule if the new
// one is stricter.
func LoadSchema(extensions ...[]byte) (*Schema, error) {
	var base schemaDoc
	if err := strictDecode(defaultSchemaJSON, &base); err != nil {
		return nil, fmt.Errorf("roster: default schema: %w", err)
	}
	attrs := base.Attributes
	for _, a := range attrs {
		if a.Storage == "" {
			a.Storage = StoreProfile
		}
	}
	for i, ext := range extensions {
		var err error
		if attrs, err = extend(attrs, ext); err != nil {
			return nil, fmt.Errorf("schema extension %d: %w", i+1, err)
		}
	}
	return NewSchema(attrs)
}

// overridable are the keys an override of a built-in attribute may give.
var overridable = map[string]bool{"name": true, "read": true, "audiences": true, "names": true, "description": true,
	"filter": true, "sort": true, "write": true}

// extend applies one extension document to attrs (which it does not change) and returns
// the result.
func extend(base []*Attribute, ext []byte) ([]*Attribute, error) {
	var doc struct {
		Attributes []json.RawMessage `json:"attributes"`
	}
	if err := strictDecode(ext, &doc); err != nil {
		return nil, err
	}
	attrs := slices.Clone(base)
	for _, raw := range doc.Attributes {
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keys); err != nil {
			return nil, err
		}
		var a Attribute
		if err := strictDecode(raw, &a); err != nil {
			return nil, err
		}
		j := slices.IndexFunc(attrs, func(b *Attribute) bool { return b.Name == a.Name })
		_, typed := keys["type"]
		switch {
		case j < 0:
			if a.Storage == "" {
				a.Storage = StoreProfile
			}
			if a.Storage != StoreProfile && a.Storage != StoreCapability {
				return nil, fmt.Errorf("attribute %q: storage %q is reserved for built-in attributes; use profile or capability", a.Name, a.Storage)
			}
			attrs = append(attrs, &a)
		case typed:
			old := attrs[j]
			if old.Storage != StoreProfile && old.Storage != StoreCapability {
				return nil, fmt.Errorf("attribute %q is built in: override its read, audiences, names, description, filter, sort or write without giving a type", a.Name)
			}
			if a.Storage == "" {
				a.Storage = StoreProfile
			}
			if a.Storage != old.Storage {
				return nil, fmt.Errorf("attribute %q: its storage is %s and cannot change", a.Name, old.Storage)
			}
			attrs[j] = &a
		default:
			merged, err := override(attrs[j], &a, keys)
			if err != nil {
				return nil, err
			}
			attrs[j] = merged
		}
	}
	return attrs, nil
}

// override returns old with the keys an override gives replaced.
func override(old, o *Attribute, keys map[string]json.RawMessage) (*Attribute, error) {
	builtin := old.Storage != StoreProfile && old.Storage != StoreCapability
	if _, ok := keys["storage"]; ok {
		return nil, fmt.Errorf("attribute %q: its storage cannot change", old.Name)
	}
	n := *old
	for k := range keys {
		if builtin && !overridable[k] {
			return nil, fmt.Errorf("attribute %q is built in: %q cannot be overridden (only read, audiences, names, description, filter, sort and a stricter write)", old.Name, k)
		}
		switch k {
		case "name":
		case "read":
			n.Read = o.Read
		case "audiences":
			n.Audiences = o.Audiences
		case "names":
			n.Names = o.Names
		case "description":
			n.Description = o.Description
		case "filter":
			n.Filter = o.Filter
		case "sort":
			n.Sort = o.Sort
		case "write":
			if builtin && writeRank[o.Write] < writeRank[old.Write] {
				return nil, fmt.Errorf("attribute %q is built in: its write rule may only become stricter than %s", old.Name, old.Write)
			}
			n.Write = o.Write
		case "required":
			n.Required = o.Required
		case "minLength":
			n.MinLength = o.MinLength
		case "maxLength":
			n.MaxLength = o.MaxLength
		case "minimum":
			n.Minimum = o.Minimum
		case "maximum":
			n.Maximum = o.Maximum
		case "pattern":
			n.Pattern = o.Pattern
		case "enum":
			n.Enum = o.Enum
		case "format":
			n.Format = o.Format
		case "default":
			n.Default = o.Default
		default:
			return nil, fmt.Errorf("attribute %q: %q cannot be overridden", old.Name, k)
		}
	}
	return &n, nil
}

// writeRank orders write rules from the most to the least permissive.
var writeRank = map[WriteRule]int{WriteSelf: 0, WriteSysadmin: 1, WriteNone: 2}

// WithDefault returns a copy of the schema in which the named profile attribute has
// another default.
func (s *Schema) WithDefault(name string, v any) (*Schema, error) {
	attrs := make([]*Attribute, len(s.attrs))
	for i, a := range s.attrs {
		c := *a
		if a.Name == name {
			if a.Storage != StoreProfile {
				return nil, fmt.Errorf("attribute %q has no default to change", name)
			}
			c.Default = v
		}
		attrs[i] = &c
	}
	return NewSchema(attrs)
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	return dec.Decode(v)
}

var attrNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// NewSchema checks attribute definitions and builds a schema from them.
func NewSchema(attrs []*Attribute) (*Schema, error) {
	s := &Schema{byName: map[string]*Attribute{}, index: map[string]int{}, byWire: map[string]map[string]*Attribute{}}
	for _, d := range Dialects {
		s.byWire[d] = map[string]*Attribute{}
	}
	for _, a := range attrs {
		if err := a.check(); err != nil {
			return nil, err
		}
		if s.byName[a.Name] != nil {
			return nil, fmt.Errorf("attribute %q: declared twice", a.Name)
		}
		for d, w := range a.Names {
			m, ok := s.byWire[d]
			if !ok {
				return nil, fmt.Errorf("attribute %q: unknown dialect %q (want one of %s)", a.Name, d, strings.Join(Dialects, ", "))
			}
			if w == "" {
				continue
			}
			if other := m[w]; other != nil {
				return nil, fmt.Errorf("attribute %q: %s name %q is already used by %q", a.Name, d, w, other.Name)
			}
			m[w] = a
		}
		a.index = len(s.attrs)
		s.byName[a.Name] = a
		s.index[a.Name] = a.index
		s.attrs = append(s.attrs, a)
	}
	for _, name := range builtinNames {
		if s.byName[name] == nil {
			return nil, fmt.Errorf("built-in attribute %q is missing", name)
		}
	}
	return s, nil
}

// The attributes the code itself reads and writes. Their storage is fixed.
var (
	columnAttrs   = []string{"id", "uuid", "username", "email", "name", "first_name", "last_name", "state", "sysadmin", "staff", "created", "updated", "last_login"}
	computedAttrs = []string{"is_active", "deactivated", "requires_parental_consent", "profile_image_name"}
	secretAttrs   = []string{"password", "apikey"}
	builtinNames  = slices.Concat(columnAttrs, computedAttrs, secretAttrs, []string{"privacy", "shared_fields", "year_of_birth", "profile_image_uploaded_at"})
)

var knownFormats = map[string]bool{"": true, "email": true, "url": true, "country": true, "language": true, "us_state": true, "phone": true, "username": true, "attribute": true, "birth_year": true, "social_links": true, "time_zone": true}

// MinBirthYear is the earliest year the birth_year format accepts; the latest is the
// current year.
const MinBirthYear = 1900

func (a *Attribute) check() error {
	if !attrNameRE.MatchString(a.Name) {
		return fmt.Errorf("attribute %q: names are lower-case letters, digits and underscores, starting with a letter", a.Name)
	}
	if a.Storage == "" {
		a.Storage = StoreProfile
	}
	fixed := func(list []string) bool { return slices.Contains(list, a.Name) }
	switch a.Storage {
	case StoreColumn:
		if !fixed(columnAttrs) {
			return fmt.Errorf("attribute %q: storage column is only for Roster's own columns", a.Name)
		}
	case StoreComputed:
		if !fixed(computedAttrs) {
			return fmt.Errorf("attribute %q: storage computed is only for attributes Roster derives", a.Name)
		}
	case StoreSecret:
		if !fixed(secretAttrs) {
			return fmt.Errorf("attribute %q: storage secret is only for password and apikey", a.Name)
		}
	case StoreCapability:
		if a.Type != TypeBool {
			return fmt.Errorf("attribute %q: a capability is a bool", a.Name)
		}
	case StoreProfile:
		if fixed(columnAttrs) || fixed(computedAttrs) || fixed(secretAttrs) {
			return fmt.Errorf("attribute %q: is built in with another storage", a.Name)
		}
	default:
		return fmt.Errorf("attribute %q: unknown storage %q", a.Name, a.Storage)
	}
	switch a.Type {
	case TypeString, TypeText, TypeBool, TypeInt, TypeList, TypeObject, TypeTime:
	default:
		return fmt.Errorf("attribute %q: unknown type %q", a.Name, a.Type)
	}
	switch a.Write {
	case WriteSelf, WriteSysadmin, WriteNone:
	default:
		return fmt.Errorf("attribute %q: write must be self, sysadmin or none, not %q", a.Name, a.Write)
	}
	if !knownFormats[a.Format] {
		return fmt.Errorf("attribute %q: unknown format %q", a.Name, a.Format)
	}
	if a.Pattern != "" {
		re, err := regexp.Compile(a.Pattern)
		if err != nil {
			return fmt.Errorf("attribute %q: pattern: %w", a.Name, err)
		}
		a.pattern = re
	}
	if a.MaxLength < 0 || a.MinLength < 0 || (a.MaxLength > 0 && a.MinLength > a.MaxLength) {
		return fmt.Errorf("attribute %q: bad length limits", a.Name)
	}
	if a.Default != nil {
		v, p := a.Normalize(a.Default)
		if p != nil {
			return fmt.Errorf("attribute %q: default: %s", a.Name, p.Message)
		}
		a.Default = storedForm(v)
	}
	for _, au := range a.Audiences {
		if !slices.Contains(Audiences, au) {
			return fmt.Errorf("attribute %q: unknown audience %q (want one of %s)", a.Name, au, strings.Join(Audiences, ", "))
		}
	}
	for _, l := range a.Filter {
		if !slices.Contains(LookupsFor(a), l) {
			return fmt.Errorf("attribute %q: %s cannot be filtered by %q (it may be by %s)", a.Name, a.Type, l, lookupList(LookupsFor(a)))
		}
	}
	if a.Sort && len(LookupsFor(a)) == 0 {
		return fmt.Errorf("attribute %q: a %s cannot be sorted by", a.Name, a.Type)
	}
	return nil
}

// LookupsFor lists the lookups the store can apply to an attribute's values.
func LookupsFor(a *Attribute) []Lookup {
	if a.Storage == StoreSecret || a.Storage == StoreComputed {
		return nil
	}
	switch a.Type {
	case TypeString, TypeText:
		return []Lookup{Exact, IExact, StartsWith, IStartsWith, EndsWith, IEndsWith, IContains, In, IsNull}
	case TypeInt, TypeTime:
		return []Lookup{Exact, GT, GTE, LT, LTE, In, Range, IsNull}
	case TypeBool:
		if a.Storage == StoreCapability {
			return []Lookup{Exact}
		}
		return []Lookup{Exact, IsNull}
	}
	return nil
}

func lookupList(ls []Lookup) string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = string(l)
	}
	return strings.Join(out, ", ")
}

// Attrs returns every attribute in declaration order.
func (s *Schema) Attrs() []*Attribute { return s.attrs }

// Attr returns the attribute with the canonical name, or nil.
func (s *Schema) Attr(name string) *Attribute { return s.byName[name] }

// ByWireName returns the attribute a dialect calls wire, or nil.
func (s *Schema) ByWireName(dialect, wire string) *Attribute { return s.byWire[dialect][wire] }

// Capabilities returns the names of the capability attributes.
func (s *Schema) Capabilities() []string {
	var out []string
	for _, a := range s.attrs {
		if a.Storage == StoreCapability {
			out = append(out, a.Name)
		}
	}
	return out
}

// MarshalJSON writes the schema as the document LoadSchema reads.
func (s *Schema) MarshalJSON() ([]byte, error) { return json.Marshal(schemaDoc{Attributes: s.attrs}) }

// Normalize checks a value offered for the attribute and returns its canonical form:
// string, bool, int64, []string, map[string]any, time.Time, or nil for "no value".
// Strings are accepted for every type, since CSV files and HTML forms carry nothing else.
func (a *Attribute) Normalize(v any) (any, *Problem) {
	if v == nil {
		if a.Required {
			return nil, a.problem(PRequired, "This field is required.", nil)
		}
		return nil, nil
	}
	switch a.Type {
	case TypeString, TypeText:
		return a.normalizeString(v)
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(x)) {
			case "true", "1", "yes", "on", "t", "y":
				return true, nil
			case "false", "0", "no", "off", "f", "n":
				return false, nil
			case "":
				return a.empty()
			}
		case json.Number:
			if x == "1" || x == "0" {
				return x == "1", nil
			}
		}
		return nil, a.problem(PType, "Must be true or false.", v)
	case TypeInt:
		n, ok := toInt64(v)
		if !ok {
			if s, isStr := v.(string); isStr && strings.TrimSpace(s) == "" {
				return a.empty()
			}
			return nil, a.problem(PType, "A valid integer is required.", v)
		}
		if a.Minimum != nil && n < *a.Minimum {
			return nil, a.problemLimit(PRange, fmt.Sprintf("Ensure this value is greater than or equal to %d.", *a.Minimum), v, int(*a.Minimum))
		}
		if a.Maximum != nil && n > *a.Maximum {
			return nil, a.problemLimit(PRange, fmt.Sprintf("Ensure this value is less than or equal to %d.", *a.Maximum), v, int(*a.Maximum))
		}
		if a.Format == "birth_year" {
			if this := int64(time.Now().UTC().Year()); n < MinBirthYear || n > this {
				return nil, a.problem(PRange, fmt.Sprintf("Enter a year from %d to %d.", MinBirthYear, this), v)
			}
		}
		return n, nil
	case TypeList:
		return a.normalizeList(v)
	case TypeObject:
		var m map[string]any
		switch x := v.(type) {
		case map[string]any:
			m = x
		case string:
			if strings.TrimSpace(x) == "" {
				return a.empty()
			}
			var err error
			if m, err = UnmarshalProfile([]byte(x)); err != nil {
				return nil, a.problem(PType, "Must be a JSON object.", v)
			}
		default:
			return nil, a.problem(PType, "Must be a JSON object.", v)
		}
		if msg := checkJSONValue(m, 1); msg != "" {
			return nil, a.problem(PFormat, msg, nil)
		}
		if a.Format == "social_links" {
			var p *Problem
			if m, p = a.normalizeSocialLinks(m); p != nil {
				return nil, p
			}
		}
		if b, err := appendJSON(nil, m); err != nil || len(b) > MaxJSONBytes {
			return nil, a.problemLimit(PTooLong, fmt.Sprintf("Ensure this object is no larger than %d bytes of JSON.", MaxJSONBytes), nil, MaxJSONBytes)
		}
		return m, nil
	case TypeTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Truncate(time.Microsecond), nil
		case string:
			if strings.TrimSpace(x) == "" {
				return a.empty()
			}
			t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(x))
			if err == nil {
				return t.UTC().Truncate(time.Microsecond), nil
			}
		}
		return nil, a.problem(PFormat, "Enter a valid date and time (RFC 3339).", v)
	}
	return nil, a.problem(PType, "Unsupported value.", v)
}

func (a *Attribute) empty() (any, *Problem) {
	if a.Required {
		return nil, a.problem(PRequired, "This field is required.", nil)
	}
	return nil, nil
}

func (a *Attribute) normalizeString(v any) (any, *Problem) {
	// Only strings: a number or a boolean sent for text is a client's mistake, and
	// storing its printed form would hide it.
	s, ok := v.(string)
	if !ok {
		return nil, a.problem(PType, "Must be a string.", v)
	}
	if a.Type == TypeString {
		s = strings.TrimSpace(s)
		if strings.ContainsAny(s, "\r\n") {
			return nil, a.problem(PFormat, "Must be a single line.", v)
		}
	}
	if !ValidText(s) {
		return nil, a.problem(PFormat, TextMessage, nil)
	}
	if s == "" {
		if a.Required {
			return nil, a.problem(PRequired, "This field is required.", v)
		}
		if a.Format != "" || len(a.Enum) > 0 {
			return nil, nil // an empty choice is no choice
		}
		return "", nil
	}
	var p *Problem
	if s, p = a.checkFormat(s); p != nil {
		return nil, p
	}
	if len(a.Enum) > 0 && !slices.Contains(a.Enum, s) {
		return nil, a.problem(PChoice, fmt.Sprintf("%q is not a valid choice.", s), s)
	}
	n := utf8.RuneCountInString(s)
	if a.MaxLength > 0 && n > a.MaxLength {
		return nil, a.problemLimit(PTooLong, fmt.Sprintf("Ensure this field has no more than %d characters.", a.MaxLength), s, a.MaxLength)
	}
	if a.MinLength > 0 && n < a.MinLength {
		return nil, a.problemLimit(PTooShort, fmt.Sprintf("Ensure this field has at least %d characters.", a.MinLength), s, a.MinLength)
	}
	if a.pattern != nil && !a.pattern.MatchString(s) {
		return nil, a.problem(PFormat, "Enter a valid value.", s)
	}
	return s, nil
}

var (
	usernameRE = regexp.MustCompile(`^[A-Za-z0-9_.@+-]+$`)
	phoneKeep  = regexp.MustCompile(`[^0-9]`)
)

// checkFormat validates s against the attribute's format and returns its normal form.
func (a *Attribute) checkFormat(s string) (string, *Problem) {
	switch a.Format {
	case "email":
		addr, err := mail.ParseAddress(s)
		if err != nil || addr.Address != s || addr.Name != "" || strings.ContainsAny(s, " \t") || len(s) > 254 {
			return "", a.problem(PFormat, "Enter a valid email address.", s)
		}
	case "url":
		if !strings.Contains(s, "://") {
			s = "http://" + s // as BrainSTEM stores "www.x.org"
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(s, " \t") {
			return "", a.problem(PFormat, "Enter a valid URL.", s)
		}
	case "country":
		if !countryCodes[s] {
			return "", a.problem(PChoice, fmt.Sprintf("%q is not a valid choice.", s), s)
		}
	case "language":
		if !languageCodes[s] {
			return "", a.problem(PChoice, fmt.Sprintf("%q is not a valid choice.", s), s)
		}
	case "us_state":
		if !usStateCodes[s] {
			return "", a.problem(PChoice, fmt.Sprintf("%q is not a valid choice.", s), s)
		}
	case "time_zone":
		if !validTimeZone(s) {
			return "", a.problem(PChoice, fmt.Sprintf("%q is not a valid time zone.", s), s)
		}
	case "phone":
		plus := strings.HasPrefix(s, "+")
		digits := phoneKeep.ReplaceAllString(s, "")
		if digits == "" {
			return "", a.problem(PFormat, "Enter a valid phone number.", s)
		}
		if plus {
			digits = "+" + digits
		}
		s = digits
	case "username":
		switch {
		case !usernameRE.MatchString(s):
			return "", a.problem(PFormat, "Usernames may contain only letters, digits and the symbols _ . @ + -.", s)
		case IsNumericID(s) || strings.Trim(s, "0123456789") == "":
			return "", a.problem(PFormat, "A username cannot be only digits, since numbers name accounts by id.", s)
		case IsUUID(s):
			return "", a.problem(PFormat, "A username cannot have the shape of a UUID, since UUIDs name accounts.", s)
		}
	}
	return s, nil
}

// validTimeZone reports whether name is an IANA time zone name, such as Europe/Paris or
// UTC, that Go's time package can load: from the machine's zoneinfo, or from the copy
// built into Roster (time/tzdata) where the machine has none. It refuses what
// LoadLocation takes without naming a zone ("" and "Local") and anything like a path.
func validTimeZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 255 || strings.Contains(name, "..") || strings.ContainsAny(name, "\\\x00") ||
		strings.HasPrefix(name, "/") {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

func (a *Attribute) normalizeList(v any) (any, *Problem) {
	var items []string
	switch x := v.(type) {
	case []string:
		items = x
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, a.problem(PType, "Must be a list of strings.", v)
			}
			items = append(items, s)
		}
	case string:
		// CSV cells hold either a JSON array or comma-separated values.
		t := strings.TrimSpace(x)
		if strings.HasPrefix(t, "[") {
			if err := json.Unmarshal([]byte(t), &items); err != nil {
				return nil, a.problem(PType, "Must be a list of strings.", v)
			}
		} else if t != "" {
			items = strings.Split(t, ",")
		}
	default:
		return nil, a.problem(PType, "Must be a list of strings.", v)
	}
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		if !ValidText(it) {
			return nil, a.problem(PFormat, TextMessage, nil)
		}
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		it, p := a.checkFormat(it)
		if p != nil {
			return nil, p
		}
		if len(a.Enum) > 0 && !slices.Contains(a.Enum, it) {
			return nil, a.problem(PChoice, fmt.Sprintf("%q is not a valid choice.", it), it)
		}
		if seen[it] {
			return nil, a.problem(PDuplicate, fmt.Sprintf("%q is listed twice.", it), v)
		}
		seen[it] = true
		out = append(out, it)
	}
	if a.MaxLength > 0 && len(out) > a.MaxLength {
		return nil, a.problemLimit(PTooLong, fmt.Sprintf("Ensure this list has no more than %d items.", a.MaxLength), v, a.MaxLength)
	}
	sort.Strings(out)
	return out, nil
}

func (a *Attribute) problem(code, msg string, v any) *Problem {
	return a.problemLimit(code, msg, v, 0)
}

func (a *Attribute) problemLimit(code, msg string, v any, limit int) *Problem {
	p := &Problem{Field: a.Name, Code: code, Message: msg, Limit: limit}
	if a.Storage != StoreSecret {
		p.Value = v
	}
	return p
}

// toInt64 reads an integer from a JSON number, a Go integer or a decimal string.
func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case json.Number:
		n, err := strconv.ParseInt(string(x), 10, 64)
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// AsInt64 reads an integer attribute value as stored or normalized.
func AsInt64(v any) (int64, bool) { return toInt64(v) }

// storedForm converts a normalized value into what the profile document holds.
func storedForm(v any) any {
	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	}
	return v
}
