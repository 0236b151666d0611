package core

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
	"github.com/rosterhq/roster/internal/secret"
)

// GetAccount returns what the actor in ctx may see of the account ref names.
func (s *Service) GetAccount(ctx context.Context, ref roster.AccountRef, opt roster.ReadOptions) (*roster.Record, error) {
	actor := roster.ActorFromContext(ctx)
	if err := checkRefText(ref); err != nil {
		return nil, err
	}
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	a, err := s.store.GetAccount(ctx, ref)
	if err != nil {
		return nil, err
	}
	if !visibleToReader(p, actor, a) {
		return nil, roster.Errorf(roster.ENOTFOUND, "Account not found.")
	}
	return s.record(s.newReader(p, actor, a, opt, s.lazyAudiences(ctx, actor, a))), nil
}

// lazyAudiences resolves the caller's audiences toward one account when a decision
// first needs them (two reads, for a caller who manages project members). A failure
// counts as no audience: the decision then errs on the side of not showing.
func (s *Service) lazyAudiences(ctx context.Context, actor roster.Actor, a *roster.Account) func() map[string]string {
	return func() map[string]string {
		scope, err := s.scopeOf(ctx, actor)
		if err == nil && !scope.empty() {
			var auds map[int64]map[string]string
			if auds, err = s.audiencesOf(ctx, scope, []*roster.Account{a}); err == nil {
				return auds[a.ID]
			}
		}
		if err != nil {
			s.log.Warn("resolving a caller's audiences", "err", err)
		}
		return nil
	}
}

// GetAccounts returns one record per ref, in the order of refs, with nil where a ref
// names no account the actor may know of. It reads the store once per 500 refs.
func (s *Service) GetAccounts(ctx context.Context, refs []roster.AccountRef, opt roster.ReadOptions) ([]*roster.Record, error) {
	actor := roster.ActorFromContext(ctx)
	for _, ref := range refs {
		if !roster.ValidText(ref.Username) {
			return nil, roster.Invalid(roster.Problem{Field: "ids", Code: roster.PFormat, Message: "Every id must be valid UTF-8 text without NUL characters."})
		}
	}
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	as, err := s.store.GetAccounts(ctx, refs)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*roster.Account, len(as))
	byUUID := make(map[string]*roster.Account, len(as))
	byName := make(map[string]*roster.Account, len(as))
	for _, a := range as {
		byID[a.ID], byUUID[a.UUID], byName[roster.FoldKey(a.Username)] = a, a, a
	}
	rd, err := s.recorder(ctx, p, actor, opt, as)
	if err != nil {
		return nil, err
	}
	out := make([]*roster.Record, len(refs))
	recs := make(map[int64]*roster.Record, len(as))
	for i, ref := range refs {
		var a *roster.Account
		switch {
		case ref.ID != 0:
			a = byID[ref.ID]
		case ref.UUID != "":
			a = byUUID[strings.ToLower(ref.UUID)]
		default:
			a = byName[roster.FoldKey(ref.Username)]
		}
		if a == nil || !visibleToReader(p, actor, a) {
			continue
		}
		if recs[a.ID] == nil {
			recs[a.ID] = rd(a)
		}
		out[i] = recs[a.ID]
	}
	return out, nil
}

// recorder returns a function building the records of accounts read together, with the
// caller's audiences toward all of them resolved in one read when it may need them.
func (s *Service) recorder(ctx context.Context, p *policy, actor roster.Actor, opt roster.ReadOptions, as []*roster.Account) (func(*roster.Account) *roster.Record, error) {
	var auds map[int64]map[string]string
	if !actor.IsStaff() && !opt.AsOthers && p.hasAudiences() {
		scope, err := s.scopeOf(ctx, actor)
		if err != nil {
			return nil, err
		}
		if auds, err = s.audiencesOf(ctx, scope, as); err != nil {
			return nil, err
		}
	}
	return func(a *roster.Account) *roster.Record {
		return s.record(s.newReader(p, actor, a, opt, fixedAudiences(auds[a.ID])))
	}, nil
}

// checkRefText refuses an account reference that is not valid text: no account can have
// such a name, and PostgreSQL would refuse to look for one.
func checkRefText(ref roster.AccountRef) error {
	return roster.CheckText("id", ref.Username)
}

// Password rules, worded as CKAN words them.
const (
	MinPasswordLength = 8
	maxPasswordBytes  = 1024
)

func checkPassword(p string) *roster.Problem {
	switch {
	case len([]rune(p)) < MinPasswordLength:
		return &roster.Problem{Field: "password", Code: roster.PTooShort, Limit: MinPasswordLength,
			Message: fmt.Sprintf("Your password must be %d characters or longer.", MinPasswordLength)}
	case len(p) > maxPasswordBytes:
		return &roster.Problem{Field: "password", Code: roster.PTooLong, Limit: maxPasswordBytes,
			Message: fmt.Sprintf("Your password must be at most %d bytes.", maxPasswordBytes)}
	}
	return nil
}

// change is the outcome of checking a patch against an account.
type change struct {
	changes  []roster.Change
	password *string // a new password to hash, if the patch sets one
	state    bool    // the lifecycle state changed
	demoted  bool    // an active sysadmin stops being one (or stops being active)
	// newEmail is an address the surface changes the email to only once it is confirmed
	// (roster.SurfacePolicy.ConfirmEmail): not applied to the account.
	newEmail string
}

// patchOptions widen what a patch may set.
type patchOptions struct {
	creating  bool   // uuid and created may be given (sysadmins importing accounts)
	merge     bool   // object attributes are merged as JSON merge patches (RFC 7396)
	ifVersion int64  // apply only to this version of the account (0: any)
	checkOnly bool   // decide and check only; write nothing
	origin    string // the address the caller reached Roster at, for links (WriteOptions.Origin)
}

// applyPatch checks every key of patch for permission and validity, all at once, and
// applies the valid patch to a. It changes nothing when it returns an error. Keys the
// caller may not change are refused, except those the caller's surface drops silently
// (roster.SurfacePolicy.Ignore).
func (s *Service) applyPatch(p *policy, actor roster.Actor, a *roster.Account, patch map[string]any, opt patchOptions) (*change, error) {
	keys := make([]string, 0, len(patch))
	for k := range patch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var forbidden, problems []roster.Problem
	values := map[string]any{}
	var password *string
	var newEmail string
	sp := p.surface(actor)
	edit := editDecision(p, actor, a)
	if opt.creating {
		edit = roster.Decision{Allowed: actor.IsSysadmin(), Rule: roster.RuleSysadmin}
	}
	for _, k := range keys {
		attr := p.schema.Attr(k)
		if attr == nil {
			problems = append(problems, roster.Problem{Field: k, Code: roster.PUnknown, Message: "Unknown field."})
			continue
		}
		if d := writeDecision(p, actor, attr, edit, opt.creating); !d.Allowed {
			switch {
			case ignored(sp, attr, d):
			case !opt.creating && unchanged(p.schema, attr, a, patch[k]):
				// Sending back what was read is no change, whoever sends it: a client
				// that edits a whole object round-trips the fields it may not change.
			case d.Rule == roster.RuleMaintained:
				problems = append(problems, roster.Problem{Field: k, Code: roster.PReadOnly, Message: "This field cannot be changed."})
			case d.Rule == roster.RuleSysadminOnly:
				forbidden = append(forbidden, roster.Problem{Field: k, Code: roster.PForbidden, Message: "Only system administrators may change this field."})
			case d.Rule == roster.RuleSurface:
				forbidden = append(forbidden, roster.Problem{Field: k, Code: roster.PForbidden, Message: "This field cannot be changed through " + actor.Via + "."})
			default:
				return nil, editError(d)
			}
			continue
		}
		if attr.Storage == roster.StoreSecret { // password: the only writable secret
			p, ok := patch[k].(string)
			if !ok {
				problems = append(problems, roster.Problem{Field: k, Code: roster.PType, Message: "Must be a string."})
				continue
			}
			if pr := checkPassword(p); pr != nil {
				problems = append(problems, *pr)
				continue
			}
			password = &p
			continue
		}
		raw := patch[k]
		if m, isObj := raw.(map[string]any); opt.merge && isObj && attr.Type == roster.TypeObject {
			cur, _ := a.Value(attr).(map[string]any)
			raw = mergePatch(roster.CloneValue(cur), m)
		}
		v, pr := p.schema.Normalize(attr, raw)
		if pr != nil {
			problems = append(problems, *pr)
			continue
		}
		if k == "uuid" && v != nil {
			if u, _ := v.(string); !roster.IsUUID(u) {
				problems = append(problems, roster.Problem{Field: k, Code: roster.PFormat, Message: "Enter a valid UUID.", Value: v})
				continue
			}
			v = strings.ToLower(v.(string))
		}
		if k == "state" && v == nil {
			problems = append(problems, roster.Problem{Field: k, Code: roster.PRequired, Message: "This field is required."})
			continue
		}
		if k == "email" && sp.ConfirmEmail && !opt.creating {
			// The surface confirms new addresses: the account keeps its address until
			// the link mailed to the new one is followed (update queues it).
			if v == a.Email {
				problems = append(problems, roster.Problem{Field: k, Code: roster.PFormat, Reason: roster.RSameEmail,
					Message: "The new email address is the account's current one.", Value: v})
				continue
			}
			newEmail, _ = v.(string)
			continue
		}
		values[k] = v
	}
	if len(forbidden) > 0 {
		return nil, &roster.Error{Code: roster.EFORBIDDEN, Message: forbidden[0].Message, Problems: forbidden}
	}
	if len(problems) > 0 {
		return nil, roster.Invalid(problems...)
	}

	before := a.Clone()
	wasAdmin := a.Sysadmin && a.State == roster.StateActive
	for _, k := range keys {
		v, ok := values[k]
		if !ok {
			continue
		}
		attr := p.schema.Attr(k)
		switch k {
		case "uuid":
			if v != nil {
				a.UUID = v.(string)
			}
		case "created":
			if t, ok := v.(time.Time); ok {
				a.CreatedAt = t
			}
		default:
			if err := a.SetValue(attr, v); err != nil {
				return nil, roster.Internal("core.applyPatch", err)
			}
		}
	}
	_, setName := values["name"]
	_, setFirst := values["first_name"]
	_, setLast := values["last_name"]
	applyNameRule(a, setName, setFirst, setLast)
	if clearsRegion(p.schema, a, values) {
		keys = append(keys, "region")
	}

	c := &change{password: password, newEmail: newEmail}
	c.changes = diff(p.schema, before, a, keys)
	if opt.creating {
		for i := range c.changes {
			c.changes[i].Old = nil
		}
	}
	if password != nil {
		c.changes = append(c.changes, roster.Change{Field: "password", Redacted: true})
	}
	c.state = before.State != a.State
	c.demoted = wasAdmin && !(a.Sysadmin && a.State == roster.StateActive)
	return c, nil
}

// unchanged reports whether v, offered for attr, is the account's value already.
func unchanged(sch *roster.Schema, attr *roster.Attribute, a *roster.Account, v any) bool {
	if attr.Storage == roster.StoreSecret || attr.Storage == roster.StoreComputed {
		return false
	}
	n, pr := sch.Normalize(attr, v)
	if pr != nil {
		return false
	}
	return reflect.DeepEqual(auditValue(n), auditValue(a.Value(attr)))
}

// mergePatch applies an RFC 7396 merge patch to target: null deletes a key, objects merge
// key by key, anything else replaces.
func mergePatch(target any, patch map[string]any) map[string]any {
	t, ok := target.(map[string]any)
	if !ok || t == nil {
		t = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(t, k)
		case map[string]any:
			t[k] = mergePatch(t[k], pv)
		default:
			t[k] = v
		}
	}
	return t
}

// clearsRegion clears the US state of an account whose country a patch sets to another
// than the US, as Open edX does: a US state means nothing elsewhere. It reports whether
// it did.
func clearsRegion(sch *roster.Schema, a *roster.Account, values map[string]any) bool {
	country, set := values["country"]
	region := sch.Attr("region")
	if !set || country == "US" || region == nil || region.Format != "us_state" || a.Value(region) == nil {
		return false
	}
	return a.SetValue(region, nil) == nil
}

// applyNameRule keeps the full name and the first and last names consistent:
//   - a change of first or last name (and not of the full name) sets the full name to
//     "first last";
//   - a change of the full name alone splits it: the last word is the last name, the rest
//     the first name;
//   - a change of both is kept as given, which is how clients record names the split
//     would get wrong ("Maria" / "de la Cruz").
func applyNameRule(a *roster.Account, setName, setFirst, setLast bool) {
	switch {
	case setName && !setFirst && !setLast:
		a.FirstName, a.LastName = splitName(a.Name)
	case !setName && (setFirst || setLast):
		a.Name = strings.TrimSpace(a.FirstName + " " + a.LastName)
	}
}

func splitName(n string) (first, last string) {
	n = strings.TrimSpace(n)
	i := strings.LastIndexAny(n, " \t")
	if i < 0 {
		return n, ""
	}
	return strings.TrimSpace(n[:i]), n[i+1:]
}

// diff lists, in schema order, the attributes among touched (and the names, which the
// name rule keeps together) whose values differ between two versions of an account.
func diff(sch *roster.Schema, before, after *roster.Account, touched []string) []roster.Change {
	var out []roster.Change
	for _, attr := range sch.Attrs() {
		if attr.Storage == roster.StoreComputed || attr.Storage == roster.StoreSecret {
			continue
		}
		switch attr.Name {
		case "name", "first_name", "last_name":
		default:
			if _, ok := slices.BinarySearch(touched, attr.Name); !ok {
				continue
			}
		}
		old, cur := auditValue(before.Value(attr)), auditValue(after.Value(attr))
		if !reflect.DeepEqual(old, cur) {
			out = append(out, roster.Change{Field: attr.Name, Old: old, New: cur})
		}
	}
	return out
}

// auditValue normalises a value to its JSON form, so values read from the store and
// values just set compare equal when they are.
func auditValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, json.Number:
		return v
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	}
	v = roster.JSONValue(v)
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if dec.Decode(&out) != nil {
		return string(b)
	}
	return out
}

// checkUnique reports, as problems, a username or email that another account holds.
func (s *Service) checkUnique(ctx context.Context, p *policy, rd roster.Reader, a *roster.Account, before *roster.Account) ([]roster.Problem, error) {
	var out []roster.Problem
	if before == nil || roster.FoldKey(before.Username) != roster.FoldKey(a.Username) {
		other, err := rd.GetAccount(ctx, roster.AccountRef{Username: a.Username})
		switch {
		case err == nil && other.ID != a.ID:
			out = append(out, roster.Problem{Field: "username", Code: roster.PTaken, Message: "That username is already taken.", Value: a.Username})
		case err != nil && roster.ErrorCode(err) != roster.ENOTFOUND:
			return nil, err
		}
	}
	if before == nil || roster.FoldKey(before.Email) != roster.FoldKey(a.Email) {
		n, err := rd.CountAccounts(ctx, roster.AccountSelection{AnyState: true,
			Where: roster.Match{Attr: p.schema.Attr("email"), Lookup: roster.IExact, Value: a.Email}})
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, roster.Problem{Field: "email", Code: roster.PTaken, Message: "That email address is already in use.", Value: a.Email})
		}
	}
	return out, nil
}

// CreateAccount creates an account from attribute values by canonical name. Only
// system administrators create accounts. username and email are required; password is
// optional (without one the account cannot sign in with a password).
func (s *Service) CreateAccount(ctx context.Context, in map[string]any) (*roster.Record, error) {
	actor := roster.ActorFromContext(ctx)
	var out *roster.Record
	var hash string
	hashed := false
	err := s.underPolicy(ctx, func(p *policy) error {
		a, c, err := s.newAccount(p, actor, in)
		if err != nil {
			return err
		}
		if !hashed {
			if hash, err = s.hashIfSet(c.password); err != nil {
				return err
			}
			hashed = true
		}
		err = s.store.InTx(ctx, func(tx roster.Tx) error {
			if err := uniqueError(s.checkUnique(ctx, p, tx, a, nil)); err != nil {
				return err
			}
			if err := tx.CreateAccount(ctx, a); err != nil {
				return err
			}
			if hash != "" {
				if err := tx.SetPasswordHash(ctx, a.ID, hash); err != nil {
					return err
				}
			}
			if err := tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, a.CreatedAt, "account.create", "account", a.ID, a.Username, c.changes)); err != nil {
				return err
			}
			return fencePolicy(ctx, tx, p)
		})
		if err == nil {
			out = s.record(s.newReader(p, actor, a, roster.ReadOptions{}, nil))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckNewAccount checks values for a new account as CreateAccount does, uniqueness
// included, and creates nothing: every problem is reported at once, for surfaces that
// add rules of their own and report all problems together.
func (s *Service) CheckNewAccount(ctx context.Context, in map[string]any) error {
	p, err := s.policy(ctx)
	if err != nil {
		return err
	}
	a, _, err := s.newAccount(p, roster.ActorFromContext(ctx), in)
	if err != nil {
		return err
	}
	return uniqueError(s.checkUnique(ctx, p, s.store, a, nil))
}

// newAccount checks who may create and what, and builds the account unsaved.
func (s *Service) newAccount(p *policy, actor roster.Actor, in map[string]any) (*roster.Account, *change, error) {
	if err := RequireSysadmin(actor, true); err != nil {
		return nil, nil, err
	}
	now := s.now()
	a := &roster.Account{UUID: newUUID(), State: roster.StateActive, CreatedAt: now, UpdatedAt: now, Profile: map[string]any{}}
	var missing []roster.Problem
	for _, attr := range p.schema.Attrs() {
		if _, ok := in[attr.Name]; attr.Required && !ok {
			missing = append(missing, roster.Problem{Field: attr.Name, Code: roster.PRequired, Message: "This field is required."})
		}
	}
	c, err := s.applyPatch(p, actor, a, in, patchOptions{creating: true})
	if err != nil {
		if re, ok := err.(*roster.Error); ok && re.Code == roster.EINVALID {
			return nil, nil, roster.Invalid(append(re.Problems, missing...)...)
		}
		return nil, nil, err
	}
	if len(missing) > 0 {
		return nil, nil, roster.Invalid(missing...)
	}
	return a, c, nil
}

// uniqueError turns checkUnique's problems into ECONFLICT.
func uniqueError(ps []roster.Problem, err error) error {
	if err != nil || len(ps) == 0 {
		return err
	}
	return &roster.Error{Code: roster.ECONFLICT, Message: ps[0].Message, Problems: ps}
}

func (s *Service) hashIfSet(p *string) (string, error) {
	if p == nil {
		return "", nil
	}
	h, err := secret.HashPassword(*p, s.cfg.PasswordParams)
	if err != nil {
		return "", roster.Internal("core.hashPassword", err)
	}
	return h, nil
}

// UpdateAccount merges patch (attribute values by canonical name; nil clears) into the
// account. The owner may change the attributes whose write rule is self; system
// administrators may change any writable attribute. Every key is checked before
// anything is written; one refused key refuses the whole patch.
func (s *Service) UpdateAccount(ctx context.Context, ref roster.AccountRef, patch map[string]any) (*roster.Record, error) {
	return s.update(ctx, ref, patch, patchOptions{})
}

// MergeAccount is UpdateAccount with JSON merge-patch semantics (RFC 7396) for object
// attributes too: their keys are merged rather than the whole object replaced. With
// w.IfVersion set, the change applies only to that version of the account (a client's
// If-Match); another version is EPRECONDITION.
func (s *Service) MergeAccount(ctx context.Context, ref roster.AccountRef, patch map[string]any, w roster.WriteOptions) (*roster.Record, error) {
	return s.update(ctx, ref, patch, patchOptions{merge: true, ifVersion: w.IfVersion, checkOnly: w.CheckOnly, origin: w.Origin})
}

func (s *Service) update(ctx context.Context, ref roster.AccountRef, patch map[string]any, opt patchOptions) (*roster.Record, error) {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, true); err != nil {
		return nil, err
	}
	if err := checkRefText(ref); err != nil {
		return nil, err
	}
	if opt.checkOnly {
		return nil, s.underPolicy(ctx, func(p *policy) error {
			a, err := s.loadForWrite(ctx, p, s.store, actor, ref)
			if err != nil {
				return err
			}
			_, err = s.applyPatch(p, actor, a, patch, opt)
			return err
		})
	}
	var hash string
	var out *roster.Record
	queued := false
	// Password hashing is slow: do it once, outside the transaction, and only after the
	// patch has been checked against a first read of the account.
	hashed := false
	err := s.underPolicy(ctx, func(p *policy) error {
		if pw, ok := patch["password"].(string); ok && checkPassword(pw) == nil && !hashed {
			a, err := s.loadForWrite(ctx, p, s.store, actor, ref)
			if err != nil {
				return err
			}
			if _, err := s.applyPatch(p, actor, a, patch, opt); err != nil {
				return err
			}
			if hash, err = s.hashIfSet(&pw); err != nil {
				return err
			}
			hashed = true
		}
		return s.store.InTx(ctx, func(tx roster.Tx) error {
			a, err := s.lockForWrite(ctx, p, tx, actor, ref, patch)
			if err != nil {
				return err
			}
			if opt.ifVersion != 0 && a.Version != opt.ifVersion {
				return errStaleVersion
			}
			before := a.Clone()
			c, err := s.applyPatch(p, actor, a, patch, opt)
			if err != nil {
				return err
			}
			var requested []*roster.AuditEntry
			queued = false
			if c.newEmail != "" {
				// The pending change, its message and its audit entry go with the rest of
				// the patch: all commit, or none.
				e, err := s.requestEmailChange(ctx, p, tx, a, c.newEmail, opt.origin)
				if err != nil {
					return err
				}
				if e != nil {
					requested, queued = append(requested, e), true
				}
			}
			if err := s.saveChange(ctx, p, tx, before, a, c, hash, requested...); err != nil {
				return err
			}
			if err := fencePolicy(ctx, tx, p); err != nil {
				return err
			}
			out = s.record(s.newReader(p, actor, a, roster.ReadOptions{}, s.lazyAudiences(ctx, actor, a)))
			return nil
		})
	})
	if err == nil && queued {
		s.messageQueued()
	}
	return out, err
}

var errStaleVersion = roster.Errorf(roster.EPRECONDITION, "The account has changed since the version you sent (If-Match); read it again.")

// loadForWrite reads the account the actor wants to change and checks that the actor
// may change it at all.
func (s *Service) loadForWrite(ctx context.Context, p *policy, rd roster.Reader, actor roster.Actor, ref roster.AccountRef) (*roster.Account, error) {
	if err := checkRefText(ref); err != nil {
		return nil, err
	}
	a, err := rd.GetAccount(ctx, ref)
	if err != nil {
		return nil, err
	}
	return a, mayWrite(p, actor, a)
}

// lockForWrite is loadForWrite inside the transaction that writes the account: it locks
// the account's row, so that concurrent changes of one account queue rather than fail,
// each applied to the account as the one before left it. A change that may touch who is
// an active system administrator first takes the guard those changes share, always
// before the row, so that two such changes never wait for each other in opposite order.
func (s *Service) lockForWrite(ctx context.Context, p *policy, tx roster.Tx, actor roster.Actor, ref roster.AccountRef, patch map[string]any) (*roster.Account, error) {
	_, sysadmin := patch["sysadmin"]
	_, state := patch["state"]
	if sysadmin || state {
		if err := tx.LockSysadminGuard(ctx); err != nil {
			return nil, err
		}
	}
	a, err := tx.GetAccountForUpdate(ctx, ref)
	if err != nil {
		return nil, err
	}
	return a, mayWrite(p, actor, a)
}

// mayWrite refuses a change of an account the actor may not change at all.
func mayWrite(p *policy, actor roster.Actor, a *roster.Account) error {
	if !visibleToReader(p, actor, a) {
		return roster.Errorf(roster.ENOTFOUND, "Account not found.")
	}
	if d := editDecision(p, actor, a); !d.Allowed {
		return editError(d)
	}
	return nil
}

// editError words a refused edit.
func editError(d roster.Decision) error {
	e := &roster.Error{Code: roster.EFORBIDDEN, Reason: string(d.Rule)}
	switch d.Rule {
	case roster.RuleAnonymous:
		e.Code, e.Message = roster.EUNAUTHENTICATED, "Authentication required."
	case roster.RuleReadOnlyKey:
		e.Message = "This API key is read-only."
	case roster.RuleNotOwner:
		e.Message = "You may change only your own account."
	default:
		e.Message = strings.ToUpper(d.Detail[:1]) + d.Detail[1:] + "."
	}
	return e
}

// saveChange writes a checked change and its audit entry, after the entries of what
// the change made besides (extra): appending is a transaction's last write.
func (s *Service) saveChange(ctx context.Context, p *policy, tx roster.Tx, before, a *roster.Account, c *change, passwordHash string,
	extra ...*roster.AuditEntry) error {
	if len(c.changes) == 0 {
		return tx.AppendAudit(ctx, extra...)
	}
	if err := uniqueError(s.checkUnique(ctx, p, tx, a, before)); err != nil {
		return err
	}
	if c.demoted {
		if err := s.lastSysadminGuard(ctx, p, tx, a.ID); err != nil {
			return err
		}
	}
	now := s.now()
	a.UpdatedAt = now
	if err := tx.UpdateAccount(ctx, a); err != nil {
		return err
	}
	if a.Username != before.Username {
		// The image's files are named after the username (Open edX's scheme): they
		// follow it in the same transaction, or the account's image addresses break.
		if err := tx.RenameProfileImages(ctx, a.ID, roster.ProfileImageName(p.imageSeed, a.Username)); err != nil {
			return err
		}
	}
	if passwordHash != "" {
		if err := setPassword(ctx, tx, a.ID, passwordHash); err != nil {
			return err
		}
	}
	action := "account.update"
	changes := c.changes
	if c.state {
		action = "account." + stateAction(a.State)
		if a.State != roster.StateActive {
			// Sign the account out everywhere; its keys stop working while it is not active.
			if err := tx.DeleteAccountSessions(ctx, a.ID, 0); err != nil {
				return err
			}
		}
		if a.State == roster.StateDeleted && before.State != roster.StateDeleted {
			entries, owned, err := leaveGroups(ctx, tx, a, now)
			if err != nil {
				return err
			}
			extra = append(extra, entries...)
			if len(owned) > 0 {
				changes = append(slices.Clone(changes), roster.Change{Field: "groups_owned", Old: owned})
			}
		}
	}
	return tx.AppendAudit(ctx, append(extra, roster.NewAuditEntry(ctx, now, action, "account", a.ID, a.Username, changes))...)
}

func stateAction(st roster.State) string {
	switch st {
	case roster.StateActive:
		return "activate"
	case roster.StateDeactivated:
		return "deactivate"
	case roster.StateDeleted:
		return "delete"
	}
	return "update"
}

// lastSysadminGuard refuses a change that would leave no active system administrator.
// The caller holds the store's sysadmin guard (LockSysadminGuard), so the count below
// sees every concurrent change of administrators that committed before this one.
func (s *Service) lastSysadminGuard(ctx context.Context, p *policy, tx roster.Tx, changing int64) error {
	page, err := tx.ListAccounts(ctx, roster.AccountSelection{States: []roster.State{roster.StateActive}, Limit: 2,
		Where: roster.Match{Attr: p.schema.Attr("sysadmin"), Lookup: roster.Exact, Value: true}})
	if err != nil {
		return err
	}
	if s.hooks.afterSysadminGuard != nil {
		s.hooks.afterSysadminGuard()
	}
	for _, a := range page.Accounts {
		if a.ID != changing {
			return nil
		}
	}
	return &roster.Error{Code: roster.ECONFLICT, Reason: roster.RLastSysadmin,
		Message: "This is the last active system administrator; appoint another one first."}
}

// setPassword stores a new password hash and ends what the old password opened: every
// session of the account but the one making the change, and the devices remembered for
// sign-in throttling.
func setPassword(ctx context.Context, tx roster.Tx, accountID int64, hash string) error {
	if err := tx.SetPasswordHash(ctx, accountID, hash); err != nil {
		return err
	}
	keep := int64(0)
	if actor := roster.ActorFromContext(ctx); actor.Is(accountID) {
		keep = actor.SessionID
	}
	if err := tx.DeleteAccountSessions(ctx, accountID, keep); err != nil {
		return err
	}
	return tx.DeleteAccountLoginDevices(ctx, accountID)
}

// SetState moves an account to a lifecycle state: deactivate, reactivate or (soft)
// delete. Only system administrators may; the last active one cannot be removed.
func (s *Service) SetState(ctx context.Context, ref roster.AccountRef, st roster.State, w roster.WriteOptions) (*roster.Record, error) {
	return s.update(ctx, ref, map[string]any{"state": string(st)}, patchOptions{ifVersion: w.IfVersion})
}

// SetPassword sets an account's password. The owner must give the current password
// when one is set; system administrators need not.
func (s *Service) SetPassword(ctx context.Context, ref roster.AccountRef, password, current string) error {
	actor := roster.ActorFromContext(ctx)
	if err := RequireSignedIn(actor, true); err != nil {
		return err
	}
	if p := checkPassword(password); p != nil {
		return roster.Invalid(*p)
	}
	p, err := s.policy(ctx)
	if err != nil {
		return err
	}
	a, err := s.loadForWrite(ctx, p, s.store, actor, ref)
	if err != nil {
		return err
	}
	if !actor.IsSysadmin() {
		old, err := s.store.GetPasswordHash(ctx, a.ID)
		if err != nil {
			return err
		}
		if old != "" {
			if ok, _ := secret.CheckPassword(old, current); !ok {
				return roster.Invalid(roster.Problem{Field: "current_password", Code: roster.PFormat, Message: "The current password is wrong."})
			}
		}
	}
	hash, err := s.hashIfSet(&password)
	if err != nil {
		return err
	}
	now := s.now()
	return s.store.InTx(ctx, func(tx roster.Tx) error {
		if err := setPassword(ctx, tx, a.ID, hash); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, roster.NewAuditEntry(ctx, now, "account.password", "account", a.ID, a.Username,
			[]roster.Change{{Field: "password", Redacted: true}}))
	})
}
