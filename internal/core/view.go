package core

import (
	"slices"

	"github.com/rosterhq/roster/internal/roster"
)

// reader describes how much of an account the actor may see.
type reader struct {
	level   roster.Level // the highest read level granted outright
	privacy string       // the owner's effective privacy, for levels shared and custom
	shared  []string     // with privacy custom: the attributes shared one by one
}

func (s *Service) readerFor(actor roster.Actor, a *roster.Account, opt roster.ReadOptions) reader {
	switch {
	case opt.AsOthers:
	case actor.IsStaff():
		return reader{level: roster.LevelStaff}
	case actor.Is(a.ID):
		return reader{level: roster.LevelSelf}
	}
	r := reader{level: roster.LevelPublic, privacy: s.effectivePrivacy(a)}
	if r.privacy == "custom" {
		if v, ok := a.Value(s.schema.Attr("shared_fields")).([]string); ok {
			r.shared = v
		}
	}
	return r
}

// effectivePrivacy is the owner's privacy setting, except that accounts that need
// parental consent are always private.
func (s *Service) effectivePrivacy(a *roster.Account) string {
	if s.requiresParentalConsent(a) {
		return "private"
	}
	p, _ := a.Value(s.schema.Attr("privacy")).(string)
	return p
}

func (r reader) may(attr *roster.Attribute) bool {
	if !attr.Readable() {
		return false
	}
	if attr.Read <= r.level {
		return true
	}
	if r.level >= roster.LevelSelf {
		return false
	}
	switch attr.Read {
	case roster.LevelShared:
		return r.privacy == "all_users" || r.privacy == "custom" && slices.Contains(r.shared, attr.Name)
	case roster.LevelCustom:
		return r.privacy == "custom" && slices.Contains(r.shared, attr.Name)
	}
	return false
}

// record builds what the actor may see of the account.
func (s *Service) record(actor roster.Actor, a *roster.Account, opt roster.ReadOptions) *roster.Record {
	rd := s.readerFor(actor, a, opt)
	rec := roster.NewRecord(s.schema, a)
	for _, attr := range s.schema.Attrs() {
		if !rd.may(attr) {
			continue
		}
		if attr.Storage == roster.StoreComputed {
			rec.SetAttr(attr, s.computed(attr.Name, a))
			continue
		}
		v := a.Value(attr)
		if attr.Name == "privacy" {
			v = s.effectivePrivacy(a)
		}
		rec.SetAttr(attr, v)
	}
	return rec
}

func (s *Service) computed(name string, a *roster.Account) any {
	switch name {
	case "is_active":
		return a.State == roster.StateActive
	case "deactivated":
		return a.State == roster.StateDeactivated
	case "requires_parental_consent":
		return s.requiresParentalConsent(a)
	}
	return nil
}

// requiresParentalConsent follows Open edX: without a year of birth, or born in or after
// the year that makes the user younger than the age limit this year.
func (s *Service) requiresParentalConsent(a *roster.Account) bool {
	if s.cfg.ParentalConsentAge <= 0 {
		return false
	}
	yob, ok := roster.AsInt64(a.Value(s.schema.Attr("year_of_birth")))
	if !ok {
		return true
	}
	age := int64(s.cfg.Now().UTC().Year()) - yob - 1
	return age < int64(s.cfg.ParentalConsentAge)
}

// readableWhere is the condition under which the actor may read attr of an account:
// the read rule of record, written as a condition on stored values so that the store
// searches, filters and orders only by what the caller may read. It must agree with
// reader.may for every account (TestReadableWhereAgreesWithRecords checks).
func (s *Service) readableWhere(actor roster.Actor, attr *roster.Attribute) roster.Cond {
	if !attr.Readable() {
		return roster.Never{}
	}
	if actor.IsStaff() || attr.Read <= roster.LevelPublic {
		return nil
	}
	var self roster.Cond = roster.Never{}
	if actor.AccountID != 0 {
		self = roster.IsAccount{ID: actor.AccountID}
	}
	switch {
	case attr.Read == roster.LevelSelf:
		return self
	case attr.Read > roster.LevelSelf:
		return roster.Never{}
	}
	privacy := s.schema.Attr("privacy")
	isPrivacy := func(p string) roster.Cond { return roster.Match{Attr: privacy, Lookup: roster.Exact, Value: p} }
	sharedOne := roster.And(isPrivacy("custom"), roster.Holds{Attr: s.schema.Attr("shared_fields"), Value: attr.Name})
	byOwner := sharedOne
	if attr.Read == roster.LevelShared {
		byOwner = roster.Or(isPrivacy("all_users"), sharedOne)
	}
	return roster.Or(self, roster.And(roster.Negate(s.needsConsentWhere()), byOwner))
}

// needsConsentWhere is requiresParentalConsent as a condition: no year of birth, or one
// that makes the owner younger than the age limit this year. nil… never: Never.
func (s *Service) needsConsentWhere() roster.Cond {
	if s.cfg.ParentalConsentAge <= 0 {
		return roster.Never{}
	}
	yob := s.schema.Attr("year_of_birth")
	youngest := int64(s.cfg.Now().UTC().Year() - s.cfg.ParentalConsentAge)
	return roster.Or(roster.Match{Attr: yob, Lookup: roster.IsNull, Value: true}, roster.Match{Attr: yob, Lookup: roster.GTE, Value: youngest})
}

// visibleToReader reports whether the actor may know the account exists at all: deleted
// accounts are known only to staff.
func visibleToReader(actor roster.Actor, a *roster.Account) bool {
	return a.State != roster.StateDeleted || actor.IsStaff()
}
