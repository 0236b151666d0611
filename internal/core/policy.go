package core

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/rosterhq/roster/internal/roster"
)

// policy is what the core decides by, compiled from the settings stored in the database
// as of one version: the profile schema (with the operator's extension and the default
// privacy), the parental-consent age, and each surface's restrictions. Every replica and
// every command reads it from the store, so they all decide alike.
type policy struct {
	version    int64
	schema     *roster.Schema
	consentAge int
	surfaces   map[string]roster.SurfacePolicy
	stored     *roster.StoredPolicy
	// imageSeed is the store's seed of profile image names. It is not policy, and never
	// changes, but records need it wherever the policy is at hand.
	imageSeed string
}

// builtinSurfaces are the platforms' own rules: what each of them allows less than the
// core does everywhere. They are declared once, here; an operator may narrow them
// (SettingSurfaces), never widen them.
var builtinSurfaces = map[string]roster.SurfacePolicy{
	// CKAN checks these roles before it looks at the request, lets only sysadmins filter
	// users by email, and ignores keys a caller may not set where it would refuse others.
	roster.ViaCKAN: {
		Require: map[string]string{"user_metadata": "sysadmin", "user_create": "sysadmin", "user_delete": "sysadmin",
			"filter:email": "sysadmin",
			// CKAN refuses a non-sysadmin's user_patch of a user that does not exist as
			// unauthorized, before it says the user is not found.
			"user_patch_unknown": "sysadmin",
			"user_patch":         "signed_in"},
		Ignore: []string{"sysadmin", "state", "plugin_extras", ignoreMaintained},
		Lists: map[string][]string{
			// The user dict's keys come in CKAN's order; other attributes with a CKAN
			// name follow in schema order.
			"user_dict": {"uuid", "username", "name", "created", "bio", "last_login", "activity_streams_email_notifications",
				"sysadmin", "state", "image_url"},
			// user_update replaces the user dict: these are cleared when not given.
			"user_update": {"name", "bio", "image_url"},
			// EDX's user_metadata "*": the documented columns, in their order.
			"user_metadata": {"state", "username", "uuid", "apikey", "bio", "password", "name", "email", "sysadmin",
				"user_reviewed", "poc", "poc_email", "deactivated", "doe_affiliation", "affiliation_type", "organization",
				"occupation", "phone", "suspension_reason", "suspension_automated", "duid", "orcid"},
		},
	},
	// PYBOSSA's admin pages are for its admins: Roster's system administrators.
	roster.ViaPYBOSSA: {Require: map[string]string{"admin_users": "sysadmin"}},
	// Open edX's accounts API lets a user change only its own account, and changes its
	// email only once the new address is confirmed.
	roster.ViaOpenEdX: {OwnAccountOnly: true, ConfirmEmail: true,
		// Finding accounts by email or by id is for staff.
		Require: map[string]string{"lookup": "staff"},
		// Open edX's id is in the full view only (the account's own, and staff's).
		Read: map[string]roster.Level{"id": roster.LevelSelf}},
	// BrainSTEM's users endpoint: the super portal is its administrators' (Roster's staff
	// and system administrators, Django's is_staff); only system administrators remove
	// users; a removed user is not found there by anyone, administrators included. The
	// admin-only fields, sent by a caller who may not set them, are not fields of that
	// caller's serializer: dropped, as Django REST framework drops unknown keys.
	roster.ViaBrainSTEM: {
		Require:     map[string]string{"super": "staff", "delete": "sysadmin"},
		HideDeleted: true,
		Ignore: []string{"sysadmin", "project_admin", "group_admin", "taxonomies_admin", "resources_admin",
			"attributes_admin", "contact_form_receiver", ignoreMaintained},
	},
}

// ignoreMaintained in SurfacePolicy.Ignore stands for every attribute nobody may change.
const ignoreMaintained = "maintained"

// Surfaces are the names a surface policy may be given for.
var Surfaces = []string{roster.ViaAPI, roster.ViaCKAN, roster.ViaOpenEdX, roster.ViaPYBOSSA, roster.ViaBrainSTEM, roster.ViaREDCap, roster.ViaConsole}

// policyState holds the compiled policy a service last read, and serializes reloads.
type policyState struct {
	cur atomic.Pointer[policy]
	mu  sync.Mutex
}

// policy returns the policy in force. The actor's credential was read with the stored
// policy's version (roster.Actor.PolicyVersion); without one the version is asked for.
// The compiled policy is reloaded when the versions differ.
func (s *Service) policy(ctx context.Context) (*policy, error) {
	v := roster.ActorFromContext(ctx).PolicyVersion
	if v == 0 {
		var err error
		if v, err = s.store.PolicyVersion(ctx); err != nil {
			return nil, err
		}
	}
	return s.policyAt(ctx, v)
}

// policyAt returns the compiled policy of at least version v.
func (s *Service) policyAt(ctx context.Context, v int64) (*policy, error) {
	if cur := s.pol.cur.Load(); cur != nil && cur.version >= v {
		return cur, nil
	}
	s.pol.mu.Lock()
	defer s.pol.mu.Unlock()
	cur := s.pol.cur.Load()
	if cur != nil && cur.version >= v {
		return cur, nil // another request reloaded it meanwhile
	}
	sp, err := s.store.GetPolicy(ctx)
	if err != nil {
		return nil, err
	}
	p, err := compilePolicy(sp)
	if err != nil {
		// A stored policy that no longer compiles (a binary older than the policy, say)
		// must not stop the service: keep deciding by the last one that did.
		if cur != nil {
			s.log.Error("the stored policy does not compile; keeping the previous one", "version", sp.Version, "err", err)
			return cur, nil
		}
		return nil, roster.Internal("core.policy", err)
	}
	if cur != nil {
		p.imageSeed = cur.imageSeed // made once with the store: read once
	} else if p.imageSeed, err = s.store.ProfileImageSeed(ctx); roster.ErrorCode(err) == roster.ENOTFOUND {
		// A store damaged by hand: everything but profile images still works, and
		// 'roster check' names the missing row.
		s.log.Error("the store has no profile image seed (table profile_image_seed): profile images cannot be stored")
	} else if err != nil {
		return nil, err
	}
	s.pol.cur.Store(p)
	return p, nil
}

// errPolicyMoved: the policy changed between a write's decision and its commit.
var errPolicyMoved = errors.New("core: the policy changed during the write")

// fencePolicy ends a transaction that writes account values checked under p: it fails
// with errPolicyMoved when another policy is in force by now. A policy change holds off
// account writes while it checks the stored values (roster.PolicyWriter.LockPolicy), so a
// write either lands before that check, which then sees it, or meets the fence here and
// is decided again: no value checked by a replaced schema lands after the check.
func fencePolicy(ctx context.Context, tx roster.Tx, p *policy) error {
	v, err := tx.PolicyVersion(ctx)
	if err != nil {
		return err
	}
	if v != p.version {
		return errPolicyMoved
	}
	return nil
}

// underPolicy runs a write decided under the policy in force, deciding it again under the
// new one when the policy changes before it commits (fencePolicy).
func (s *Service) underPolicy(ctx context.Context, write func(p *policy) error) error {
	p, err := s.policy(ctx)
	for attempt := 1; err == nil; attempt++ {
		if err = write(p); !errors.Is(err, errPolicyMoved) {
			return err
		}
		if attempt == 3 {
			return roster.Errorf(roster.ECONFLICT, "The policy kept changing during the change; nothing was written. Try again.")
		}
		var v int64
		if v, err = s.store.PolicyVersion(ctx); err == nil {
			p, err = s.policyAt(ctx, v)
		}
	}
	return err
}

// settingError names the stored setting that does not compile.
type settingError struct {
	setting string
	err     error
}

func (e *settingError) Error() string { return e.setting + ": " + e.err.Error() }
func (e *settingError) Unwrap() error { return e.err }

// compilePolicy builds the policy from stored settings.
func compilePolicy(sp *roster.StoredPolicy) (*policy, error) {
	p := &policy{version: sp.Version, stored: sp}
	var exts [][]byte
	if set, ok := sp.Settings[roster.SettingSchema]; ok {
		exts = append(exts, []byte(set.Value))
	}
	sch, err := roster.LoadSchema(exts...)
	if err != nil {
		return nil, &settingError{roster.SettingSchema, err}
	}
	if set, ok := sp.Settings[roster.SettingDefaultPrivacy]; ok {
		var v string
		if err := json.Unmarshal([]byte(set.Value), &v); err != nil {
			return nil, &settingError{roster.SettingDefaultPrivacy, err}
		}
		if sch, err = sch.WithDefault("privacy", v); err != nil {
			return nil, &settingError{roster.SettingDefaultPrivacy, err}
		}
	}
	p.schema = sch
	if set, ok := sp.Settings[roster.SettingParentalConsentAge]; ok {
		if err := json.Unmarshal([]byte(set.Value), &p.consentAge); err != nil {
			return nil, &settingError{roster.SettingParentalConsentAge, err}
		}
	}
	p.surfaces = maps.Clone(builtinSurfaces)
	if set, ok := sp.Settings[roster.SettingSurfaces]; ok {
		var stored map[string]roster.SurfacePolicy
		if err := strictJSON([]byte(set.Value), &stored); err != nil {
			return nil, &settingError{roster.SettingSurfaces, err}
		}
		for name, sp := range stored {
			p.surfaces[name] = narrow(p.surfaces[name], sp)
		}
	}
	return p, nil
}

// narrow applies an operator's restrictions to a surface's built-in policy. Checked
// settings only narrow; narrow keeps the stricter of the two in any case.
func narrow(base, op roster.SurfacePolicy) roster.SurfacePolicy {
	out := base
	out.Require = maps.Clone(base.Require)
	if out.Require == nil {
		out.Require = map[string]string{}
	}
	for action, role := range op.Require {
		if roleRank(role) > roleRank(out.Require[action]) {
			out.Require[action] = role
		}
	}
	out.OwnAccountOnly = base.OwnAccountOnly || op.OwnAccountOnly
	out.ReadOnly = base.ReadOnly || op.ReadOnly
	out.ConfirmEmail = base.ConfirmEmail || op.ConfirmEmail
	out.HideDeleted = base.HideDeleted || op.HideDeleted
	out.Hide = slices.Concat(base.Hide, op.Hide)
	out.Read = maps.Clone(base.Read)
	for name, l := range op.Read {
		if out.Read == nil {
			out.Read = map[string]roster.Level{}
		}
		out.Read[name] = max(out.Read[name], l)
	}
	return out // Ignore and Lists are the platform's: an operator's are refused (checkSurfaces)
}

// roleRank orders surface roles; "" (anyone) is 0.
func roleRank(role string) int { return slices.Index(roster.SurfaceRoles, role) + 1 }

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("more than one JSON value")
	}
	return nil
}

// builtin is the embedded schema: the built-in attributes' storage and type, which no
// policy changes, for code that only compares their values (email, sysadmin).
var builtin = func() *roster.Schema {
	s, err := roster.LoadSchema()
	if err != nil {
		panic(err)
	}
	return s
}()

func emailAttr() (*roster.Attribute, error) { return builtin.Attr("email"), nil }

// hasAudiences reports whether any attribute grants an audience.
func (p *policy) hasAudiences() bool {
	for _, a := range p.schema.Attrs() {
		if len(a.Audiences) > 0 {
			return true
		}
	}
	return false
}

// SurfaceList returns a list of attributes the caller's surface defines (see
// roster.SurfacePolicy.Lists), leaving out those the schema no longer has.
func (s *Service) SurfaceList(ctx context.Context, name string) ([]*roster.Attribute, error) {
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	var out []*roster.Attribute
	for _, n := range p.surface(roster.ActorFromContext(ctx)).Lists[name] {
		if a := p.schema.Attr(n); a != nil {
			out = append(out, a)
		}
	}
	return out, nil
}

// surface is the policy of the surface the actor came through.
func (p *policy) surface(actor roster.Actor) roster.SurfacePolicy { return p.surfaces[actor.Via] }

// Schema returns the profile schema in force.
func (s *Service) Schema(ctx context.Context) (*roster.Schema, error) {
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	return p.schema, nil
}

// GetPolicy returns the stored settings. Staff and system administrators may.
func (s *Service) GetPolicy(ctx context.Context) (*roster.PolicyView, error) {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, false); err != nil {
		return nil, err
	}
	if !actor.IsStaff() {
		return nil, roster.Errorf(roster.EFORBIDDEN, "Only staff may read the policy.")
	}
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	out := &roster.PolicyView{Version: p.version}
	for _, name := range roster.Settings {
		if set, ok := p.stored.Settings[name]; ok {
			out.Settings = append(out.Settings, set)
		}
	}
	return out, nil
}

// SetPolicy stores a setting ("" unsets it, back to Roster's default), as the next
// version, audited. Only system administrators may. The new policy is compiled and
// checked against the stored accounts first: a schema under which a stored value would
// be invalid, or that drops an attribute accounts hold values of, is refused with the
// accounts and values named, and nothing changes.
func (s *Service) SetPolicy(ctx context.Context, name, value string) (*roster.PolicyView, error) {
	if _, err := s.setPolicy(ctx, name, value, false); err != nil {
		return nil, err
	}
	return s.GetPolicy(roster.NewContextWithActor(ctx, roster.Actor{Trusted: true}))
}

// setPolicy stores a setting, or with ifAbsent only when the store holds none, deciding
// under the policy's lock so that replicas starting together store one value. It
// returns the setting the store held before.
func (s *Service) setPolicy(ctx context.Context, name, value string, ifAbsent bool) (held *roster.PolicySetting, err error) {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSysadmin(actor, true); err != nil {
		return nil, err
	}
	if !slices.Contains(roster.Settings, name) {
		return nil, roster.Invalid(roster.Problem{Field: "name", Code: roster.PUnknown,
			Message: fmt.Sprintf("%q is not a setting (want one of %s).", name, strings.Join(roster.Settings, ", "))})
	}
	if err := roster.CheckText("value", value); err != nil {
		return nil, err
	}
	value, err = canonicalSetting(name, value)
	if err != nil {
		return nil, err
	}
	err = s.store.InTx(ctx, func(tx roster.Tx) error {
		held = nil
		if err := tx.LockPolicy(ctx); err != nil {
			return err
		}
		cur, err := tx.GetPolicy(ctx)
		if err != nil {
			return err
		}
		if set, ok := cur.Settings[name]; ok {
			held = &set
			if ifAbsent {
				return nil
			}
		}
		old := cur.Settings[name].Value
		if old == value {
			return nil
		}
		next := &roster.StoredPolicy{Version: cur.Version, Settings: maps.Clone(cur.Settings)}
		if value == "" {
			delete(next.Settings, name)
		} else {
			next.Settings[name] = roster.PolicySetting{Name: name, Value: value}
		}
		np, err := compilePolicy(next)
		if err != nil {
			var se *settingError
			if errors.As(err, &se) {
				err = se.err // the problem names the setting already
			}
			return roster.Invalid(roster.Problem{Field: name, Code: roster.PFormat, Message: err.Error()})
		}
		prev, err := compilePolicy(cur)
		if err != nil {
			prev = nil // a broken stored policy may always be replaced
		}
		if err := s.checkPolicy(ctx, tx, name, prev, np, next.Settings[name].Value); err != nil {
			return err
		}
		now := s.now()
		by := actor.Username
		if by == "" {
			by = "(operator)"
		}
		if _, err := tx.SetPolicy(ctx, []roster.PolicySetting{{Name: name, Value: value, UpdatedAt: now, UpdatedBy: by}}); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "policy.update", "policy", 0, name,
			[]roster.Change{{Field: name, Old: settingValue(old), New: settingValue(value)}}))
	})
	return held, err
}

// canonicalSetting checks a setting's value is JSON of the right shape and writes it
// compactly, so that equal values compare equal.
func canonicalSetting(name, value string) (string, error) {
	if strings.TrimSpace(value) == "" {
		return "", nil
	}
	bad := func(msg string) (string, error) {
		return "", roster.Invalid(roster.Problem{Field: name, Code: roster.PFormat, Message: msg})
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return bad("The value must be one JSON value.")
	}
	switch name {
	case roster.SettingSchema:
		if _, ok := v.(map[string]any); !ok {
			return bad(`The schema extension is a JSON object: {"attributes": [...]}.`)
		}
	case roster.SettingDefaultPrivacy:
		if _, ok := v.(string); !ok {
			return bad(`The default privacy is a JSON string: "private", "all_users" or "custom".`)
		}
	case roster.SettingParentalConsentAge:
		n, ok := v.(json.Number)
		age, err := strconv.Atoi(string(n))
		if !ok || err != nil || age < 0 || age > 120 {
			return bad("The parental-consent age is a whole number from 0 (off) to 120.")
		}
	case roster.SettingSurfaces:
		if _, ok := v.(map[string]any); !ok {
			return bad(`Surface restrictions are a JSON object: {"SURFACE": {...}}.`)
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(value)); err != nil {
		return bad("The value must be one JSON value.")
	}
	return b.String(), nil
}

// settingValue is a setting's value for the audit log: the decoded JSON, or nil.
func settingValue(v string) any {
	if v == "" {
		return nil
	}
	var out any
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	if dec.Decode(&out) != nil {
		return v
	}
	return out
}

// maxPolicyProblems caps the problems a refused policy change lists.
const maxPolicyProblems = 20

// checkPolicy checks a new policy against the old one and the stored accounts.
func (s *Service) checkPolicy(ctx context.Context, tx roster.Tx, name string, prev, next *policy, value string) error {
	switch name {
	case roster.SettingDefaultPrivacy:
		var v string
		_ = json.Unmarshal([]byte(value), &v)
		if value != "" {
			if _, pr := next.schema.Normalize(next.schema.Attr("privacy"), v); pr != nil {
				return roster.Invalid(roster.Problem{Field: name, Code: roster.PChoice, Message: pr.Message})
			}
		}
		return nil
	case roster.SettingSurfaces:
		return checkSurfaces(value)
	case roster.SettingSchema:
		return s.checkSchemaAgainstAccounts(ctx, tx, prev, next)
	}
	return nil
}

// checkSurfaces refuses surface restrictions that name an unknown surface, action role
// or attribute, or that would widen what a surface allows.
func checkSurfaces(value string) error {
	if value == "" {
		return nil
	}
	var stored map[string]roster.SurfacePolicy
	if err := strictJSON([]byte(value), &stored); err != nil {
		return roster.Invalid(roster.Problem{Field: roster.SettingSurfaces, Code: roster.PFormat, Message: "Surface restrictions: " + err.Error()})
	}
	var ps []roster.Problem
	bad := func(msg string) {
		ps = append(ps, roster.Problem{Field: roster.SettingSurfaces, Code: roster.PChoice, Message: msg})
	}
	names := slices.Sorted(maps.Keys(stored))
	for _, name := range names {
		sp := stored[name]
		if !slices.Contains(Surfaces, name) {
			bad(fmt.Sprintf("%q is not a surface (want one of %s).", name, strings.Join(Surfaces, ", ")))
			continue
		}
		if len(sp.Ignore) > 0 || len(sp.Lists) > 0 {
			bad(fmt.Sprintf("%s: ignore and lists are a platform's own and cannot be set.", name))
		}
		for action, role := range sp.Require {
			if roleRank(role) == 0 {
				bad(fmt.Sprintf("%s: require %s: %q is not a role (want one of %s).", name, action, role, strings.Join(roster.SurfaceRoles, ", ")))
			} else if built := builtinSurfaces[name].Require[action]; roleRank(role) < roleRank(built) {
				bad(fmt.Sprintf("%s: require %s: %s would widen the platform's own rule (%s).", name, action, role, built))
			}
		}
	}
	if len(ps) > 0 {
		return roster.Invalid(ps...)
	}
	return nil
}

// checkSchemaAgainstAccounts refuses a schema under which stored values would be invalid
// or orphaned: every attribute whose definition changes is checked against every
// account's stored value.
func (s *Service) checkSchemaAgainstAccounts(ctx context.Context, tx roster.Tx, prev, next *policy) error {
	type check struct {
		old, new *roster.Attribute
	}
	var checks []check
	if prev != nil {
		for _, old := range prev.schema.Attrs() {
			n := next.schema.Attr(old.Name)
			if n == nil && (old.Storage == roster.StoreProfile || old.Storage == roster.StoreCapability) {
				checks = append(checks, check{old, nil})
				continue
			}
			if n != nil && n.Storage == roster.StoreProfile && !sameDefinition(old, n) {
				checks = append(checks, check{old, n})
			}
		}
	}
	if len(checks) == 0 {
		return nil
	}
	var ps []roster.Problem
	more := 0
	err := tx.StreamAccounts(ctx, roster.AccountSelection{AnyState: true}, func(a *roster.Account) error {
		for _, c := range checks {
			var v any
			switch {
			case c.old.Storage == roster.StoreCapability:
				if a.HasCapability(c.old.Name) {
					v = true
				}
			default:
				v = a.Profile[c.old.Name]
			}
			if v == nil {
				continue
			}
			var msg string
			if c.new == nil {
				msg = fmt.Sprintf("account %s holds a value of %s, which the schema would drop; clear it first", a.Username, c.old.Name)
			} else if _, pr := next.schema.Normalize(c.new, roster.JSONValue(v)); pr != nil {
				msg = fmt.Sprintf("account %s: %s %v: %s", a.Username, c.old.Name, roster.JSONValue(v), pr.Message)
			}
			if msg == "" {
				continue
			}
			if len(ps) >= maxPolicyProblems {
				more++
				continue
			}
			ps = append(ps, roster.Problem{Field: c.old.Name, Code: roster.PFormat, Message: msg})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Field < ps[j].Field })
	e := roster.Invalid(ps...)
	e.Message = fmt.Sprintf("The schema does not fit %d stored values; nothing changed.", len(ps)+more)
	return e
}

// sameDefinition reports whether two attributes check values alike.
func sameDefinition(a, b *roster.Attribute) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// ApplyStartup gives settings at start (from flags and the environment): each is stored
// when the store holds no value for it; where the store holds another, the stored value
// wins, and the returned warnings name both, so that a replica started with stale
// configuration never reverts the others.
func (s *Service) ApplyStartup(ctx context.Context, settings map[string]string) ([]string, error) {
	var warnings []string
	ctx = roster.NewContextWithActor(ctx, roster.Actor{Trusted: true, Username: "startup", Via: roster.ViaSystem,
		RequestID: roster.ActorFromContext(ctx).RequestID})
	for _, name := range roster.Settings {
		value, ok := settings[name]
		if !ok {
			continue
		}
		value, err := canonicalSetting(name, value)
		if err != nil {
			return warnings, fmt.Errorf("%s given at start: %w", name, err)
		}
		if value == "" {
			continue
		}
		sp, err := s.store.GetPolicy(ctx)
		if err != nil {
			return warnings, err
		}
		var stored *roster.PolicySetting
		if set, ok := sp.Settings[name]; ok {
			stored = &set // the common case: no write transaction at every start
		} else if stored, err = s.setPolicy(ctx, name, value, true); err != nil {
			return warnings, fmt.Errorf("%s given at start: %w", name, err)
		}
		if stored != nil && stored.Value != value {
			warnings = append(warnings, fmt.Sprintf("%s given at start (%s) differs from the store's (%s, set by %s at %s, version %d); the store's is in force — change it with 'roster policy set %s'",
				name, abbreviate(value), abbreviate(stored.Value), stored.UpdatedBy, stored.UpdatedAt.Format("2006-01-02T15:04:05Z"), stored.Version, name))
		}
	}
	return warnings, nil
}

func abbreviate(s string) string {
	if len(s) > 80 {
		return s[:77] + "…"
	}
	return s
}
