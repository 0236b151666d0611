package core

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/roster"
)

// Access decisions. One place decides, for a caller and an account, what the caller may
// read and change, field by field, and names the rule behind each answer: records are
// built by it, changes checked by it, lists confined by it (readableWhere), and
// AccountAccess explains it. Surfaces ask; they never decide.

// reader is one caller reading one account under one policy.
type reader struct {
	p        *policy
	actor    roster.Actor
	a        *roster.Account
	asOthers bool // view=shared: as another signed-in user would see it
	surface  roster.SurfacePolicy
	privacy  string   // the owner's effective privacy
	shared   []string // with privacy custom: the attributes shared one by one
	public   []string // unless private: the attributes the owner shows to everyone
	consent  bool     // the owner needs parental consent
	// audiences resolves, once and only when needed, the audiences the caller belongs to
	// toward the account: audience → what makes it so.
	audiences    func() map[string]string
	audienceMemo map[string]string
	resolved     bool
}

// newReader prepares the decisions of actor about account a. aud, when not nil,
// resolves the caller's audiences toward a.
func (s *Service) newReader(p *policy, actor roster.Actor, a *roster.Account, opt roster.ReadOptions, aud func() map[string]string) *reader {
	r := &reader{p: p, actor: actor, a: a, asOthers: opt.AsOthers, surface: p.surface(actor), audiences: aud}
	r.consent = s.requiresParentalConsent(p, a)
	r.privacy = effectivePrivacy(p, a, r.consent)
	if r.privacy == "custom" {
		if v, ok := a.Value(p.schema.Attr("shared_fields")).([]string); ok {
			r.shared = v
		}
	}
	if r.privacy == "all_users" || r.privacy == "custom" {
		if v, ok := a.Value(p.schema.Attr("public_fields")).([]string); ok {
			r.public = v
		}
	}
	return r
}

// effectivePrivacy is the owner's privacy setting, except that accounts that need
// parental consent are always private.
func effectivePrivacy(p *policy, a *roster.Account, consent bool) string {
	if consent {
		return "private"
	}
	v, _ := a.Value(p.schema.Attr("privacy")).(string)
	return v
}

func (r *reader) inAudience(name string) (string, bool) {
	if r.audiences == nil || r.asOthers || r.actor.Anonymous() {
		return "", false
	}
	if !r.resolved {
		r.audienceMemo, r.resolved = r.audiences(), true
	}
	why, ok := r.audienceMemo[name]
	return why, ok
}

// read decides whether the caller may read attr, and by which rule.
func (r *reader) read(attr *roster.Attribute) (bool, roster.Rule) {
	switch {
	case attr.Storage == roster.StoreSecret:
		return false, roster.RuleSecret
	case r.surface.ReadLevel(attr) >= roster.LevelNone:
		return false, roster.RuleNobody
	case slices.Contains(r.surface.Hide, attr.Name):
		return false, roster.RuleSurface
	case r.consent && withheldUnderConsent(attr.Name):
		// Open edX removes the image of a user who needs parental consent, for everyone:
		// the owner and staff see no image either.
		return false, roster.RuleParentalConsent
	}
	if !r.asOthers {
		switch {
		case r.actor.IsSysadmin():
			return true, roster.RuleSysadmin
		case r.actor.IsStaff():
			return true, roster.RuleStaff
		}
	}
	level := r.surface.ReadLevel(attr)
	if level == roster.LevelPublic {
		return true, roster.RulePublic
	}
	if !r.asOthers && r.actor.Is(r.a.ID) && level <= roster.LevelSelf {
		return true, roster.RuleSelf
	}
	if (level == roster.LevelShared || level == roster.LevelCustom) && slices.Contains(r.public, attr.Name) {
		return true, roster.RulePublicShared
	}
	signedIn := !r.actor.Anonymous() || r.asOthers
	if signedIn {
		switch level {
		case roster.LevelSignedIn:
			return true, roster.RuleSignedIn
		case roster.LevelShared:
			if r.privacy == "all_users" {
				return true, roster.RulePrivacyAllUsers
			}
			fallthrough
		case roster.LevelCustom:
			if r.privacy == "custom" && slices.Contains(r.shared, attr.Name) {
				return true, roster.RulePrivacyCustom
			}
		}
	}
	for _, au := range attr.Audiences {
		if _, ok := r.inAudience(au); ok {
			return true, roster.RuleAudience
		}
	}
	switch {
	case level == roster.LevelStaff:
		return false, roster.RuleStaffOnly
	case level == roster.LevelSelf:
		return false, roster.RuleSelfOnly
	case !signedIn:
		return false, roster.RuleAnonymous
	case r.consent:
		return false, roster.RuleParentalConsent
	}
	return false, roster.RulePrivacy
}

// explain is read with the rule worded for people.
func (r *reader) explain(attr *roster.Attribute) roster.Decision {
	ok, rule := r.read(attr)
	d := roster.Decision{Allowed: ok, Rule: rule}
	switch rule {
	case roster.RuleSecret:
		d.Detail = "a secret: written, never read"
	case roster.RuleNobody:
		d.Detail = "its read level is none"
	case roster.RuleSurface:
		d.Detail = "the " + r.actor.Via + " surface hides it"
	case roster.RuleSysadmin:
		d.Detail = "system administrators read every attribute"
	case roster.RuleStaff:
		d.Detail = "staff read every attribute"
	case roster.RuleSelf:
		d.Detail = "the owner reads its own " + r.surface.ReadLevel(attr).String() + " attributes"
	case roster.RulePublic:
		d.Detail = "its read level is public"
	case roster.RuleSignedIn:
		d.Detail = "its read level is signed_in"
	case roster.RulePrivacyAllUsers:
		d.Detail = "the owner's privacy is all_users and its read level is shared"
	case roster.RulePrivacyCustom:
		d.Detail = "the owner's privacy is custom and shared_fields lists it"
	case roster.RulePublicShared:
		d.Detail = "the owner shows it to everyone: public_fields lists it"
	case roster.RuleAudience:
		var why []string
		for _, au := range attr.Audiences {
			if w, ok := r.inAudience(au); ok {
				why = append(why, au+": "+w)
			}
		}
		d.Detail = strings.Join(why, "; ")
	case roster.RuleStaffOnly:
		d.Detail = "its read level is staff"
		if attr.Read != roster.LevelStaff {
			d.Detail += " on the " + r.actor.Via + " surface"
		}
	case roster.RuleSelfOnly:
		d.Detail = "its read level is self"
		if attr.Read != roster.LevelSelf {
			d.Detail += " on the " + r.actor.Via + " surface"
		}
	case roster.RuleAnonymous:
		d.Detail = "its read level (" + r.surface.ReadLevel(attr).String() + ") is for signed-in callers"
	case roster.RuleParentalConsent:
		d.Detail = "the owner needs parental consent, so is private to others"
		if withheldUnderConsent(attr.Name) {
			d.Detail = "the owner needs parental consent, so its profile image is withheld from everyone"
		}
	case roster.RulePrivacy:
		d.Detail = fmt.Sprintf("the owner's privacy is %s and its read level is %s", r.privacy, r.surface.ReadLevel(attr))
		if r.privacy == "custom" {
			d.Detail += ", not listed in shared_fields"
		}
	}
	if !ok && len(attr.Audiences) > 0 && rule != roster.RuleSecret && rule != roster.RuleNobody && rule != roster.RuleSurface {
		d.Detail += " (and the caller is not in its audiences: " + strings.Join(attr.Audiences, ", ") + ")"
	}
	return d
}

// withheldUnderConsent names the attributes that show an account's profile image: no
// one reads them while the account needs parental consent.
func withheldUnderConsent(name string) bool {
	return name == attrImageUploaded || name == attrImageName
}

// The attributes of the profile image.
const (
	attrImageUploaded = "profile_image_uploaded_at"
	attrImageName     = "profile_image_name"
)

// editDecision is whether the actor may change the account at all.
func editDecision(p *policy, actor roster.Actor, a *roster.Account) roster.Decision {
	sp := p.surface(actor)
	switch {
	case actor.Anonymous():
		return roster.Decision{Rule: roster.RuleAnonymous, Detail: "changes need a signed-in caller"}
	case actor.ReadOnly:
		return roster.Decision{Rule: roster.RuleReadOnlyKey, Detail: "the caller's API key is read-only"}
	case sp.ReadOnly:
		return roster.Decision{Rule: roster.RuleSurface, Detail: "the " + actor.Via + " surface changes nothing"}
	case sp.OwnAccountOnly && !actor.Is(a.ID):
		return roster.Decision{Rule: roster.RuleSurface, Detail: "the " + actor.Via + " surface changes only the caller's own account"}
	case actor.Is(a.ID):
		return roster.Decision{Allowed: true, Rule: roster.RuleSelf, Detail: "the owner changes its own account"}
	case actor.IsSysadmin():
		return roster.Decision{Allowed: true, Rule: roster.RuleSysadmin, Detail: "system administrators change every account"}
	}
	return roster.Decision{Rule: roster.RuleNotOwner, Detail: "only the owner or a system administrator changes an account"}
}

// writeDecision is whether the actor may change one attribute of the account, given
// that it may change the account (edit).
func writeDecision(p *policy, actor roster.Actor, attr *roster.Attribute, edit roster.Decision, creating bool) roster.Decision {
	sp := p.surface(actor)
	switch {
	case creating && (attr.Name == "uuid" || attr.Name == "created") && actor.IsSysadmin():
		return roster.Decision{Allowed: true, Rule: roster.RuleSysadmin, Detail: "system administrators may set it when creating an account"}
	case attr.Storage == roster.StoreComputed || attr.Write == roster.WriteNone:
		return roster.Decision{Rule: roster.RuleMaintained, Detail: "Roster maintains it"}
	case slices.Contains(sp.Hide, attr.Name):
		return roster.Decision{Rule: roster.RuleSurface, Detail: "the " + actor.Via + " surface hides it"}
	case !edit.Allowed:
		return edit
	case attr.Write == roster.WriteSysadmin && !actor.IsSysadmin():
		return roster.Decision{Rule: roster.RuleSysadminOnly, Detail: "its write rule is sysadmin"}
	case actor.IsSysadmin():
		return roster.Decision{Allowed: true, Rule: roster.RuleSysadmin, Detail: "system administrators change every writable attribute"}
	}
	return roster.Decision{Allowed: true, Rule: roster.RuleSelf, Detail: "the owner changes its attributes whose write rule is self"}
}

// ignored reports whether the surface drops, rather than refuses, a value of attr the
// caller may not change.
func ignored(sp roster.SurfacePolicy, attr *roster.Attribute, d roster.Decision) bool {
	return slices.Contains(sp.Ignore, attr.Name) || d.Rule == roster.RuleMaintained && slices.Contains(sp.Ignore, ignoreMaintained)
}

// record builds what the reader may see of its account.
func (s *Service) record(rd *reader) *roster.Record { return s.recordOf(rd, rd.p.schema.Attrs()) }

// recordOf is record for some attributes only.
func (s *Service) recordOf(rd *reader, attrs []*roster.Attribute) *roster.Record {
	p, a := rd.p, rd.a
	var rec *roster.Record
	if len(attrs) < len(p.schema.Attrs()) {
		rec = roster.NewRecordOf(p.schema, a, attrs)
	} else {
		rec = roster.NewRecord(p.schema, a)
	}
	for _, attr := range attrs {
		if ok, _ := rd.read(attr); !ok {
			continue
		}
		if attr.Storage == roster.StoreComputed {
			rec.SetAttr(attr, s.computed(rd, attr.Name))
			continue
		}
		v := a.Value(attr)
		if attr.Name == "privacy" {
			v = rd.privacy
		}
		rec.SetAttr(attr, v)
	}
	return rec
}

func (s *Service) computed(rd *reader, name string) any {
	switch name {
	case "is_active":
		return rd.a.State == roster.StateActive
	case "deactivated":
		return rd.a.State == roster.StateDeactivated
	case "requires_parental_consent":
		return rd.consent
	case attrImageName:
		if rd.a.Value(rd.p.schema.Attr(attrImageUploaded)) == nil {
			return nil
		}
		return roster.ProfileImageName(rd.p.imageSeed, rd.a.Username)
	}
	return nil
}

// requiresParentalConsent follows Open edX: without a year of birth, or born in or after
// the year that makes the user younger than the age limit this year.
func (s *Service) requiresParentalConsent(p *policy, a *roster.Account) bool {
	if p.consentAge <= 0 {
		return false
	}
	yob, ok := roster.AsInt64(a.Value(p.schema.Attr("year_of_birth")))
	if !ok {
		return true
	}
	age := int64(s.cfg.Now().UTC().Year()) - yob - 1
	return age < int64(p.consentAge)
}

// visibleToReader reports whether the actor may know the account exists at all: deleted
// accounts are known only to staff, and on a surface that hides them (HideDeleted) to
// nobody.
func visibleToReader(p *policy, actor roster.Actor, a *roster.Account) bool {
	return a.State != roster.StateDeleted || actor.IsStaff() && !p.surface(actor).HideDeleted
}

// readableWhere is the condition under which the actor may read attr of an account:
// reader.read written as a condition on stored values, so that the store searches,
// filters and orders only by what the caller may read. It must agree with read for
// every account (TestReadableWhereAgreesWithRecords checks). scope is the caller's
// audiences as places (see audienceScope).
func (s *Service) readableWhere(p *policy, actor roster.Actor, attr *roster.Attribute, scope *audienceScope) roster.Cond {
	if withheldUnderConsent(attr.Name) {
		return roster.And(roster.Negate(s.needsConsentWhere(p)), s.readableByLevel(p, actor, attr, scope))
	}
	return s.readableByLevel(p, actor, attr, scope)
}

// readableByLevel is readableWhere by the attribute's read level and audiences.
func (s *Service) readableByLevel(p *policy, actor roster.Actor, attr *roster.Attribute, scope *audienceScope) roster.Cond {
	sp := p.surface(actor)
	level := sp.ReadLevel(attr)
	if !attr.Readable() || level >= roster.LevelNone || slices.Contains(sp.Hide, attr.Name) {
		return roster.Never{}
	}
	if actor.IsStaff() || level <= roster.LevelPublic {
		return nil
	}
	var self roster.Cond = roster.Never{}
	if actor.AccountID != 0 {
		self = roster.IsAccount{ID: actor.AccountID}
	}
	var audience roster.Cond = roster.Never{}
	if scope != nil && slices.Contains(attr.Audiences, roster.AudienceProjectManagers) {
		audience = scope.cond()
	}
	privacy := p.schema.Attr("privacy")
	isPrivacy := func(v string) roster.Cond { return roster.Match{Attr: privacy, Lookup: roster.Exact, Value: v} }
	// What the owner shows to everyone: its public_fields, unless its privacy is
	// private (or unset) or it needs parental consent.
	shownToAll := roster.And(roster.Negate(s.needsConsentWhere(p)), roster.Or(isPrivacy("all_users"), isPrivacy("custom")),
		roster.Holds{Attr: p.schema.Attr("public_fields"), Value: attr.Name})
	switch {
	case level == roster.LevelSelf:
		return roster.Or(self, audience)
	case level > roster.LevelSelf:
		return audience
	case level == roster.LevelSignedIn && actor.Anonymous():
		return roster.Never{}
	case level == roster.LevelSignedIn:
		return nil
	case actor.Anonymous():
		return shownToAll
	}
	sharedOne := roster.And(isPrivacy("custom"), roster.Holds{Attr: p.schema.Attr("shared_fields"), Value: attr.Name})
	byOwner := sharedOne
	if level == roster.LevelShared {
		byOwner = roster.Or(isPrivacy("all_users"), sharedOne)
	}
	return roster.Or(self, roster.And(roster.Negate(s.needsConsentWhere(p)), byOwner), shownToAll, audience)
}

// needsConsentWhere is requiresParentalConsent as a condition.
func (s *Service) needsConsentWhere(p *policy) roster.Cond {
	if p.consentAge <= 0 {
		return roster.Never{}
	}
	yob := p.schema.Attr("year_of_birth")
	youngest := int64(s.cfg.Now().UTC().Year() - p.consentAge)
	return roster.Or(roster.Match{Attr: yob, Lookup: roster.IsNull, Value: true}, roster.Match{Attr: yob, Lookup: roster.GTE, Value: youngest})
}

// audienceScope is where the caller manages project members: the accounts that are
// members there are the caller's project_managers audience.
type audienceScope struct {
	all    bool                  // a project administrator: every member of any project
	places []roster.ProjectPlace // else these projects (and DAGs)
	why    map[int64]string      // project id → the rule, for explanations
}

func (sc *audienceScope) empty() bool { return sc == nil || !sc.all && len(sc.places) == 0 }

// cond is the scope as a condition on accounts.
func (sc *audienceScope) cond() roster.Cond {
	switch {
	case sc.empty():
		return roster.Never{}
	case sc.all:
		return roster.MemberOf{}
	}
	return roster.MemberOf{Places: sc.places}
}

// holds reports whether an account with these memberships is in the scope, and why.
func (sc *audienceScope) holds(memberships []*roster.ProjectMember) (string, bool) {
	if sc.empty() {
		return "", false
	}
	for _, m := range memberships {
		if sc.all {
			return fmt.Sprintf("the caller administers projects, and the account is a member of project %d", m.ProjectID), true
		}
		for _, pl := range sc.places {
			if pl.ProjectID == m.ProjectID && (pl.DAGID == 0 || pl.DAGID == m.DAGID) {
				return fmt.Sprintf("the caller %s, and the account is a member of project %d", sc.why[pl.ProjectID], m.ProjectID), true
			}
		}
	}
	return "", false
}

// scopeOf finds where the actor manages project members: every project for project
// administrators; else the projects where its rights, by role or its own, include User
// Rights (full or read-only) and have not expired, confined to its DAG when it is in one.
func (s *Service) scopeOf(ctx context.Context, actor roster.Actor) (*audienceScope, error) {
	if actor.Anonymous() || actor.Trusted {
		return nil, nil
	}
	if actor.AdministersProjects() {
		return &audienceScope{all: true}, nil
	}
	ms, err := s.store.ListProjectMemberships(ctx, []string{actor.Username})
	if err != nil {
		return nil, err
	}
	sc := &audienceScope{why: map[int64]string{}}
	today := s.today()
	for _, m := range ms[roster.FoldKey(actor.Username)] {
		if m.Expired(today) || m.Effective().Rights[roster.RightUserRights] == 0 {
			continue
		}
		if actor.Project != nil && actor.Project.ProjectID != m.ProjectID {
			continue // a project token acts in its project only
		}
		sc.places = append(sc.places, roster.ProjectPlace{ProjectID: m.ProjectID, DAGID: m.DAGID})
		sc.why[m.ProjectID] = fmt.Sprintf("holds User Rights in project %d", m.ProjectID)
		if m.DAGID != 0 {
			sc.why[m.ProjectID] += " (in its DAG)"
		}
	}
	return sc, nil
}

// audiencesOf resolves the caller's audiences toward accounts in bulk: one read of their
// memberships, and only when the caller manages any project.
func (s *Service) audiencesOf(ctx context.Context, sc *audienceScope, as []*roster.Account) (map[int64]map[string]string, error) {
	out := map[int64]map[string]string{}
	if sc.empty() || len(as) == 0 {
		return out, nil
	}
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Username
	}
	ms, err := s.store.ListProjectMemberships(ctx, names)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		if why, ok := sc.holds(ms[roster.FoldKey(a.Username)]); ok {
			out[a.ID] = map[string]string{roster.AudienceProjectManagers: why}
		}
	}
	return out, nil
}

// fixedAudiences resolves to the same audiences for every account.
func fixedAudiences(m map[string]string) func() map[string]string {
	return func() map[string]string { return m }
}

// AccountRenderer renders accounts for the caller in ctx as every read does, under the
// policy in force, for a use case that already knows which audiences the caller is in
// toward them (granted: audience → why). The project service does: whoever manages a
// project's members manages their accounts. Only the attributes keep selects are
// rendered, so that a listing of a few allocates for those few. It also returns the
// schema it decides by.
func (s *Service) AccountRenderer(ctx context.Context, granted map[string]string, keep func(*roster.Attribute) bool) (*roster.Schema, func(*roster.Account) *roster.Record, error) {
	p, err := s.policy(ctx)
	if err != nil {
		return nil, nil, err
	}
	actor := roster.ActorFromContext(ctx)
	var attrs []*roster.Attribute
	for _, at := range p.schema.Attrs() {
		if keep(at) {
			attrs = append(attrs, at)
		}
	}
	aud := fixedAudiences(granted)
	return p.schema, func(a *roster.Account) *roster.Record {
		return s.recordOf(s.newReader(p, actor, a, roster.ReadOptions{}, aud), attrs)
	}, nil
}

// AccountAccess answers what the caller in ctx may do with the account ref names, field
// by field, and why. A system administrator may ask on behalf of another caller (as: an
// account reference, or "anonymous") and for another surface, to see what they would
// be allowed.
func (s *Service) AccountAccess(ctx context.Context, ref roster.AccountRef, as, surface string) (*roster.AccountAccess, error) {
	actor := roster.ActorFromContext(ctx)
	if err := checkRefText(ref); err != nil {
		return nil, err
	}
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	caller := actor
	if as != "" || surface != "" {
		if !actor.IsSysadmin() {
			return nil, roster.Errorf(roster.EFORBIDDEN, "Only system administrators may ask on behalf of another caller or surface.")
		}
		if as != "" {
			if caller, err = s.ActorAs(ctx, as); err != nil {
				return nil, err
			}
		}
		caller.Via = actor.Via
		if surface != "" {
			if !slices.Contains(Surfaces, surface) {
				return nil, roster.Invalid(roster.Problem{Field: "surface", Code: roster.PChoice,
					Message: fmt.Sprintf("%q is not a surface (want one of %s).", surface, strings.Join(Surfaces, ", "))})
			}
			caller.Via = surface
		}
	}
	a, err := s.store.GetAccount(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !visibleToReader(p, actor, a) {
		return nil, roster.Errorf(roster.ENOTFOUND, "Account not found.")
	}
	out := &roster.AccountAccess{AccountID: a.ID, UUID: a.UUID, Username: a.Username, Caller: caller.CallerName(), Surface: caller.Via}
	out.Visible = roster.Decision{Allowed: true, Rule: roster.RulePublic, Detail: "every caller may know an account that is not deleted"}
	if a.State == roster.StateDeleted {
		out.Visible = roster.Decision{Allowed: caller.IsStaff(), Rule: roster.RuleNotVisible, Detail: "the account is deleted: only staff know it"}
		if p.surface(caller).HideDeleted {
			out.Visible = roster.Decision{Allowed: false, Rule: roster.RuleSurface, Detail: "the account is deleted: this surface knows it to nobody"}
		}
	}
	scope, err := s.scopeOf(ctx, caller)
	if err != nil {
		return nil, err
	}
	auds, err := s.audiencesOf(ctx, scope, []*roster.Account{a})
	if err != nil {
		return nil, err
	}
	rd := s.newReader(p, caller, a, roster.ReadOptions{}, fixedAudiences(auds[a.ID]))
	out.Edit = editDecision(p, caller, a)
	for _, attr := range p.schema.Attrs() {
		fa := roster.FieldAccess{Field: attr.Name, Read: rd.explain(attr), Write: writeDecision(p, caller, attr, out.Edit, false)}
		if !out.Visible.Allowed {
			fa.Read = out.Visible
		}
		out.Fields = append(out.Fields, fa)
	}
	return out, nil
}

// ActorAs is the caller an account reference (or "anonymous") names, as it would be
// when signed in, for answers given on behalf of another caller.
func (s *Service) ActorAs(ctx context.Context, as string) (roster.Actor, error) {
	if as == "anonymous" {
		return roster.Actor{}, nil
	}
	if err := roster.CheckText("as", as); err != nil {
		return roster.Actor{}, err
	}
	a, err := s.store.GetAccount(ctx, roster.ParseAccountRef(as))
	if err != nil {
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return roster.Actor{}, roster.Invalid(roster.Problem{Field: "as", Code: roster.PUnknown, Message: "No such account."})
		}
		return roster.Actor{}, err
	}
	return ActorOf(a), nil
}
