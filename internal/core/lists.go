package core

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/roster"
)

// Page sizes of lists: the one place they are capped.
const (
	DefaultPage = 50
	MaxPage     = 1000
)

// indexedOrders are the orders the store keeps an index for, by attribute.
var indexedOrders = map[string]roster.AccountSort{
	"id": roster.SortID, "uuid": roster.SortUUID, "username": roster.SortUsername, "name": roster.SortName,
	"email": roster.SortEmail, "created": roster.SortCreated, "last_login": roster.SortLastLogin,
}

// selection turns a surface's filter into what the store reads, under the schema and
// what the caller may read. A filter or order on an attribute must be one its schema
// entry declares. One on an attribute the caller can read of no account but its own is
// refused when the caller can read it of none; otherwise it matches, and orders by, a
// value only where the caller may read it: a user whose privacy hides his name is not
// found by it, nor placed by it in a sorted list.
func (s *Service) selection(p *policy, actor roster.Actor, scope *audienceScope, f roster.AccountFilter, paged bool) (roster.AccountSelection, error) {
	sel := roster.AccountSelection{States: f.States, AnyState: f.AnyState, Desc: f.Desc,
		Limit: f.Limit, Offset: f.Offset, Cursor: f.Cursor, WantTotal: f.WantTotal}
	if err := checkFilterText(&f); err != nil {
		return sel, err
	}
	var invalid, forbidden []roster.Problem
	if paged {
		switch {
		case sel.Limit == 0:
			sel.Limit = DefaultPage
		case sel.Limit < 0 || sel.Limit > MaxPage:
			invalid = append(invalid, roster.Problem{Field: "limit", Code: roster.PRange, Limit: MaxPage,
				Message: fmt.Sprintf("A page holds 1 to %d accounts.", MaxPage)})
		}
	}
	if sel.Offset < 0 {
		invalid = append(invalid, roster.Problem{Field: "offset", Code: roster.PRange, Message: "The offset may not be negative."})
	}
	for _, st := range f.States {
		if !st.Valid() {
			invalid = append(invalid, roster.Problem{Field: "state", Code: roster.PChoice, Message: fmt.Sprintf("%q is not a state: active, pending, deactivated or deleted.", st)})
		}
	}
	if (len(f.States) > 0 || f.AnyState) && !actor.IsStaff() {
		forbidden = append(forbidden, roster.Problem{Field: "state", Code: roster.PForbidden, Message: "Only staff may list accounts by state."})
	}
	sp := p.surface(actor)
	var where []roster.Cond
	for _, ff := range f.Fields {
		attr := p.schema.Attr(ff.Attr)
		switch {
		case attr == nil:
			invalid = append(invalid, roster.Problem{Field: ff.Attr, Code: roster.PUnknown, Message: "Unknown field."})
			continue
		case !slices.Contains(attr.Filter, ff.Lookup):
			invalid = append(invalid, roster.Problem{Field: ff.Attr, Code: roster.PChoice,
				Message: fmt.Sprintf("%s cannot be filtered by %q%s.", attr.Name, ff.Lookup, filterable(attr))})
			continue
		}
		if err := requireRole(actor, sp, "filter:"+attr.Name); err != nil {
			return sel, err // the surface reserves the filter: the request is refused, not a field of it
		}
		readable := s.readableWhere(p, actor, attr, scope)
		if _, never := readable.(roster.Never); never {
			forbidden = append(forbidden, roster.Problem{Field: attr.Name, Code: roster.PForbidden, Message: "You may not filter on this field."})
			continue
		}
		m, pr := filterMatch(attr, ff)
		if pr != nil {
			invalid = append(invalid, *pr)
			continue
		}
		if ff.Not {
			where = append(where, roster.And(readable, roster.Negate(m)))
			continue
		}
		where = append(where, roster.And(readable, m))
	}
	if f.Query != "" {
		var alts []roster.Cond
		names := f.QueryAttrs
		if len(names) == 0 {
			names = []string{"username", "name", "email"}
		}
		for _, name := range names {
			a := p.schema.Attr(name)
			if a == nil || a.Type != roster.TypeString {
				return roster.AccountSelection{}, roster.Internal("core.selection", fmt.Errorf("search by %q, not a text attribute", name))
			}
			alts = append(alts, roster.And(s.readableWhere(p, actor, a, scope), roster.Match{Attr: a, Lookup: roster.IContains, Value: f.Query}))
		}
		where = append(where, roster.Or(alts...))
	}
	first, pr := s.sortKey(p, actor, scope, roster.SortBy{Sort: f.Sort, Desc: f.Desc})
	sel.Sort, sel.SortAttr, sel.SortVisible = first.Sort, first.Attr, first.Visible
	for _, by := range f.Then { // the first refused key is the one reported
		if pr != nil {
			break
		}
		var k roster.SortKey
		k, pr = s.sortKey(p, actor, scope, by)
		sel.Then = append(sel.Then, k)
	}
	switch {
	case pr == nil:
	case pr.Code == roster.PForbidden:
		forbidden = append(forbidden, *pr)
	default:
		invalid = append(invalid, *pr)
	}
	if len(invalid) > 0 {
		return sel, roster.Invalid(invalid...)
	}
	if len(forbidden) > 0 {
		return sel, &roster.Error{Code: roster.EFORBIDDEN, Message: "You may not filter or sort on these fields.", Problems: forbidden}
	}
	sel.Where = roster.And(where...)
	return sel, nil
}

// sortKey resolves one key of an order through the schema: an attribute whose entry
// declares sort, or the display name; "" orders by id. The key is masked where the
// caller may not read it; one it can read of no account is refused (PForbidden).
func (s *Service) sortKey(p *policy, actor roster.Actor, scope *audienceScope, by roster.SortBy) (roster.SortKey, *roster.Problem) {
	k := roster.SortKey{Desc: by.Desc}
	switch by.Sort {
	case "", roster.SortID:
		k.Sort = roster.SortID
		return k, nil
	case roster.SortDisplay: // the full name, else the username
		k.Sort = roster.SortDisplay
		k.Visible = s.readableWhere(p, actor, p.schema.Attr("name"), scope)
		return k, nil
	}
	attr := p.schema.Attr(string(by.Sort))
	if attr == nil || !attr.Sort {
		return k, &roster.Problem{Field: "sort", Code: roster.PChoice,
			Message: fmt.Sprintf("%q is not an order: %s.", by.Sort, strings.Join(p.orders(), ", "))}
	}
	k.Visible = s.readableWhere(p, actor, attr, scope)
	if _, never := k.Visible.(roster.Never); never {
		return k, &roster.Problem{Field: "sort", Code: roster.PForbidden, Message: "You may not sort by " + attr.Name + "."}
	}
	if idx, ok := indexedOrders[attr.Name]; ok {
		k.Sort = idx
	} else {
		k.Attr = attr
	}
	return k, nil
}

// orders lists what a list may be sorted by.
func (p *policy) orders() []string {
	out := []string{string(roster.SortDisplay)}
	for _, a := range p.schema.Attrs() {
		if a.Sort {
			out = append(out, a.Name)
		}
	}
	return out
}

func filterable(a *roster.Attribute) string {
	if len(a.Filter) == 0 {
		return " (it cannot be filtered on)"
	}
	ls := make([]string, len(a.Filter))
	for i, l := range a.Filter {
		ls[i] = string(l)
	}
	return " (only by " + strings.Join(ls, ", ") + ")"
}

// caseless are the attributes compared without regard to case: account names and
// addresses are unique regardless of case.
func caseless(a *roster.Attribute) bool { return a.Format == "username" || a.Format == "email" }

// filterMatch reads a filter's values by the attribute's type.
func filterMatch(a *roster.Attribute, ff roster.FieldFilter) (roster.Match, *roster.Problem) {
	bad := func(msg string) (roster.Match, *roster.Problem) {
		return roster.Match{}, &roster.Problem{Field: a.Name, Code: roster.PFormat, Message: msg}
	}
	m := roster.Match{Attr: a, Lookup: ff.Lookup}
	want := 1
	switch ff.Lookup {
	case roster.In:
		want = -1
	case roster.Range:
		want = 2
	}
	if want > 0 && len(ff.Values) != want {
		return bad(fmt.Sprintf("%s %s takes %d value(s).", a.Name, ff.Lookup, want))
	}
	if ff.Lookup == roster.IsNull {
		b, err := strconv.ParseBool(strings.TrimSpace(ff.Values[0]))
		if err != nil {
			return bad("isnull is true or false.")
		}
		m.Value = b
		return m, nil
	}
	vals := make([]any, len(ff.Values))
	for i, v := range ff.Values {
		x, msg := filterValue(a, v)
		if msg != "" {
			return bad(msg)
		}
		vals[i] = x
	}
	switch ff.Lookup {
	case roster.In, roster.Range:
		m.Value = vals
	default:
		m.Value = vals[0]
	}
	if caseless(a) {
		switch m.Lookup {
		case roster.Exact:
			m.Lookup = roster.IExact
		case roster.In:
			m.Lookup = roster.IIn
		}
	}
	return m, nil
}

// filterValue reads one filter value by the attribute's type.
func filterValue(a *roster.Attribute, v string) (any, string) {
	switch a.Type {
	case roster.TypeInt:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, fmt.Sprintf("%s takes whole numbers.", a.Name)
		}
		return n, ""
	case roster.TypeBool:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Sprintf("%s is true or false.", a.Name)
		}
		return b, ""
	case roster.TypeTime:
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Sprintf("%s takes RFC 3339 times, e.g. 2025-01-31T00:00:00Z.", a.Name)
		}
		return t, ""
	}
	return v, ""
}

// requireRole refuses an action the surface reserves for a role the actor lacks.
func requireRole(actor roster.Actor, sp roster.SurfacePolicy, action string) error {
	role := sp.Require[action]
	ok := true
	switch role {
	case "":
	case "signed_in":
		ok = !actor.Anonymous()
	case "staff":
		ok = actor.IsStaff()
	case "sysadmin":
		ok = actor.IsSysadmin()
	default:
		ok = false
	}
	if ok {
		return nil
	}
	if actor.Anonymous() {
		return &roster.Error{Code: roster.EUNAUTHENTICATED, Message: "Authentication required.", Reason: string(roster.RuleSurface)}
	}
	return &roster.Error{Code: roster.EFORBIDDEN, Message: fmt.Sprintf("Only %s may do this here.", roleWords[role]), Reason: string(roster.RuleSurface)}
}

var roleWords = map[string]string{"signed_in": "signed-in users", "staff": "staff", "sysadmin": "system administrators"}

// Authorize asks whether the caller may take one of its surface's actions (CKAN's
// user_metadata, say): nil, EUNAUTHENTICATED or EFORBIDDEN, by the surface's policy.
func (s *Service) Authorize(ctx context.Context, action string) error {
	p, err := s.policy(ctx)
	if err != nil {
		return err
	}
	return requireRole(roster.ActorFromContext(ctx), p.surface(roster.ActorFromContext(ctx)), action)
}

// checkFilterText refuses filter values that are not valid text.
func checkFilterText(f *roster.AccountFilter) error {
	pairs := []string{"q", f.Query, "cursor", f.Cursor, "sort", string(f.Sort)}
	for _, by := range f.Then {
		pairs = append(pairs, "sort", string(by.Sort))
	}
	for _, ff := range f.Fields {
		pairs = append(pairs, "filter", ff.Attr)
		for _, v := range ff.Values {
			pairs = append(pairs, ff.Attr, v)
		}
	}
	return roster.CheckText(pairs...)
}

// listing is what a list needs besides the filter: the policy, the caller and its scope.
func (s *Service) listing(ctx context.Context, f roster.AccountFilter, paged bool) (*policy, roster.Actor, roster.AccountSelection, error) {
	actor := roster.ActorFromContext(ctx)
	p, err := s.policy(ctx)
	if err != nil {
		return nil, actor, roster.AccountSelection{}, err
	}
	var scope *audienceScope
	if !actor.IsStaff() && p.hasAudiences() {
		if scope, err = s.scopeOf(ctx, actor); err != nil {
			return nil, actor, roster.AccountSelection{}, err
		}
	}
	sel, err := s.selection(p, actor, scope, f, paged)
	return p, actor, sel, err
}

// ListAccounts returns a page of accounts as the actor may see them.
func (s *Service) ListAccounts(ctx context.Context, f roster.AccountFilter, opt roster.ReadOptions) (*roster.RecordPage, error) {
	p, actor, sel, err := s.listing(ctx, f, true)
	if err != nil {
		return nil, err
	}
	page, err := s.store.ListAccounts(ctx, sel)
	if err != nil {
		return nil, err
	}
	rd, err := s.recorder(ctx, p, actor, opt, page.Accounts)
	if err != nil {
		return nil, err
	}
	out := &roster.RecordPage{NextCursor: page.NextCursor, Total: page.Total, Records: make([]*roster.Record, len(page.Accounts))}
	for i, a := range page.Accounts {
		out.Records[i] = rd(a)
	}
	return out, nil
}

// streamChunk is how many accounts a stream resolves the caller's audiences for at
// once: memory stays bounded, reads stay few.
const streamChunk = 500

// StreamAccounts calls fn with every account the filter selects, as the actor may see
// it, reading as it goes: memory does not grow with the number of accounts.
func (s *Service) StreamAccounts(ctx context.Context, f roster.AccountFilter, opt roster.ReadOptions, fn func(*roster.Record) error) error {
	p, actor, sel, err := s.listing(ctx, f, false)
	if err != nil {
		return err
	}
	if actor.IsStaff() || opt.AsOthers || !p.hasAudiences() {
		rd := func(a *roster.Account) *roster.Record { return s.record(s.newReader(p, actor, a, opt, nil)) }
		return s.store.StreamAccounts(ctx, sel, func(a *roster.Account) error { return fn(rd(a)) })
	}
	var chunk []*roster.Account
	flush := func() error {
		rd, err := s.recorder(ctx, p, actor, opt, chunk)
		if err != nil {
			return err
		}
		for _, a := range chunk {
			if err := fn(rd(a)); err != nil {
				return err
			}
		}
		chunk = chunk[:0]
		return nil
	}
	err = s.store.StreamAccounts(ctx, sel, func(a *roster.Account) error {
		chunk = append(chunk, a)
		if len(chunk) == streamChunk {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// CountAccounts counts the accounts a filter selects.
func (s *Service) CountAccounts(ctx context.Context, f roster.AccountFilter) (int, error) {
	_, _, sel, err := s.listing(ctx, f, false)
	if err != nil {
		return 0, err
	}
	return s.store.CountAccounts(ctx, sel)
}
